using System.Collections.Immutable;
using Aot.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Generator.Tests.Frontend;

/// <summary>Runs the model generator over in-memory sources, the way the compiler does in a build or the IDE.</summary>
internal static class GeneratorHarness
{
    public const string Usings = "using Aot.Dsl;\nusing static Aot.Dsl.Ops;\n";

    public static readonly ImmutableArray<MetadataReference> References =
        Basic.Reference.Assemblies.Net100.References.All.Cast<MetadataReference>()
            .Append(MetadataReference.CreateFromFile(typeof(Aot.Dsl.Tensor).Assembly.Location))
            .Append(MetadataReference.CreateFromFile(typeof(Aot.Runtime.SafeTensors).Assembly.Location))
            .ToImmutableArray();

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.CSharp12);

    public static CSharpCompilation Compilation(params string[] sources) =>
        CSharpCompilation.Create(
            "ModelAssembly",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, ParseOptions, path: $"Model{i}.cs")),
            References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver Driver(bool trackSteps = false) =>
        CSharpGeneratorDriver.Create(
            new[] { new ModelGenerator().AsSourceGenerator() },
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>Runs the generator once; returns its diagnostics, generated sources and the compilation with them added.</summary>
    public static RunOutput Run(params string[] sources)
    {
        var compilation = Compilation(sources);
        var driver = Driver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        var result = driver.GetRunResult();
        return new RunOutput(
            generatorDiagnostics,
            result.GeneratedTrees.Select(t => t.ToString()).ToArray(),
            output,
            result.Results.Select(r => r.Exception).Where(e => e is not null).ToArray()!);
    }

    internal sealed record RunOutput(ImmutableArray<Diagnostic> Diagnostics, string[] Generated, Compilation Output, Exception[] Exceptions)
    {
        /// <summary>Errors and warnings the C# compiler reports inside generated files.</summary>
        public Diagnostic[] GeneratedCodeProblems => Output.GetDiagnostics()
            .Where(d => d.Severity >= DiagnosticSeverity.Warning && d.Location.SourceTree is { } t && t.FilePath.EndsWith(".g.cs", StringComparison.Ordinal))
            .ToArray();
    }
}
