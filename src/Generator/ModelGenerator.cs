using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Aot.Generator.Backends.Cpu;
using Aot.Generator.Backends.Gpu;
using Aot.Generator.Diagnostics;
using Aot.Generator.Frontend;
using Aot.Generator.IR;
using Aot.Generator.Models;
using Aot.Generator.Passes;
using Aot.Generator.Tuning;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace Aot.Generator;

/// <summary>
/// The incremental generator. Pipeline: [Model] classes (ForAttributeWithMetadataName) -> frontend (IR +
/// diagnostics, plain equatable data) -> passes -> memory plan -> CPU backend -> generated source. Only the
/// frontend touches Roslyn symbols; everything after it is cached on value equality, so edits elsewhere in the
/// project (or trivia inside the model) do not re-run the compiler.
/// <para>
/// Other inputs, each reduced to equatable data in its own step: the MSBuild knobs (<see cref="GeneratorOptions"/>),
/// the tuning files among the AdditionalFiles (parsed on their own, then merged; each model sees only its own
/// entries, so editing the file re-emits only the models whose entries changed), and whether the compilation
/// references ILGPU and Aot.Runtime.Gpu. <c>AotTargets</c> selects the backends: the CPU file (always generated: it
/// holds the weight specs and loading every backend uses; its <c>Compiled</c> class only when cpu is a target), the
/// GPU file (<c>Model.Gpu.g.cs</c>, ILGPU kernels, when gpu is a target and ILGPU is referenced) and the NPU backend
/// (<see cref="EmitNpu"/>).
/// </para>
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class ModelGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var results = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                ModelExtractor.ModelAttribute,
                static (node, _) => node is TypeDeclarationSyntax,
                static (ctx, ct) => ModelExtractor.Extract(ctx, ct))
            .WithTrackingName(TrackingNames.Frontend);

        var diagnostics = results.Select(static (r, _) => r.Diagnostics).WithTrackingName(TrackingNames.Diagnostics);
        context.RegisterSourceOutput(diagnostics, static (spc, items) => Report(spc, items));

        var parsedOptions = context.AnalyzerConfigOptionsProvider
            .Select(static (p, _) => GeneratorOptions.Parse(p.GlobalOptions))
            .WithTrackingName(TrackingNames.ParsedOptions);
        var options = parsedOptions.Select(static (p, _) => p.Options).WithTrackingName(TrackingNames.Options);

        var models = results
            .Where(static r => r.Model is not null)
            .Select(static (r, _) => r.Model!)
            .Combine(options)
            .WithTrackingName(TrackingNames.Models);
        var anyModel = models.Collect().Select(static (all, _) => all.Length > 0).WithTrackingName(TrackingNames.AnyModel);

        // Knob problems are reported once per compilation, and only where there is a model to generate.
        context.RegisterSourceOutput(parsedOptions.Select(static (p, _) => p.Problems).Combine(anyModel),
            static (spc, input) => Report(spc, input.Right ? input.Left : EquatableArray<DiagnosticInfo>.Empty));

        // Tuning files: AdditionalFiles named *.aot-tuning or as the AotTuningFile knob says, parsed one by one.
        var tuningKnob = options.Select(static (o, _) => o.TuningFile);
        var tuningFiles = context.AdditionalTextsProvider
            .Combine(tuningKnob)
            .Where(static input => TuningFileFormat.IsTuningFile(input.Left.Path, input.Right))
            .Select(static (input, ct) => TuningFileFormat.Parse(input.Left.Path, input.Left.GetText(ct)))
            .WithTrackingName(TrackingNames.TuningFiles);
        var tuning = tuningFiles.Collect()
            .Select(static (files, _) => TuningFileFormat.Merge(files))
            .WithTrackingName(TrackingNames.Tuning);
        context.RegisterSourceOutput(tuning.Select(static (t, _) => t.Problems), static (spc, problems) => Report(spc, problems));

        var cpuModels = models
            .Combine(tuning)
            .Select(static (input, _) => new CpuModelInput(input.Left.Left, input.Left.Right, input.Right.For(QualifiedName(input.Left.Left))))
            .WithTrackingName(TrackingNames.CpuModels);
        context.RegisterSourceOutput(cpuModels, static (spc, input) => Emit(spc, input));

        // The GPU file needs ILGPU and the GPU runtime (which brings ILGPU along); without them it would not compile.
        var gpuAvailable = context.CompilationProvider
            .Select(static (c, _) => c.GetTypeByMetadataName("ILGPU.Runtime.Accelerator") is not null
                                     && c.GetTypeByMetadataName("Aot.Runtime.Gpu.GpuRuntime") is not null)
            .WithTrackingName(TrackingNames.GpuAvailable);
        // The GPU and NPU backends compile static shapes only: a model with a dynamic axis runs on the CPU.
        var gpuModels = models
            .Combine(gpuAvailable)
            .Where(static input => input.Right && input.Left.Right.Targets.Gpu && input.Left.Left.Dynamic is null)
            .Select(static (input, _) => input.Left)
            .WithTrackingName(TrackingNames.GpuModels);
        context.RegisterSourceOutput(gpuModels, static (spc, input) => EmitGpu(spc, input.Left, input.Right));

        // AotTargets names gpu, but the GPU backend cannot be generated: say which package is missing.
        var gpuMissing = options.Select(static (o, _) => o.Targets.Explicit && o.Targets.Gpu)
            .Combine(gpuAvailable)
            .Combine(anyModel)
            .Select(static (input, _) => input.Left.Left && !input.Left.Right && input.Right)
            .WithTrackingName(TrackingNames.GpuMissing);
        context.RegisterSourceOutput(gpuMissing, static (spc, missing) =>
        {
            if (!missing) return;
            spc.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.GpuTargetUnavailable, Location.None,
                "AotTargets includes gpu, but this project does not reference ILGPU and Aot.Runtime.Gpu, so no GPU code is generated: add <PackageReference Include=\"Aot.Compiler.Gpu\" /> (which brings both), or remove gpu from AotTargets"));
        });

        // Targets named explicitly that skip a model with a dynamic axis: say so where the model is.
        var dynamicSkipped = models
            .Where(static input => input.Left.Dynamic is not null && input.Right.Targets.Explicit && (input.Right.Targets.Gpu || input.Right.Targets.Npu))
            .WithTrackingName(TrackingNames.DynamicSkipped);
        context.RegisterSourceOutput(dynamicSkipped, static (spc, input) =>
            spc.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.DynamicSizeCpuOnly, Location.None,
                $"'{QualifiedName(input.Left)}' has a dynamic axis: the GPU and NPU backends compile static shapes only, so only its CPU code is generated")));

        // The NPU backend's entry point: models whose AotTargets include npu.
        var npuModels = models
            .Where(static input => input.Right.Targets.Npu && input.Left.Dynamic is null)
            .WithTrackingName(TrackingNames.NpuModels);
        context.RegisterSourceOutput(npuModels, static (spc, input) => EmitNpu(spc, input.Left, input.Right));
    }

    /// <summary>
    /// Hook for the NPU backend (src/Generator/Backends/Npu): called for every model when <c>AotTargets</c> includes
    /// <c>npu</c>, with the frontend's model and the options (passes to skip, IR dumps). Implement it in a
    /// <c>partial class ModelGenerator</c> there (Backends/Npu/ModelGenerator.Npu.cs); it adds its own source
    /// (<c>Model.Npu.g.cs</c>) and reports its own diagnostics.
    /// </summary>
    static partial void EmitNpu(SourceProductionContext context, ModelInfo model, GeneratorOptions options);

    internal static string QualifiedName(ModelInfo model) => (model.Namespace.Length > 0 ? model.Namespace + "." : "") + model.ClassName;

    private static void Report(SourceProductionContext spc, EquatableArray<DiagnosticInfo> items)
    {
        foreach (var d in items) spc.ReportDiagnostic(d.ToDiagnostic());
    }

    private static void EmitGpu(SourceProductionContext spc, ModelInfo model, GeneratorOptions options)
    {
        string hint = QualifiedName(model).Replace("@", "");
        try
        {
            var graph = GpuPasses.Optimize(model.Graph, options.DisabledSet, spc.CancellationToken);
            spc.AddSource(hint + ".Gpu.g.cs", SourceText.From(GpuEmitter.Emit(model, graph), Encoding.UTF8));
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception e)
        {
            spc.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.InternalError, Location.None,
                $"the GPU backend failed on '{hint}': {e.GetType().Name}: {e.Message}. Please report this with the model's source."));
        }
    }

    private static void Emit(SourceProductionContext spc, CpuModelInput input)
    {
        var (model, options, tuning) = (input.Model, input.Options, input.Tuning);
        string hint = QualifiedName(model).Replace("@", "");
        try
        {
            var snapshots = options.DumpIR ? new List<PassSnapshot>() : null;
            // Without the cpu target there are no GEMM kernels to tune, so the tuning file is not checked either.
            var blocks = new AssignGemmBlocks(CpuTarget.Default, QualifiedName(model), options.Targets.Cpu ? tuning : EquatableArray<TuningEntry>.Empty);
            var passes = PassPipeline.CpuPasses.Append(blocks).ToArray();
            var graph = PassPipeline.Run(model.Graph, options.DisabledSet, snapshots, spc.CancellationToken, passes);
            var plan = CpuEmitter.Plan(graph); // for a dynamic size: at the bound, which holds every smaller size
            foreach (var stale in blocks.Stale) spc.ReportDiagnostic(stale.ToDiagnostic());
            var probes = model.Dynamic?.Probes.Select(p => PassPipeline.Run(p, options.DisabledSet, null, spc.CancellationToken, passes)).ToArray();
            var cpu = new CpuOptions(options.Targets.Cpu, options.InstructionSet, options.InstructionSetName);
            string code;
            try
            {
                code = CpuEmitter.Emit(model, graph, plan, cpu, probes);
            }
            catch (DynamicSizeException e)
            {
                spc.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.DynamicSizeUnsupported, Location.None,
                    $"'{hint}' has a dynamic axis, but {e.Message}; give the axis a static size (remove DynamicAxis) or compute it another way"));
                return;
            }

            spc.AddSource(hint + ".g.cs", SourceText.From(code, Encoding.UTF8));
            if (snapshots is not null) spc.AddSource(hint + ".ir.g.cs", SourceText.From(IrDump.Render(hint, snapshots, plan), Encoding.UTF8));
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception e)
        {
            spc.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.InternalError, Location.None,
                $"the model compiler failed on '{hint}': {e.GetType().Name}: {e.Message}. Please report this with the model's source."));
        }
    }
}

/// <summary>What the CPU emission of one model depends on: the model, the options, and its tuning entries.</summary>
internal sealed record CpuModelInput(ModelInfo Model, GeneratorOptions Options, EquatableArray<TuningEntry> Tuning);

/// <summary>Step names for incrementality tests (GeneratorDriver run results are keyed by them).</summary>
internal static class TrackingNames
{
    public const string Frontend = "Frontend";
    public const string Diagnostics = "Diagnostics";
    public const string Options = "Options";
    public const string Models = "Models";
    public const string GpuAvailable = "GpuAvailable";
    public const string GpuModels = "GpuModels";
    public const string ParsedOptions = "ParsedOptions";
    public const string AnyModel = "AnyModel";
    public const string TuningFiles = "TuningFiles";
    public const string Tuning = "Tuning";
    public const string CpuModels = "CpuModels";
    public const string GpuMissing = "GpuMissing";
    public const string NpuModels = "NpuModels";
    public const string DynamicSkipped = "DynamicSkipped";
}
