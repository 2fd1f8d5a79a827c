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

    public static GeneratorDriver Driver(bool trackSteps = false) => Driver(null, Array.Empty<AdditionalText>(), trackSteps);

    /// <summary>A driver that sees MSBuild properties (<paramref name="properties"/>: name -> value, as CompilerVisibleProperty
    /// hands them over) and AdditionalFiles (<paramref name="additionalFiles"/>: path -> text).</summary>
    public static GeneratorDriver Driver(IReadOnlyDictionary<string, string>? properties, IReadOnlyDictionary<string, string>? additionalFiles, bool trackSteps = false) =>
        Driver(properties, (additionalFiles ?? new Dictionary<string, string>()).Select(f => (AdditionalText)new InMemoryAdditionalText(f.Key, f.Value)), trackSteps);

    public static GeneratorDriver Driver(IReadOnlyDictionary<string, string>? properties, IEnumerable<AdditionalText> additionalTexts, bool trackSteps = false) =>
        CSharpGeneratorDriver.Create(
            new[] { new ModelGenerator().AsSourceGenerator() },
            additionalTexts: additionalTexts,
            parseOptions: ParseOptions,
            optionsProvider: new BuildProperties(properties ?? new Dictionary<string, string>()),
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>Runs the generator once; returns its diagnostics, generated sources and the compilation with them added.</summary>
    public static RunOutput Run(params string[] sources) => RunWith(null, null, sources);

    /// <summary><see cref="Run"/> with MSBuild properties and AdditionalFiles (see <see cref="Driver(IReadOnlyDictionary{string, string}?, IReadOnlyDictionary{string, string}?, bool)"/>).</summary>
    public static RunOutput RunWith(IReadOnlyDictionary<string, string>? properties, IReadOnlyDictionary<string, string>? additionalFiles, params string[] sources)
    {
        var compilation = Compilation(sources);
        var driver = Driver(properties, additionalFiles).RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
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

/// <summary>An AdditionalFile held in memory.</summary>
internal sealed class InMemoryAdditionalText(string path, string text) : AdditionalText
{
    private readonly Microsoft.CodeAnalysis.Text.SourceText _text = Microsoft.CodeAnalysis.Text.SourceText.From(text);

    public override string Path { get; } = path;

    public override Microsoft.CodeAnalysis.Text.SourceText GetText(CancellationToken cancellationToken = default) => _text;
}

/// <summary>Global analyzer config options as the SDK writes them for CompilerVisibleProperty items: build_property.Name.</summary>
internal sealed class BuildProperties(IReadOnlyDictionary<string, string> properties) : Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptionsProvider
{
    private readonly Options _global = new(properties.ToDictionary(p => "build_property." + p.Key, p => p.Value));

    public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GlobalOptions => _global;

    public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Options.Empty;

    public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Options.Empty;

    private sealed class Options(Dictionary<string, string> values) : Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions
    {
        public static readonly Options Empty = new(new Dictionary<string, string>());

        public override bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value) => values.TryGetValue(key, out value);
    }
}
