using System.Collections.Immutable;
using System.Runtime.Loader;
using Aot.Dsl;
using Aot.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using static Aot.Tests.Shared.CaseKit;
using static Gpu.Tests.Cases;

namespace Gpu.Tests;

/// <summary>
/// The real incremental generator: the GPU file (<c>Model.Gpu.g.cs</c>) appears only in compilations that reference
/// ILGPU and Aot.Runtime.Gpu, compiles without warnings next to the CPU file, is cached across unrelated edits, and
/// the samples/Mlp model runs on the CPU accelerator like its eager Forward.
/// </summary>
[Collection(GpuCollection.Name)]
public class GeneratorIntegrationTests
{
    private readonly GpuFixture _gpu;

    public GeneratorIntegrationTests(GpuFixture gpu) => _gpu = gpu;

    private static readonly CSharpParseOptions Parse = new(LanguageVersion.CSharp12);

    private static MetadataReference[] BaseReferences() =>
        Basic.Reference.Assemblies.Net100.References.All
            .Append(MetadataReference.CreateFromFile(typeof(Tensor).Assembly.Location))
            .Append(MetadataReference.CreateFromFile(typeof(Aot.Runtime.SafeTensors).Assembly.Location))
            .ToArray();

    private static MetadataReference Ilgpu => MetadataReference.CreateFromFile(typeof(ILGPU.Context).Assembly.Location);

    private static MetadataReference GpuRuntime => MetadataReference.CreateFromFile(typeof(Aot.Runtime.Gpu.GpuRuntime).Assembly.Location);

    /// <summary>samples/Mlp/MnistMlp.cs, found from the test's output folder.</summary>
    private static string MlpSource()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "samples", "Mlp", "MnistMlp.cs");
            if (File.Exists(path) && File.Exists(Path.Combine(dir.FullName, "Aot.sln"))) return File.ReadAllText(path);
        }

        throw new InvalidOperationException("samples/Mlp/MnistMlp.cs not found above " + AppContext.BaseDirectory);
    }

    private static (Compilation Output, string[] HintNames, GeneratorDriver Driver, Compilation Input) Generate(IEnumerable<MetadataReference> references, params string[] sources)
    {
        var compilation = CSharpCompilation.Create(
            "ModelAssembly",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, Parse, path: $"Model{i}.cs")),
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable,
                specificDiagnosticOptions: new Dictionary<string, ReportDiagnostic> { ["CS1701"] = ReportDiagnostic.Suppress, ["CS1702"] = ReportDiagnostic.Suppress }));
        GeneratorDriver driver = CSharpGeneratorDriver.Create(
            new[] { new ModelGenerator().AsSourceGenerator() },
            parseOptions: Parse,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        Assert.Empty(diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning));
        var hints = driver.GetRunResult().Results.SelectMany(r => r.GeneratedSources).Select(s => s.HintName).ToArray();
        return (output, hints, driver, compilation);
    }

    [Fact]
    public void The_GPU_file_is_generated_only_when_ILGPU_and_the_GPU_runtime_are_referenced()
    {
        string source = MlpSource();
        var (_, cpuOnly, _, _) = Generate(BaseReferences(), source);
        Assert.Contains("Samples.Mlp.MnistMlp.g.cs", cpuOnly);
        Assert.DoesNotContain(cpuOnly, h => h.EndsWith(".Gpu.g.cs", StringComparison.Ordinal));

        var (_, ilgpuOnly, _, _) = Generate(BaseReferences().Append(Ilgpu), source);
        Assert.DoesNotContain(ilgpuOnly, h => h.EndsWith(".Gpu.g.cs", StringComparison.Ordinal));

        var (output, both, _, _) = Generate(BaseReferences().Append(Ilgpu).Append(GpuRuntime), source);
        Assert.Contains("Samples.Mlp.MnistMlp.g.cs", both);
        Assert.Contains("Samples.Mlp.MnistMlp.Gpu.g.cs", both);
        var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToArray();
        Assert.True(problems.Length == 0, string.Join("\n", problems.Select(p => p.ToString())));
    }

    [Fact]
    public void The_GPU_output_is_cached_across_an_unrelated_edit()
    {
        var references = BaseReferences().Append(Ilgpu).Append(GpuRuntime).ToArray();
        var (_, _, driver, input) = Generate(references, MlpSource());
        var edited = input.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace Other { public static class Helper { public static int Two => 2; } }", Parse, path: "Other.cs"));
        driver = driver.RunGenerators(edited);
        var steps = driver.GetRunResult().Results.Single().TrackedSteps;
        var gpu = steps["GpuModels"].SelectMany(s => s.Outputs).Select(o => o.Reason).ToArray();
        Assert.NotEmpty(gpu);
        Assert.All(gpu, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, "GPU step re-ran: " + r));
    }

    [Fact]
    public void The_Mlp_sample_runs_on_the_GPU_backend_like_its_eager_Forward()
    {
        var (output, _, _, _) = Generate(BaseReferences().Append(Ilgpu).Append(GpuRuntime), MlpSource());
        using var stream = new MemoryStream();
        var result = output.Emit(stream);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics));
        stream.Position = 0;
        var assembly = new AssemblyLoadContext("Mlp" + Guid.NewGuid().ToString("N")).LoadFromStream(stream);
        var type = assembly.GetType("Samples.Mlp.MnistMlp")!;
        dynamic model = Activator.CreateInstance(type)!;
        int seed = 10;
        foreach (var (name, shape) in new[] { ("W1", new[] { 512, 784 }), ("B1", new[] { 512 }), ("W2", new[] { 512, 512 }), ("B2", new[] { 512 }), ("W3", new[] { 10, 512 }), ("B3", new[] { 10 }) })
        {
            type.GetProperty(name)!.SetValue(model, Rand(seed++, -0.05f, 0.05f, shape));
        }

        var image = Rand(seed, 0f, 1f, 1, 784);
        Tensor expected = model.Forward(image);
        using var compiled = (IDisposable)GpuCompiledGraphs.Unwrap(() => type.GetMethod("CompileForGpu")!.Invoke(model, new object[] { _gpu.Accelerator }))!;
        var actual = (Tensor)GpuCompiledGraphs.Unwrap(() => compiled.GetType().GetMethod("Run", new[] { typeof(Tensor) })!.Invoke(compiled, new object[] { image }))!;
        Assert.Null(Compare(expected, actual, Tolerance.Accumulation));
    }
}
