using Aot.Generator;
using Generator.Tests.Frontend;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Generator.Tests.Tuning;

/// <summary>
/// The knobs and the tuning file are pipeline inputs like the sources: with them set, an unrelated edit still reuses
/// every step, and editing the tuning file re-emits only the models whose entries changed.
/// </summary>
public class TuningIncrementalityTests
{
    private const string Models = GeneratorHarness.Usings + """
        namespace T;

        [Model]
        public partial class A
        {
            [Weight(16, 8)] public Tensor? W { get; set; }
            public Tensor Forward([Input(4, 8)] Tensor x) => Relu(Linear(x, W!));
        }

        [Model]
        public partial class B
        {
            [Weight(24, 8)] public Tensor? W { get; set; }
            public Tensor Forward([Input(2, 8)] Tensor x) => Tanh(Linear(x, W!));
        }
        """;

    private const string OtherSource = "namespace T; public static class Util { public static int Twice(int x) => 2 * x; }";

    private const string TuningPath = "/project/models.aot-tuning";

    private static readonly Dictionary<string, string> Properties = new()
    {
        ["AotInstructionSet"] = "avx2",
        ["AotTargets"] = "cpu;npu",
        ["AotTuningFile"] = "models.aot-tuning",
    };

    private static string Tuning(int kcOfA) => $"# test\nT.A/%3 gemm m=4 n=16 k=8 kc={kcOfA} mc=6\nT.B/%3 gemm m=2 n=24 k=8 kc=4 mc=6\n";

    private static readonly AdditionalText TuningFile = new InMemoryAdditionalText(TuningPath, Tuning(2));

    private static (GeneratorDriver Driver, Compilation Compilation) RunOnce()
    {
        var compilation = GeneratorHarness.Compilation(Models, OtherSource);
        var driver = GeneratorHarness.Driver(Properties, new[] { TuningFile }, trackSteps: true).RunGenerators(compilation);
        var first = driver.GetRunResult();
        Assert.Empty(first.Diagnostics);
        var cpu = first.GeneratedTrees.Where(t => !t.FilePath.EndsWith(".Npu.g.cs", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, cpu.Length);
        Assert.All(cpu, t => Assert.Contains("(tuning file)", t.ToString()));
        return (driver, compilation);
    }

    private static IncrementalStepRunReason[] Reasons(GeneratorDriverRunResult result, string step) =>
        result.Results[0].TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason).ToArray();

    [Fact]
    public void EditingAnUnrelatedFileReusesEveryStep()
    {
        var (driver, compilation) = RunOnce();
        var other = compilation.SyntaxTrees.Single(t => t.FilePath == "Model1.cs");
        var result = driver.RunGenerators(compilation.ReplaceSyntaxTree(other, other.WithChangedText(other.GetText().Replace(0, 0, "// edited\n")))).GetRunResult();
        foreach (var step in new[] { TrackingNames.Frontend, TrackingNames.Models, TrackingNames.TuningFiles, TrackingNames.Tuning, TrackingNames.CpuModels, TrackingNames.NpuModels })
        {
            var reasons = Reasons(result, step);
            Assert.NotEmpty(reasons);
            Assert.All(reasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"step {step} output was {r}"));
        }

        Assert.All(result.Results[0].TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"an output step was {o.Reason}"));
    }

    [Fact]
    public void EditingTheTuningFileReEmitsOnlyTheModelWhoseEntriesChanged()
    {
        var (driver, compilation) = RunOnce();
        var old = driver.GetRunResult();
        var edited = driver.ReplaceAdditionalText(TuningFile, new InMemoryAdditionalText(TuningPath, Tuning(4)));
        var result = edited.RunGenerators(compilation).GetRunResult();
        var cpu = result.Results[0].TrackedSteps[TrackingNames.CpuModels].SelectMany(s => s.Outputs).ToArray();
        Assert.Equal(new[] { IncrementalStepRunReason.Modified, IncrementalStepRunReason.Unchanged }, cpu.Select(o => o.Reason));
        Assert.Contains("kc: 4, mc: 6", result.GeneratedTrees.Single(t => t.FilePath.EndsWith("T.A.g.cs", StringComparison.Ordinal)).ToString());
        Assert.Equal(old.GeneratedTrees.Single(t => t.FilePath.EndsWith("T.B.g.cs", StringComparison.Ordinal)).ToString(),
            result.GeneratedTrees.Single(t => t.FilePath.EndsWith("T.B.g.cs", StringComparison.Ordinal)).ToString());
    }
}
