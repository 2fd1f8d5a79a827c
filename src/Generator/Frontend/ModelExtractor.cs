using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Aot.Generator.Diagnostics;
using Aot.Generator.IR;
using Aot.Generator.Models;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Aot.Generator.Frontend;

/// <summary>The frontend's result for one [Model] class: the model when it is valid, and every diagnostic found.</summary>
internal sealed record ModelResult(ModelInfo? Model, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>
/// Reads a [Model] class through the semantic model: checks the declaration (partial class, weights, Forward and
/// its inputs), then lowers Forward into IR with <see cref="ForwardLowering"/>. Runs inside the incremental
/// pipeline's transform, so it returns plain data only and never throws (an unexpected failure becomes AOT9999).
/// </summary>
internal static class ModelExtractor
{
    public const string ModelAttribute = "Aot.Dsl.ModelAttribute";
    private const string WeightAttribute = "Aot.Dsl.WeightAttribute";
    private const string InputAttribute = "Aot.Dsl.InputAttribute";

    /// <summary>Members the CPU backend adds to the model class.</summary>
    private static readonly HashSet<string> GeneratedMembers = new(StringComparer.Ordinal)
    {
        "Compiled", "Compile", "LoadWeights", "SaveWeights", "WeightSpecs", "InputSpecs", "OutputSpec", "TunableKernels",
    };

    public static ModelResult Extract(GeneratorAttributeSyntaxContext context, CancellationToken ct)
    {
        var diagnostics = new List<DiagnosticInfo>();
        var type = (INamedTypeSymbol)context.TargetSymbol;
        var at = (context.TargetNode as BaseTypeDeclarationSyntax)?.Identifier.GetLocation() ?? context.TargetNode.GetLocation();

        // While a model's file does not parse, the compiler's syntax errors say all there is to say; generating from
        // a half-parsed class (say, in a namespace whose name is a keyword) could only add confusing errors.
        if (type.DeclaringSyntaxReferences.Any(r => r.SyntaxTree.GetDiagnostics(ct).Any(d => d.Severity == DiagnosticSeverity.Error)))
        {
            return new ModelResult(null, EquatableArray<DiagnosticInfo>.Empty);
        }

        // [Model] on several partial declarations of one class: compile it once, for the first of them.
        var annotated = type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(ct)).OfType<TypeDeclarationSyntax>()
            .Where(d => d.AttributeLists.Count > 0)
            .OrderBy(d => d.SyntaxTree.FilePath, StringComparer.Ordinal).ThenBy(d => d.SpanStart);
        if (annotated.FirstOrDefault() is { } first && first != context.TargetNode)
        {
            return new ModelResult(null, EquatableArray<DiagnosticInfo>.Empty);
        }

        try
        {
            var model = Extract(type, at, context.SemanticModel.Compilation, diagnostics, ct);
            return new ModelResult(diagnostics.Count == 0 ? model : null, new EquatableArray<DiagnosticInfo>(diagnostics));
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception e)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InternalError, at,
                $"the model compiler failed on '{type.Name}': {e.GetType().Name}: {e.Message}. Please report this with the model's source."));
            return new ModelResult(null, new EquatableArray<DiagnosticInfo>(diagnostics));
        }
    }

    private static ModelInfo? Extract(INamedTypeSymbol type, Location at, Compilation compilation, List<DiagnosticInfo> diagnostics, CancellationToken ct)
    {
        void Report(DiagnosticDescriptor d, Location? l, string m) => diagnostics.Add(DiagnosticInfo.Create(d, l ?? at, m));

        if (!CheckClass(type, at, Report)) return null;
        var model = Lower(type, at, compilation, diagnostics, dynamicSize: null, ct);
        if (model?.Dynamic is not { } dynamic) return model;

        // A dynamic axis: lower Forward again at the probe sizes (ProbeSizes), so the CPU backend can tell which
        // sizes in its code follow the dynamic size. Forward must lower the same way at every size.
        var probes = new List<Graph>();
        foreach (int size in DynamicSize.ProbeSizes(dynamic.Bound))
        {
            var problems = new List<DiagnosticInfo>();
            var probe = Lower(type, at, compilation, problems, size, ct);
            foreach (var p in problems)
            {
                diagnostics.Add(p with { Message = $"{p.Message} (with the dynamic axis at size {size}: Forward must work for every size of its dynamic axis, e.g. reshape with -1)" });
            }

            if (probe is null) return null;
            probes.Add(probe.Graph);
        }

        return model with { Dynamic = dynamic with { Probes = new EquatableArray<Graph>(probes.ToImmutableArray()) } };
    }

    /// <summary>Lowers the model with each dynamic axis at <paramref name="dynamicSize"/> (null: at its bound).</summary>
    private static ModelInfo? Lower(INamedTypeSymbol type, Location at, Compilation compilation, List<DiagnosticInfo> diagnostics, int? dynamicSize, CancellationToken ct)
    {
        void Report(DiagnosticDescriptor d, Location? l, string m) => diagnostics.Add(DiagnosticInfo.Create(d, l ?? at, m));

        var graph = new GraphBuilder(type.Name);
        var weightIds = new Dictionary<ISymbol, int>(SymbolEqualityComparer.Default);
        var weights = new List<WeightInfo>();
        foreach (var member in MembersInSourceOrder(type))
        {
            var attribute = member.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == WeightAttribute);
            if (attribute is null) continue;
            var location = member.Locations.FirstOrDefault();
            var tensorType = ReadTensorType(attribute, $"weight '{member.Name}'", location, Report);
            var memberType = member is IFieldSymbol f ? f.Type : ((IPropertySymbol)member).Type;
            if (!DslCalls.IsTensor(memberType))
            {
                Report(DiagnosticDescriptors.InvalidTensorDeclaration, location, $"weight '{member.Name}' must have type Aot.Dsl.Tensor, not {memberType.ToDisplayString()}");
                continue;
            }

            bool settable = member is IFieldSymbol { IsReadOnly: false, IsConst: false } || member is IPropertySymbol { SetMethod: { IsInitOnly: false } };
            if (member.IsStatic || !settable)
            {
                Report(DiagnosticDescriptors.InvalidTensorDeclaration, location, $"weight '{member.Name}' must be a settable instance field or property (LoadWeights assigns it)");
                continue;
            }

            string fileName = attribute.NamedArguments.FirstOrDefault(n => n.Key == "Name").Value.Value as string ?? member.Name;
            if (weights.Any(w => w.FileName == fileName))
            {
                Report(DiagnosticDescriptors.InvalidTensorDeclaration, location, $"two weights are named '{fileName}' in the weights file");
                continue;
            }

            if (tensorType is null) continue;
            int id = graph.AddWeight(member.Name, tensorType);
            weightIds[member] = id;
            weights.Add(new WeightInfo(Identifier(member.Name), fileName, id));
        }

        var forward = FindForward(type, at, Report);
        if (forward is null) return null;

        var inputs = new List<InputInfo>();
        int? bound = null;
        var arguments = new Dictionary<ISymbol, FrontendValue>(SymbolEqualityComparer.Default);
        foreach (var parameter in forward.Parameters)
        {
            var location = parameter.Locations.FirstOrDefault();
            var attribute = parameter.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == InputAttribute);
            if (!DslCalls.IsTensor(parameter.Type) || parameter.RefKind != RefKind.None || attribute is null)
            {
                Report(DiagnosticDescriptors.InvalidModelDeclaration, location,
                    $"parameter '{parameter.Name}' of Forward must be a Tensor marked [Input(shape)] so its shape is known at build time");
                continue;
            }

            if (parameter.Name == "output")
            {
                Report(DiagnosticDescriptors.InvalidTensorDeclaration, location, "an input cannot be named 'output' (the compiled Run method uses that name for the result)");
                continue;
            }

            var tensorType = ReadTensorType(attribute, $"input '{parameter.Name}'", location, Report);
            if (tensorType is null) continue;
            int axis = attribute.NamedArguments.FirstOrDefault(n => n.Key == "DynamicAxis").Value.Value is int a ? a : -1;
            if (axis != -1)
            {
                var shape = tensorType.ShapeArray();
                if (axis < 0 || axis >= shape.Length)
                {
                    Report(DiagnosticDescriptors.InvalidTensorDeclaration, location, $"input '{parameter.Name}': DynamicAxis {axis} is not an axis of shape {ShapeInference.Fmt(shape)} (0 to {shape.Length - 1}, or -1 for none)");
                    continue;
                }

                if (bound is { } b && shape[axis] != b)
                {
                    Report(DiagnosticDescriptors.InvalidTensorDeclaration, location, $"input '{parameter.Name}': its dynamic axis has bound {shape[axis]}, another input's has {b}; inputs share one dynamic size, so their bounds must be equal");
                    continue;
                }

                bound = shape[axis];
                if (dynamicSize is { } size)
                {
                    shape[axis] = size;
                    tensorType = tensorType.WithShape(shape);
                }
            }

            int id = graph.AddInput(parameter.Name, tensorType);
            arguments[parameter] = FrontendValue.Tensor(id);
            inputs.Add(new InputInfo(Identifier(parameter.Name), id, axis));
        }

        if (diagnostics.Count > 0) return null;

        var lowering = new ForwardLowering(compilation, type, weightIds, graph, diagnostics, ct);
        var result = lowering.LowerMethod(forward, arguments, forward.Locations.FirstOrDefault() ?? at);
        if (diagnostics.Count > 0) return null;
        if (result.Kind != FrontendValueKind.Tensor)
        {
            Report(DiagnosticDescriptors.UnsupportedConstruct, forward.Locations.FirstOrDefault(), "Forward must return a tensor computed from its inputs and weights");
            return null;
        }

        graph.AddOutput(result.TensorId);
        var ns = type.ContainingNamespace.IsGlobalNamespace
            ? ""
            : string.Join(".", type.ContainingNamespace.ToDisplayParts().Where(p => p.Kind == SymbolDisplayPartKind.NamespaceName).Select(p => Identifier(p.ToString())));
        return new ModelInfo(ns, Identifier(type.Name), new EquatableArray<InputInfo>(inputs), new EquatableArray<WeightInfo>(weights), graph.Build(),
            bound is { } max ? new DynamicSize(max, EquatableArray<Graph>.Empty) : null);
    }

    private static bool CheckClass(INamedTypeSymbol type, Location at, Action<DiagnosticDescriptor, Location?, string> report)
    {
        string? problem = null;
        if (type.IsRecord || type.TypeKind != TypeKind.Class) problem = $"model '{type.Name}' must be a class (not a record or struct)";
        else if (type.ContainingType is not null) problem = $"model '{type.Name}' must be a top-level class, not nested in '{type.ContainingType.Name}'";
        else if (type.IsGenericType) problem = $"model '{type.Name}' cannot be generic";
        else if (type.IsStatic) problem = $"model '{type.Name}' cannot be static (its weights are instance members)";
        else if (type.DeclaringSyntaxReferences.Any(r => r.GetSyntax() is TypeDeclarationSyntax t && !t.Modifiers.Any(SyntaxKind.PartialKeyword)))
        {
            problem = $"model '{type.Name}' must be declared partial so the generator can add the compiled code";
        }

        else if (type.GetMembers().FirstOrDefault(m => GeneratedMembers.Contains(m.Name) && !m.IsImplicitlyDeclared) is { } clash)
        {
            problem = $"model '{type.Name}' declares '{clash.Name}', a name the generator adds to the class";
        }

        if (problem is null) return true;
        report(DiagnosticDescriptors.InvalidModelDeclaration, at, problem);
        return false;
    }

    private static IMethodSymbol? FindForward(INamedTypeSymbol type, Location at, Action<DiagnosticDescriptor, Location?, string> report)
    {
        var candidates = type.GetMembers("Forward").OfType<IMethodSymbol>().ToArray();
        if (candidates.Length != 1)
        {
            report(DiagnosticDescriptors.InvalidModelDeclaration, candidates.Length > 1 ? candidates[1].Locations.FirstOrDefault() : at,
                candidates.Length == 0
                    ? $"model '{type.Name}' has no method 'public Tensor Forward(...)'"
                    : $"model '{type.Name}' declares Forward more than once; it must have exactly one");
            return null;
        }

        var forward = candidates[0];
        if (forward.IsStatic || forward.IsGenericMethod || !DslCalls.IsTensor(forward.ReturnType))
        {
            report(DiagnosticDescriptors.InvalidModelDeclaration, forward.Locations.FirstOrDefault(),
                "Forward must be a non-generic instance method returning Aot.Dsl.Tensor");
            return null;
        }

        return forward;
    }

    /// <summary>The shape and dtype of a [Weight] or [Input] attribute, or null after reporting what is wrong.</summary>
    private static TensorType? ReadTensorType(AttributeData attribute, string what, Location? location, Action<DiagnosticDescriptor, Location?, string> report)
    {
        location = attribute.ApplicationSyntaxReference?.GetSyntax().GetLocation() ?? location;
        var args = attribute.ConstructorArguments;
        if (args.Length != 1 || args[0].Kind != TypedConstantKind.Array || args[0].Values.Any(v => v.Value is not int))
        {
            report(DiagnosticDescriptors.InvalidTensorDeclaration, location, $"{what}: the shape must be a list of integer constants");
            return null;
        }

        var shape = args[0].Values.Select(v => (int)v.Value!).ToArray();
        if (shape.Any(d => d <= 0))
        {
            report(DiagnosticDescriptors.InvalidTensorDeclaration, location, $"{what}: every dimension must be positive, got {ShapeInference.Fmt(shape)}");
            return null;
        }

        if (shape.Aggregate(1L, (n, d) => n * d) > int.MaxValue / 4)
        {
            report(DiagnosticDescriptors.InvalidTensorDeclaration, location, $"{what}: shape {ShapeInference.Fmt(shape)} has more elements than a single buffer can hold");
            return null;
        }

        var dtypeArg = attribute.NamedArguments.FirstOrDefault(n => n.Key == "DType").Value;
        var dtype = dtypeArg.Value is int raw ? (DType)raw : DType.Float32;
        if (dtype is not (DType.Float32 or DType.Int32))
        {
            report(DiagnosticDescriptors.InvalidTensorDeclaration, location, $"{what}: dtype {dtype} is not supported yet (Float32 and Int32 are)");
            return null;
        }

        return new TensorType(dtype, shape);
    }

    /// <summary>Fields and properties in source order (file path, then position), so generated code is stable.</summary>
    private static IEnumerable<ISymbol> MembersInSourceOrder(INamedTypeSymbol type) =>
        type.GetMembers()
            .Where(m => m is IFieldSymbol { IsImplicitlyDeclared: false } or IPropertySymbol)
            .OrderBy(m => m.Locations.FirstOrDefault()?.SourceTree?.FilePath, StringComparer.Ordinal)
            .ThenBy(m => m.Locations.FirstOrDefault()?.SourceSpan.Start ?? 0);

    /// <summary>A name as a C# identifier (keywords get the @ prefix).</summary>
    private static string Identifier(string name) =>
        SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;
}
