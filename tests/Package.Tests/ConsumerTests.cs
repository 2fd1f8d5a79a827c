using System.Globalization;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Package.Tests;

/// <summary>
/// A user's first experience: a fresh console app outside the repository, with its own nuget.config (the local feed
/// for Aot.*, nuget.org for the rest) and its own packages folder, that references Aot.Compiler by PackageReference
/// only, declares a model with the DSL, writes weights, builds without a warning and runs the compiled model against
/// the eager reference.
/// </summary>
[Collection(DotnetBuilds.Name)]
public class ConsumerTests
{
    private const string ModelSource = """
        using Aot.Dsl;
        using static Aot.Dsl.Ops;

        namespace Consumer;

        [Model]
        public partial class TinyNet
        {
            [Weight(16, 8, Name = "fc1.weight")] public Tensor? W1 { get; set; }
            [Weight(16, Name = "fc1.bias")] public Tensor? B1 { get; set; }
            [Weight(16, Name = "norm.weight")] public Tensor? Gamma { get; set; }
            [Weight(16, Name = "norm.bias")] public Tensor? Beta { get; set; }
            [Weight(4, 16, Name = "fc2.weight")] public Tensor? W2 { get; set; }

            public Tensor Forward([Input(2, 8)] Tensor x)
            {
                var h = Gelu(LayerNorm(Linear(x, W1!, B1), Gamma!, Beta!));
                return Softmax(Linear(h, W2!), axis: -1);
            }
        }
        """;

    private const string ProgramSource = """
        using System.Globalization;
        using Aot.Dsl;
        using Consumer;

        var model = new TinyNet();
        var weights = new Dictionary<string, Tensor>();
        int seed = 1;
        foreach (var spec in TinyNet.WeightSpecs) weights[spec.Name] = Tensor.Random(seed++, -0.5f, 0.5f, spec.Shape);
        string path = Path.Combine(AppContext.BaseDirectory, "tiny.safetensors");
        Aot.Runtime.SafeTensors.Write(path, weights);
        model.LoadWeights(path);

        var compiled = model.Compile();
        var x = Tensor.Random(42, -1f, 1f, 2, 8);
        var ours = new float[8];
        compiled.Run(x.Floats, ours);
        var eager = model.Forward(x).Floats.ToArray();

        float maxAbsDiff = 0;
        for (int i = 0; i < ours.Length; i++) maxAbsDiff = MathF.Max(maxAbsDiff, MathF.Abs(ours[i] - eager[i]));
        string Row(float[] values) => string.Join(" ", values.Select(v => v.ToString("F6", CultureInfo.InvariantCulture)));
        Console.WriteLine("compiled: " + Row(ours));
        Console.WriteLine("eager:    " + Row(eager));
        Console.WriteLine("max_abs_diff: " + maxAbsDiff.ToString("R", CultureInfo.InvariantCulture));
        """;

    private readonly PackagesFixture _packages;
    private readonly ITestOutputHelper _output;

    public ConsumerTests(PackagesFixture packages, ITestOutputHelper output)
    {
        _packages = packages;
        _output = output;
    }

    [Fact]
    public void FreshAppReferencingThePackageBuildsWithoutWarningsAndMatchesEager()
    {
        var app = CreateApp("consumer");

        var build = Dotnet.Run("build -c Release -nodeReuse:false", app, Environment(), TimeSpan.FromMinutes(4));
        _output.WriteLine($"restore + build: {build.Elapsed.TotalSeconds:F1} s");
        Assert.True(build.ExitCode == 0, build.Output);
        var warnings = build.Lines.Where(IsWarning).ToArray();
        Assert.True(warnings.Length == 0, "the build warned:\n" + string.Join("\n", warnings));

        // The generator ran from the package, and the package's build props made AotDumpIR visible to it.
        var generated = Path.Combine(app, "obj", "Release", "net10.0", "generated", "Aot.Generator", "Aot.Generator.ModelGenerator");
        Assert.True(File.Exists(Path.Combine(generated, "Consumer.TinyNet.g.cs")), "no generated model under " + generated);
        Assert.True(File.Exists(Path.Combine(generated, "Consumer.TinyNet.ir.g.cs")), "AotDumpIR=true did not reach the generator");

        // The package's assets were restored from the local feed, and nothing pulled ILGPU into a CPU-only app.
        string assets = File.ReadAllText(Path.Combine(app, "obj", "project.assets.json"));
        Assert.Contains($"\"Aot.Compiler/{Repo.Version}\"", assets);
        Assert.DoesNotContain("ILGPU", assets, StringComparison.OrdinalIgnoreCase);

        var run = Dotnet.Run(Path.Combine("bin", "Release", "net10.0", "Consumer.dll"), app, Environment());
        _output.WriteLine(run.Output);
        Assert.True(run.ExitCode == 0, run.Output);
        var match = Regex.Match(run.Output, @"max_abs_diff: (\S+)");
        Assert.True(match.Success, run.Output);
        double maxAbsDiff = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(maxAbsDiff, 0, 1e-5);
    }

    /// <summary>
    /// An app that brings an ONNX model with one line of MSBuild and the package alone: the importer shipped in the
    /// package's tools/onnx/ runs before compilation (a symbolic batch fixed by Dims, the sequence kept dynamic), the
    /// generator compiles the imported class, and the weights file lands next to the app.
    /// </summary>
    [Fact]
    public void OnnxModelItemImportsWithTheImporterShippedInThePackage()
    {
        var app = CreateApp("onnx", "", """<AotOnnxModel Include="classifier.onnx" ClassName="Consumer.Classifier" Dims="batch=1" Dynamic="tokens=6" />""");
        var g = new Aot.Tests.Onnx.OnnxGraph("classifier");
        var weight = new float[3 * 4];
        for (int i = 0; i < weight.Length; i++) weight[i] = (i % 5 - 2) * 0.25f;
        string x = g.SymbolicInput("x", new[] { 0, 0, 4 }, new string?[] { "batch", "tokens", null });
        g.Output(g.Op("Softmax", g.Op("Relu", g.Op("MatMul", x, g.Initializer("proj", weight, 4, 3))), Aot.Tests.Onnx.OnnxAttr.Int("axis", -1)));
        File.WriteAllBytes(Path.Combine(app, "classifier.onnx"), g.ToModel(17));
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using Aot.Dsl;
            using Consumer;

            var model = new Classifier();
            model.LoadWeights(Path.Combine(AppContext.BaseDirectory, "Classifier.safetensors"));
            using var compiled = model.Compile();
            float worst = 0;
            foreach (int n in new[] { 1, 4, 6 })
            {
                var x = Tensor.Random(n, -1f, 1f, 1, n, 4);
                var ours = compiled.Run(x).Floats.ToArray();
                var eager = model.Forward(x).Floats.ToArray();
                for (int i = 0; i < ours.Length; i++) worst = MathF.Max(worst, MathF.Abs(ours[i] - eager[i]));
            }

            Console.WriteLine($"bound {Classifier.Compiled.MaxDynamicSize}, max_abs_diff: {worst.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}");
            """);

        var build = Dotnet.Run("build -c Release -nodeReuse:false", app, Environment(), TimeSpan.FromMinutes(4));
        Assert.True(build.ExitCode == 0, build.Output);
        Assert.True(build.Lines.Where(IsWarning).ToArray().Length == 0, "the build warned:\n" + string.Join("\n", build.Lines.Where(IsWarning)));
        string imported = File.ReadAllText(Path.Combine(app, "obj", "Release", "net10.0", "aot-onnx", "Classifier.cs"));
        Assert.Contains("[Input(1, 6, 4, DynamicAxis = 1)] Tensor x", imported);

        var run = Dotnet.Run(Path.Combine("bin", "Release", "net10.0", "Consumer.dll"), app, Environment());
        _output.WriteLine(run.Output);
        Assert.True(run.ExitCode == 0, run.Output);
        var match = Regex.Match(run.Output, @"bound 6, max_abs_diff: (\S+)");
        Assert.True(match.Success, run.Output);
        Assert.InRange(double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), 0, 1e-6);
    }

    [Fact]
    public void TooOldCompilerFailsEarlyWithAnErrorThatSaysWhatToUpgrade()
    {
        var app = CreateApp("old-compiler");
        var restore = Dotnet.Run("restore -nodeReuse:false", app, Environment(), TimeSpan.FromMinutes(4));
        Assert.True(restore.ExitCode == 0, restore.Output);

        // What an SDK with Roslyn 4.7 reports (the generator is built against 4.8).
        var build = Dotnet.Run("build --no-restore -c Release -nodeReuse:false -p:CompilerApiVersion=roslyn4.7", app, Environment(), TimeSpan.FromMinutes(4));
        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("error AOT1000: Aot.Compiler needs the C# compiler from Roslyn 4.8 or newer", build.Output);
        Assert.Contains("the Roslyn 4.7 compiler", build.Output);
        Assert.Contains("Upgrade to the .NET SDK 8.0.100 or newer", build.Output);
        // It fails before the compiler runs (no CS errors about missing generated members).
        Assert.DoesNotContain("error CS", build.Output);
    }

    [Fact]
    public void TheKnobsReachTheGeneratorThroughThePackage()
    {
        // AotTuningFile names a file without the .aot-tuning extension, so only the package's targets (AdditionalFiles)
        // and props (CompilerVisibleProperty) together make the generator read it; its entry names a kernel the model
        // does not have, so the generator says so at the file's line. AotTargets asks for gpu without Aot.Compiler.Gpu.
        var app = CreateApp("knobs", "<AotTuningFile>tiny.tuning</AotTuningFile><AotTargets>cpu;gpu</AotTargets>");
        File.WriteAllText(Path.Combine(app, "tiny.tuning"), "# a hand-made entry\nConsumer.TinyNet/%999 gemm m=2 n=16 k=8 kc=8 mc=6\n");

        var build = Dotnet.Run("build -c Release -nodeReuse:false", app, Environment(), TimeSpan.FromMinutes(4));
        Assert.True(build.ExitCode == 0, build.Output);
        Assert.True(build.Lines.Any(l => l.Contains("tiny.tuning(2,", StringComparison.Ordinal) && l.Contains("warning AOT0016", StringComparison.Ordinal)), build.Output);
        Assert.True(build.Lines.Any(l => l.Contains("warning AOT0014", StringComparison.Ordinal) && l.Contains("Aot.Compiler.Gpu", StringComparison.Ordinal)), build.Output);
    }

    private static bool IsWarning(string line) =>
        Regex.IsMatch(line, @"(^|[\s:])warning\s+[A-Za-z]+\d+", RegexOptions.IgnoreCase) || line.Contains(": warning", StringComparison.OrdinalIgnoreCase);

    private Dictionary<string, string> Environment() => new()
    {
        ["NUGET_PACKAGES"] = _packages.PackagesFolder,
        ["NUGET_HTTP_CACHE_PATH"] = Path.Combine(_packages.Root, "nuget-http-cache"),
    };

    /// <summary>A console app in a fresh folder under the fixture's temporary root (outside the repository).</summary>
    private string CreateApp(string name, string properties = "", string items = "")
    {
        string root = Path.Combine(_packages.Root, name);
        Assert.False(Path.GetFullPath(root).StartsWith(Repo.Root, StringComparison.Ordinal), "the consumer must live outside the repository");
        string app = Path.Combine(root, "Consumer");
        Directory.CreateDirectory(app);
        // Stop MSBuild's search for Directory.Build.* and global.json in the folders above.
        File.WriteAllText(Path.Combine(root, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(root, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{_packages.Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="local">
                  <package pattern="Aot.*" />
                </packageSource>
                <packageSource key="nuget.org">
                  <package pattern="*" />
                </packageSource>
              </packageSourceMapping>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <AotDumpIR>true</AotDumpIR>
                <EmitCompilerGeneratedFiles>true</EmitCompilerGeneratedFiles>
                {properties}
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Aot.Compiler" Version="{Repo.Version}" />
                {items}
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "TinyNet.cs"), ModelSource);
        File.WriteAllText(Path.Combine(app, "Program.cs"), ProgramSource);
        return app;
    }
}
