using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Aot.Generator.IR;
using Aot.Generator.Passes;

namespace Aot.Generator.Backends.Gpu;

/// <summary>
/// The GPU backend's passes, run after the shared ones (<see cref="PassPipeline.DefaultPasses"/>): the same
/// <see cref="FuseEpilogue"/> the CPU backend uses (bias, activation and residual after a MatMul/Gemm become its
/// epilogue, applied by the GEMM kernel to each result element before it is stored), then
/// <see cref="FoldProductScale"/> (a product scaled by a constant, as attention scores are), then dead-code removal
/// for the constants that folding leaves unused.
/// </summary>
internal static class GpuPasses
{
    public static IReadOnlyList<IPass> Passes { get; } = new IPass[]
    {
        new FuseEpilogue(),
        new FoldProductScale(),
        new EliminateDeadCode(),
    };

    /// <summary>The graph the GPU backend compiles: the shared passes, then <see cref="Passes"/> (those named in
    /// <paramref name="disabled"/> are skipped, as for the CPU backend).</summary>
    public static Graph Optimize(Graph graph, ISet<string> disabled, CancellationToken ct) =>
        PassPipeline.Run(graph, disabled, null, ct, Passes);
}
