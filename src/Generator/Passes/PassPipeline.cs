using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Aot.Generator.IR;

namespace Aot.Generator.Passes;

/// <summary>The graph after one pass, kept when IR dumps are on so a numerical bug can be bisected pass by pass.</summary>
internal sealed record PassSnapshot(string PassName, Graph Graph);

/// <summary>
/// Runs the optimization passes in order, verifying the IR after each one (a pass that breaks an invariant is a
/// compiler bug, reported as such instead of producing wrong code). Passes named in <c>disabled</c> are skipped.
/// </summary>
internal static class PassPipeline
{
    public static IReadOnlyList<IPass> DefaultPasses { get; } = new IPass[]
    {
        new EliminateDeadCode(),
        new SimplifyAlgebra(),
        new EliminateCommonSubexpressions(),
        new FuseNormalizations(),
        new EliminateDeadCode(), // what simplification and pattern fusion left unused, before FuseElementwise counts readers
        new FuseElementwise(),
        new EliminateDeadCode(), // Constants now copied into fused bodies
    };

    /// <summary>Layout passes of the CPU backend, run after the shared ones.</summary>
    public static IReadOnlyList<IPass> CpuPasses { get; } = new IPass[]
    {
        new PackGemmWeights(),
        new LowerSmallConv(Backends.Cpu.CpuTarget.Default), // before LowerConvToGemm: it takes the convolutions small enough for L1
        new LowerConvToWinograd(Backends.Cpu.CpuTarget.Default), // the 3x3 ones with enough channels and tiles
        new LowerConvToGemm(),
        new FuseEpilogue(), // after the layout passes: it fuses into PackedGemm and ConvGemm
        new FoldProductScale(), // what is left unpacked: attention's scaled scores
        new EliminateDeadCode(),
    };

    /// <summary>Runs the shared passes, then <paramref name="targetPasses"/> (a backend's own layout passes).</summary>
    public static Graph Run(Graph graph, ISet<string> disabled, List<PassSnapshot>? snapshots, CancellationToken ct, IReadOnlyList<IPass>? targetPasses = null)
    {
        snapshots?.Add(new PassSnapshot("Frontend", graph));
        Verify(graph, "the frontend");
        foreach (var pass in DefaultPasses.Concat(targetPasses ?? Array.Empty<IPass>()).Where(p => !disabled.Contains(p.Name)))
        {
            ct.ThrowIfCancellationRequested();
            graph = pass.Run(graph);
            Verify(graph, pass.Name);
            snapshots?.Add(new PassSnapshot(pass.Name, graph));
        }

        return graph;
    }

    private static void Verify(Graph graph, string after)
    {
        var problems = IrVerifier.Verify(graph);
        if (problems.Count > 0)
        {
            throw new InvalidOperationException($"IR is invalid after {after}: " + string.Join("; ", problems.Take(5)));
        }
    }
}
