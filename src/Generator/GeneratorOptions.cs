using System;
using System.Collections.Generic;
using System.Linq;
using Aot.Generator.Diagnostics;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Aot.Generator;

/// <summary>
/// The backends the generator emits (the <c>AotTargets</c> MSBuild property, a semicolon list of <c>cpu</c>, <c>gpu</c>,
/// <c>npu</c>). Unset: <see cref="Default"/>, the CPU backend always and the GPU backend whenever the compilation
/// references ILGPU and Aot.Runtime.Gpu. <see cref="Explicit"/> says the user wrote the list, so a <c>gpu</c> that
/// cannot be generated is worth a warning (AOT0014) instead of being skipped silently.
/// </summary>
/// <param name="Cpu">The CPU kernels: the nested <c>Compiled</c> class and <c>Compile()</c>. The weight specs and
/// <c>LoadWeights</c>/<c>SaveWeights</c>, which every backend uses, are generated whatever the targets.</param>
/// <param name="Gpu">The ILGPU backend (<c>Model.Gpu.g.cs</c>), when ILGPU and Aot.Runtime.Gpu are referenced.</param>
/// <param name="Npu">The NPU backend: see <see cref="ModelGenerator"/>'s <c>EmitNpu</c> hook.</param>
internal sealed record BackendTargets(bool Cpu, bool Gpu, bool Npu, bool Explicit)
{
    public static readonly BackendTargets Default = new(Cpu: true, Gpu: true, Npu: false, Explicit: false);

    public static readonly string[] Names = { "cpu", "gpu", "npu" };

    public override string ToString() =>
        string.Join(";", new[] { Cpu ? "cpu" : null, Gpu ? "gpu" : null, Npu ? "npu" : null }.Where(n => n is not null));
}

/// <summary>
/// The instruction set the CPU kernels are generated for (the <c>AotInstructionSet</c> MSBuild property). The names
/// match <c>Aot.Runtime.Cpu.CpuInstructionSet</c>, which the generated code passes to the GEMM and checks when a
/// model is compiled. <see cref="Auto"/>: every kernel picks its vector width from what the JIT or NativeAOT compiler
/// targets, as without the knob.
/// </summary>
internal enum InstructionSet
{
    Auto,
    Vector128,
    Avx2,
    Avx512,
}

/// <summary>
/// MSBuild knobs the generator reads (exposed to it with CompilerVisibleProperty, which the Aot.Compiler package's
/// build/Aot.Compiler.props declares): <c>AotDumpIR</c> (true: add a generated file with the IR after every pass),
/// <c>AotDisabledPasses</c> (semicolon-separated pass names to skip), <c>AotTargets</c> (<see cref="BackendTargets"/>),
/// <c>AotInstructionSet</c> (<see cref="InstructionSet"/>) and <c>AotTuningFile</c> (the name of the tuning file among
/// the AdditionalFiles; files ending in <c>.aot-tuning</c> are tuning files whatever the knob says).
/// Plain equatable data: the models' emission steps are cached on it.
/// </summary>
internal sealed record GeneratorOptions(
    bool DumpIR,
    EquatableArray<string> DisabledPasses,
    BackendTargets Targets,
    InstructionSet InstructionSet,
    string TuningFile)
{
    public static readonly GeneratorOptions Default = new(false, EquatableArray<string>.Empty, BackendTargets.Default, InstructionSet.Auto, "");

    /// <summary>The MSBuild spellings of each instruction set (case-insensitive); the first is the canonical one.</summary>
    internal static readonly (InstructionSet Set, string[] Names)[] InstructionSetNames =
    {
        (InstructionSet.Auto, new[] { "auto" }),
        (InstructionSet.Vector128, new[] { "vector128", "sse4", "sse4.1", "sse4.2", "x86-64-v2", "neon" }),
        (InstructionSet.Avx2, new[] { "avx2", "x86-64-v3" }),
        (InstructionSet.Avx512, new[] { "avx512", "avx-512", "x86-64-v4" }),
    };

    public static GeneratorOptions From(AnalyzerConfigOptions options) => Parse(options).Options;

    /// <summary>Reads the knobs; a value it cannot use is reported (AOT0013) and replaced by its default.</summary>
    public static ParsedOptions Parse(AnalyzerConfigOptions options)
    {
        var problems = new List<DiagnosticInfo>();
        options.TryGetValue("build_property.AotDumpIR", out var dump);
        options.TryGetValue("build_property.AotDisabledPasses", out var disabled);
        options.TryGetValue("build_property.AotTargets", out var targets);
        options.TryGetValue("build_property.AotInstructionSet", out var instructionSet);
        options.TryGetValue("build_property.AotTuningFile", out var tuningFile);
        var passes = SplitList(disabled).OrderBy(p => p, StringComparer.Ordinal);
        var parsed = new GeneratorOptions(
            string.Equals(dump, "true", StringComparison.OrdinalIgnoreCase),
            new EquatableArray<string>(passes),
            ParseTargets(targets, problems),
            ParseInstructionSet(instructionSet, problems),
            (tuningFile ?? "").Trim());
        return new ParsedOptions(parsed, new EquatableArray<DiagnosticInfo>(problems));
    }

    internal static BackendTargets ParseTargets(string? value, List<DiagnosticInfo> problems)
    {
        var names = SplitList(value).ToArray();
        if (names.Length == 0) return BackendTargets.Default;
        bool cpu = false, gpu = false, npu = false;
        foreach (var name in names)
        {
            switch (name.ToLowerInvariant())
            {
                case "cpu": cpu = true; break;
                case "gpu": gpu = true; break;
                case "npu": npu = true; break;
                default:
                    problems.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, null,
                        $"AotTargets lists '{name}', which is not a backend: use a semicolon-separated list of {string.Join(", ", BackendTargets.Names)} (e.g. 'cpu;gpu'), or leave it empty for the default (cpu, plus gpu when Aot.Compiler.Gpu is referenced)"));
                    break;
            }
        }

        return new BackendTargets(cpu, gpu, npu, Explicit: true);
    }

    internal static InstructionSet ParseInstructionSet(string? value, List<DiagnosticInfo> problems)
    {
        string text = (value ?? "").Trim();
        if (text.Length == 0) return InstructionSet.Auto;
        foreach (var (set, names) in InstructionSetNames)
        {
            if (names.Any(n => string.Equals(n, text, StringComparison.OrdinalIgnoreCase))) return set;
        }

        problems.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidOption, null,
            $"AotInstructionSet is '{text}', which is not an instruction set the generator knows: use avx512 (x86-64-v4), avx2 (x86-64-v3), vector128 (sse4, x86-64-v2, neon), or leave it empty (auto) to pick the kernels from the machine"));
        return InstructionSet.Auto;
    }

    private static IEnumerable<string> SplitList(string? value) =>
        (value ?? "").Split(new[] { ';', ',' }, StringSplitOptions.RemoveEmptyEntries).Select(p => p.Trim()).Where(p => p.Length > 0);

    public ISet<string> DisabledSet => new HashSet<string>(DisabledPasses, StringComparer.Ordinal);

    /// <summary>The canonical MSBuild spelling of <see cref="InstructionSet"/>.</summary>
    public string InstructionSetName => InstructionSetNames.First(e => e.Set == InstructionSet).Names[0];
}

/// <summary>The options and the problems found reading them (reported once, at no location).</summary>
internal sealed record ParsedOptions(GeneratorOptions Options, EquatableArray<DiagnosticInfo> Problems);
