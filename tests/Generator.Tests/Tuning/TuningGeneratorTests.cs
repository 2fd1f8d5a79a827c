using System.Text.RegularExpressions;
using Aot.Runtime.Tuning;
using Generator.Tests.EndToEnd;
using Generator.Tests.Frontend;
using Microsoft.CodeAnalysis;

namespace Generator.Tests.Tuning;

/// <summary>
/// The generator with a tuning file: matching entries replace the cost model's cache blocks in the emitted GEMM calls
/// (and the results still match the eager reference), stale entries are ignored with AOT0016 at their line, and
/// malformed lines with AOT0015.
/// </summary>
public class TuningGeneratorTests
{
    internal const string Model = GeneratorHarness.Usings + """
        namespace T;

        [Model]
        public partial class Net
        {
            // 72 input channels: too many for L1 (LowerSmallConv's limit), so the convolution is an implicit GEMM to tune.
            [Weight(8, 72, 3, 3)] public Tensor? K1 { get; set; }
            [Weight(8)] public Tensor? B1 { get; set; }
            [Weight(50, 648)] public Tensor? W1 { get; set; }
            [Weight(50)] public Tensor? B2 { get; set; }
            [Weight(20, 50)] public Tensor? W2 { get; set; }

            public Tensor Forward([Input(3, 72, 9, 9)] Tensor image)
            {
                var features = Reshape(Relu(Conv2d(image, K1!, B1, padding: 1)), 3, 648);
                return Linear(Relu(Linear(features, W1!, B2)), W2!);
            }
        }
        """;

    private const string Path = "/project/net.aot-tuning";

    private static GeneratorHarness.RunOutput Run(string? tuning, Dictionary<string, string>? properties = null, string path = Path) =>
        GeneratorHarness.RunWith(properties, tuning is null ? null : new Dictionary<string, string> { [path] = tuning }, Model);

    private static readonly Lazy<IReadOnlyList<TunableKernel>> Untuned = new(() => GeneratedModels.TunableKernels(GeneratedModels.Load(Run(null)), "T.Net"));

    private static TunableKernel Kernel(string kind, int n) => Untuned.Value.Single(k => k.Kind == kind && k.N == n);

    /// <summary>"m,n,k,kc,mc" of each product the generated code runs: the Sgemm.Multiply calls, and the Sgemm.Convolve
    /// calls by the comment above them (their arguments are the convolution's geometry, not n and k).</summary>
    private static string[] GemmCalls(string source) =>
        Regex.Matches(source, @"Sgemm\.Multiply\((\d+), (\d+), (\d+), .*kc: (\d+), mc: (\d+)").Select(m => string.Join(",", m.Groups.Values.Skip(1).Select(g => g.Value)))
            .Concat(Regex.Matches(source, @"@ im2col\(.*: \[(\d+), (\d+)\] @ \[\d+, (\d+)\].*kc = (\d+), mc = (\d+).*\n(?:.*\n)*?.*Sgemm\.Convolve\(\1, .*kc: \4, mc: \5")
                .Select(m => string.Join(",", m.Groups[1].Value, m.Groups[3].Value, m.Groups[2].Value, m.Groups[4].Value, m.Groups[5].Value)))
            .ToArray();

    [Fact]
    public void TheModelListsItsGemmKernelsWithTheCostModelsBlocks()
    {
        var kernels = Untuned.Value;
        Assert.Equal(new[] { ("conv", 8, 81, 648, 3), ("gemm", 3, 50, 648, 1), ("gemm", 3, 20, 50, 1) },
            kernels.Select(k => (k.Kind, k.M, k.N, k.K, k.Calls)));
        Assert.All(kernels, k => Assert.Equal("T.Net", k.Model));
        Assert.All(kernels, k => Assert.Matches(@"^%\d+$", k.Name));
        Assert.All(kernels, k => Assert.False(k.Tuned));
        Assert.Equal((648, 6), (Kernel("gemm", 50).Kc, Kernel("gemm", 50).Mc)); // kc = all of k (up to 2048), mc = m rounded up to a tile

        // The list describes exactly the products the generated code runs.
        var source = Run(null).Generated.Single();
        Assert.Equal(kernels.Select(k => $"{k.M},{k.N},{k.K},{k.Kc},{k.Mc}").OrderBy(s => s), GemmCalls(source).Distinct().OrderBy(s => s));
    }

    [Fact]
    public void TunedBlocksReplaceTheCostModelsAndResultsStillMatch()
    {
        var conv = Kernel("conv", 81);
        var fc1 = Kernel("gemm", 50);
        string tuning = $"""
            # measured somewhere
            {conv.TuningLine(8, 6)}
            {fc1.TuningLine(200, 6)}
            """;
        var untunedSource = Run(null).Generated.Single();
        var run = Run(tuning);
        Assert.Empty(run.Diagnostics);
        var source = run.Generated.Single();
        Assert.NotEqual(untunedSource, source);
        Assert.Contains("// GEMM cache blocks: 2 of 3 kernels from a tuning file, 1 from the cost model.", source);
        Assert.Contains($"{conv.M},{conv.N},{conv.K},8,6", GemmCalls(source));
        Assert.Contains($"{fc1.M},{fc1.N},{fc1.K},200,6", GemmCalls(source));
        Assert.Contains("kc = 200, mc = 6 (tuning file)", source);
        Assert.Contains("(cost model)", source);

        var assembly = GeneratedModels.Load(run);
        var kernels = GeneratedModels.TunableKernels(assembly, "T.Net");
        Assert.Equal(new[] { true, true, false }, kernels.Select(k => k.Tuned));
        Assert.Equal((200, 6), (kernels[1].Kc, kernels[1].Mc));
        GeneratedModels.AssertMatchesEager(assembly, "T.Net", threads: 1);
        GeneratedModels.AssertMatchesEager(assembly, "T.Net", threads: 2);

        // Reproducible: the same file gives the same code.
        Assert.Equal(source, Run(tuning).Generated.Single());
    }

    [Fact]
    public void TheKnobNamesAFileWithAnyExtension()
    {
        string tuning = Kernel("gemm", 20).TuningLine(16, 6);
        var ignored = Run(tuning, path: "/project/aot.tuning");
        Assert.DoesNotContain("(tuning file)", ignored.Generated.Single());
        var used = Run(tuning, new Dictionary<string, string> { ["AotTuningFile"] = "aot.tuning" }, path: "/project/aot.tuning");
        Assert.Empty(used.Diagnostics);
        Assert.Contains("kc = 16, mc = 6 (tuning file)", used.Generated.Single());
    }

    [Fact]
    public void StaleEntriesAreIgnoredWithAWarningAtTheirLine()
    {
        var fc2 = Kernel("gemm", 20);
        string tuning = $"""
            # header
            T.Net/{fc2.Name} gemm m=3 n=20 k=64 kc=16 mc=6
            T.Net/%999 gemm m=3 n=20 k=50 kc=16 mc=6
            Other.Model/%1 gemm m=1 n=1 k=1 kc=1 mc=6
            """;
        var run = Run(tuning);
        Assert.Equal(new[] { "AOT0016", "AOT0016" }, run.Diagnostics.Select(d => d.Id));
        Assert.All(run.Diagnostics, d => Assert.Equal(DiagnosticSeverity.Warning, d.Severity));
        var (shape, missing) = (run.Diagnostics[0], run.Diagnostics[1]);
        Assert.Equal(Path, shape.Location.GetLineSpan().Path);
        Assert.Equal(1, shape.Location.GetLineSpan().StartLinePosition.Line);
        Assert.Contains($"the tuning entry 'T.Net/{fc2.Name} gemm m=3 n=20 k=64 kc=16 mc=6' does not match the model: kernel {fc2.Name} is now gemm m=3 n=20 k=50", shape.GetMessage());
        Assert.Contains("re-run the tuner", shape.GetMessage());
        Assert.Equal(2, missing.Location.GetLineSpan().StartLinePosition.Line);
        Assert.Contains("T.Net has no GEMM kernel %999 now", missing.GetMessage());
        Assert.Equal(Run(null).Generated.Single(), run.Generated.Single());
    }

    [Fact]
    public void WithoutTheCpuTargetTheTuningFileIsNotChecked()
    {
        var run = Run("T.Net/%999 gemm m=3 n=20 k=50 kc=16 mc=6\n", new Dictionary<string, string> { ["AotTargets"] = "npu" });
        Assert.DoesNotContain(run.Diagnostics, d => d.Id == "AOT0016");
    }

    [Fact]
    public void AMalformedLineIsAWarningAtItsLineAndTheRestApplies()
    {
        var fc2 = Kernel("gemm", 20);
        var run = Run($"T.Net/%1 gemm m=3\n{fc2.TuningLine(16, 6)}\n");
        var diagnostic = Assert.Single(run.Diagnostics);
        Assert.Equal("AOT0015", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Warning, diagnostic.Severity);
        Assert.Equal(Path, diagnostic.Location.GetLineSpan().Path);
        Assert.Equal(0, diagnostic.Location.GetLineSpan().StartLinePosition.Line);
        Assert.Contains("kc = 16, mc = 6 (tuning file)", run.Generated.Single());
    }
}
