using Aot.Generator.Tuning;
using Aot.Tuner;
using Generator.Tests.EndToEnd;
using Generator.Tests.Frontend;
using Microsoft.CodeAnalysis.Text;

namespace Generator.Tests.Tuning;

/// <summary>
/// The tuner (src/Tuner) end to end on a small generated model, in its quick mode: it finds the model's GEMM kernels
/// in the built assembly, measures them, and writes a file that the generator reads back without a warning, applies
/// to every kernel, and that still gives results equal to the eager reference.
/// </summary>
public class TunerTests
{
    [Fact]
    public void TheTunersFileRoundTripsThroughTheGenerator()
    {
        var assembly = GeneratedModels.Load(GeneratorHarness.Run(TuningGeneratorTests.Model));
        var log = new StringWriter();
        var results = Program.Run(assembly, modelFilter: null, new TunerSettings(Threads: 1, Quick: true), log);
        Assert.Equal(3, results.Count);
        Assert.Contains("T.Net: GEMM time per inference", log.ToString());
        Assert.All(results, r => Assert.True(r.DefaultUs > 0 && r.BestUs > 0));
        Assert.All(results, r => Assert.Contains(r.Candidates, c => c.Kc == r.Kernel.Kc && c.Mc == r.Kernel.Mc));

        string text = TuningReport.TuningFile(results, "Net.dll", new TunerSettings(1, true));
        Assert.StartsWith("# Aot tuning file", text);
        var file = TuningFileFormat.Parse("/p/net.aot-tuning", SourceText.From(text));
        Assert.Empty(file.Problems);
        Assert.Equal(results.Select(r => (r.Kernel.Name, r.Kernel.M, r.Kernel.N, r.Kernel.K, r.Kc, r.Mc)),
            file.Entries.Select(e => (e.Kernel, e.M, e.N, e.K, e.Kc, e.Mc)));

        var run = GeneratorHarness.RunWith(null, new Dictionary<string, string> { ["/p/net.aot-tuning"] = text }, TuningGeneratorTests.Model);
        Assert.Empty(run.Diagnostics);
        Assert.Contains("// GEMM cache blocks: 3 of 3 kernels from a tuning file, 0 from the cost model.", run.Generated.Single());
        var tuned = GeneratedModels.Load(run);
        Assert.All(GeneratedModels.TunableKernels(tuned, "T.Net"), k => Assert.True(k.Tuned));
        GeneratedModels.AssertMatchesEager(tuned, "T.Net", threads: 2);
    }

    [Fact]
    public void TheModelFilterTakesAClassOrFullName()
    {
        var assembly = GeneratedModels.Load(GeneratorHarness.Run(TuningGeneratorTests.Model));
        Assert.Empty(Program.Run(assembly, "Other", new TunerSettings(Quick: true), TextWriter.Null));
        Assert.Equal(3, KernelDiscovery.Find(assembly).Count);
    }

    [Theory]
    [InlineData(784, 512, false, new[] { 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 784 })]
    [InlineData(27, 27, false, new[] { 27 })]
    [InlineData(784, 512, true, new[] { 64, 256, 512, 784 })]
    public void KcCandidatesStayWithinK(int k, int costModel, bool quick, int[] expected) =>
        Assert.Equal(expected, GemmBenchmark.KcCandidates(k, costModel, quick));

    [Theory]
    [InlineData(1, 6, new[] { 6 })]
    [InlineData(64, 66, new[] { 6, 12, 24, 48, 66 })]
    [InlineData(500, 126, new[] { 6, 12, 24, 48, 72, 96, 126, 144, 192, 288, 384, 504 })]
    public void McCandidatesAreWholeTilesUpToM(int m, int costModel, int[] expected) =>
        Assert.Equal(expected, GemmBenchmark.McCandidates(m, costModel, quick: false));

    [Fact]
    public void TheCommandLineIsChecked()
    {
        var options = TunerOptions.Parse(new[] { "App.dll", "--threads", "2", "--out", "x.aot-tuning", "--quick", "--model", "Mlp" })!;
        Assert.Equal(("App.dll", "x.aot-tuning", "Mlp", 2, true), (options.AssemblyPath, options.OutputPath, options.ModelFilter, options.Settings.Threads, options.Settings.Quick));
        Assert.Null(TunerOptions.Parse(new[] { "--help" }));
        Assert.Throws<TunerException>(() => TunerOptions.Parse(new[] { "App.dll", "--threads", "0" }));
        Assert.Throws<TunerException>(() => TunerOptions.Parse(new[] { "App.dll", "--bogus" }));
        Assert.Throws<TunerException>(() => TunerOptions.Parse(Array.Empty<string>()));
        Assert.Equal(1, Program.Main(new[] { typeof(TunerTests).Assembly.Location, "--quick" })); // no models: exit 1
        Assert.Equal(2, Program.Main(new[] { "/nonexistent/App.dll" }));
    }
}
