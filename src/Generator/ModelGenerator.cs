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
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace Aot.Generator;

/// <summary>
/// The incremental generator. Pipeline: [Model] classes (ForAttributeWithMetadataName) -> frontend (IR +
/// diagnostics, plain equatable data) -> passes -> memory plan -> CPU backend -> generated source. Only the
/// frontend touches Roslyn symbols; everything after it is cached on value equality, so edits elsewhere in the
/// project (or trivia inside the model) do not re-run the compiler. A second output, the GPU backend
/// (<c>Model.Gpu.g.cs</c>, ILGPU kernels), runs only when the compilation references ILGPU and Aot.Runtime.Gpu;
/// that check is reduced to an equatable bool, so it too is cached across edits.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class ModelGenerator : IIncrementalGenerator
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
        context.RegisterSourceOutput(diagnostics, static (spc, items) =>
        {
            foreach (var d in items) spc.ReportDiagnostic(d.ToDiagnostic());
        });

        var options = context.AnalyzerConfigOptionsProvider
            .Select(static (p, _) => GeneratorOptions.From(p.GlobalOptions))
            .WithTrackingName(TrackingNames.Options);

        var models = results
            .Where(static r => r.Model is not null)
            .Select(static (r, _) => r.Model!)
            .Combine(options)
            .WithTrackingName(TrackingNames.Models);

        context.RegisterSourceOutput(models, static (spc, input) => Emit(spc, input.Left, input.Right));

        // The GPU file needs ILGPU and the GPU runtime (which brings ILGPU along); without them it would not compile.
        var gpuAvailable = context.CompilationProvider
            .Select(static (c, _) => c.GetTypeByMetadataName("ILGPU.Runtime.Accelerator") is not null
                                     && c.GetTypeByMetadataName("Aot.Runtime.Gpu.GpuRuntime") is not null)
            .WithTrackingName(TrackingNames.GpuAvailable);
        var gpuModels = models
            .Combine(gpuAvailable)
            .Where(static input => input.Right)
            .Select(static (input, _) => input.Left)
            .WithTrackingName(TrackingNames.GpuModels);
        context.RegisterSourceOutput(gpuModels, static (spc, input) => EmitGpu(spc, input.Left, input.Right));
    }

    private static void EmitGpu(SourceProductionContext spc, ModelInfo model, GeneratorOptions options)
    {
        string hint = (model.Namespace.Length > 0 ? model.Namespace + "." : "") + model.ClassName;
        hint = hint.Replace("@", "");
        try
        {
            var graph = PassPipeline.Run(model.Graph, options.DisabledSet, null, spc.CancellationToken);
            var plan = PlanMemory.Run(graph);
            spc.AddSource(hint + ".Gpu.g.cs", SourceText.From(GpuEmitter.Emit(model, graph, plan), Encoding.UTF8));
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

    private static void Emit(SourceProductionContext spc, ModelInfo model, GeneratorOptions options)
    {
        string hint = (model.Namespace.Length > 0 ? model.Namespace + "." : "") + model.ClassName;
        hint = hint.Replace("@", "");
        try
        {
            var snapshots = options.DumpIR ? new List<PassSnapshot>() : null;
            var graph = PassPipeline.Run(model.Graph, options.DisabledSet, snapshots, spc.CancellationToken, PassPipeline.CpuPasses);
            var plan = PlanMemory.Run(graph);
            spc.AddSource(hint + ".g.cs", SourceText.From(CpuEmitter.Emit(model, graph, plan), Encoding.UTF8));
            if (snapshots is not null) spc.AddSource(hint + ".ir.g.cs", SourceText.From(IrDump.Render(hint, snapshots), Encoding.UTF8));
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

/// <summary>Step names for incrementality tests (GeneratorDriver run results are keyed by them).</summary>
internal static class TrackingNames
{
    public const string Frontend = "Frontend";
    public const string Diagnostics = "Diagnostics";
    public const string Options = "Options";
    public const string Models = "Models";
    public const string GpuAvailable = "GpuAvailable";
    public const string GpuModels = "GpuModels";
}
