using System;
using System.Text;
using Aot.Generator.Backends.Npu;
using Aot.Generator.Diagnostics;
using Aot.Generator.Models;
using Aot.Generator.Passes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Aot.Generator;

public sealed partial class ModelGenerator
{
    /// <summary>The NPU backend: <c>Model.Npu.g.cs</c> from the same optimized graph, or AOT0017 naming what it cannot compile.</summary>
    static partial void EmitNpu(SourceProductionContext context, ModelInfo model, GeneratorOptions options)
    {
        string hint = QualifiedName(model).Replace("@", "");
        try
        {
            var graph = PassPipeline.Run(model.Graph, options.DisabledSet, null, context.CancellationToken);
            context.AddSource(hint + ".Npu.g.cs", SourceText.From(NpuEmitter.Emit(model, graph), Encoding.UTF8));
        }
        catch (NpuUnsupportedException e)
        {
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.NpuUnsupported, Location.None, $"{hint}: {e.Message}"));
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception e)
        {
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.InternalError, Location.None,
                $"the NPU backend failed on '{hint}': {e.GetType().Name}: {e.Message}. Please report this with the model's source."));
        }
    }
}
