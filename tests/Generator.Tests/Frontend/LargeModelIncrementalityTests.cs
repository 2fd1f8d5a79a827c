using Aot.Generator;
using Aot.Generator.Frontend;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Generator.Tests.Frontend;

/// <summary>
/// <see cref="IncrementalityTests"/> on the generator benchmark's large model (tests/GeneratorBenchmarks/Models/
/// TransformerEncoder12.cs, embedded from that one file): 12 encoder layers through a helper per layer and a for loop
/// over stacked weights. Edits elsewhere, and comments inside the model, must leave every model step reused.
/// </summary>
public class LargeModelIncrementalityTests
{
    private const string OtherSource = "namespace T; public static class Util { public static int Twice(int x) => 2 * x; }";

    private static readonly string ModelSource = ReadModel();

    [Fact]
    public void TheLargeModelCompilesToHundredsOfOps()
    {
        var (driver, _) = RunOnce();
        var frontend = driver.GetRunResult().Results[0].TrackedSteps[TrackingNames.Frontend].Single().Outputs.Single().Value;
        var model = Assert.IsType<ModelResult>(frontend).Model!;
        Assert.True(model.Graph.Nodes.Count >= 200, $"{model.Graph.Nodes.Count} ops");
        Assert.Equal(18, model.Weights.Count);
    }

    [Fact]
    public void EditingAnUnrelatedFileKeepsEveryModelStepCached()
    {
        var (driver, compilation) = RunOnce();
        var other = compilation.SyntaxTrees.Single(t => t.FilePath == "Model1.cs");
        var edited = compilation.ReplaceSyntaxTree(other, other.WithChangedText(other.GetText().Replace(0, 0, "// edited\n")));
        AssertModelStepsReused(driver.RunGenerators(edited).GetRunResult());
    }

    [Fact]
    public void AddingACommentInsideTheModelLeavesItsOutputUnchanged()
    {
        var (driver, compilation) = RunOnce();
        var model = compilation.SyntaxTrees.Single(t => t.FilePath == "Model0.cs");
        var text = model.GetText();
        // Inside a helper that every layer inlines: every later line and position moves.
        int at = text.ToString().IndexOf("var q = SplitHeads", StringComparison.Ordinal);
        Assert.True(at > 0);
        var edited = compilation.ReplaceSyntaxTree(model, model.WithChangedText(text.Replace(at, 0, "// a comment that moves every later line\n        ")));
        AssertModelStepsReused(driver.RunGenerators(edited).GetRunResult());
    }

    [Fact]
    public void ChangingALayerRegeneratesTheModel()
    {
        var (driver, compilation) = RunOnce();
        var model = compilation.SyntaxTrees.Single(t => t.FilePath == "Model0.cs");
        string text = model.GetText().ToString();
        Assert.Contains("Linear(Gelu(", text);
        var edited = compilation.ReplaceSyntaxTree(model, model.WithChangedText(SourceText.From(text.Replace("Linear(Gelu(", "Linear(Relu("))));
        var result = driver.RunGenerators(edited).GetRunResult();
        var outputs = result.Results[0].TrackedSteps[TrackingNames.Models].SelectMany(s => s.Outputs).ToArray();
        Assert.Contains(outputs, o => o.Reason == IncrementalStepRunReason.Modified);
    }

    private static string ReadModel()
    {
        using var stream = typeof(LargeModelIncrementalityTests).Assembly.GetManifestResourceStream("TransformerEncoder12.cs")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static (GeneratorDriver Driver, Compilation Compilation) RunOnce()
    {
        var compilation = GeneratorHarness.Compilation(ModelSource, OtherSource);
        var driver = GeneratorHarness.Driver(trackSteps: true).RunGenerators(compilation);
        var first = driver.GetRunResult();
        Assert.Empty(first.Diagnostics);
        Assert.Single(first.GeneratedTrees);
        return (driver, compilation);
    }

    private static void AssertModelStepsReused(GeneratorDriverRunResult result)
    {
        var steps = result.Results[0].TrackedSteps;
        foreach (var name in new[] { TrackingNames.Frontend, TrackingNames.Models })
        {
            var reasons = steps[name].SelectMany(s => s.Outputs).Select(o => o.Reason).ToArray();
            Assert.NotEmpty(reasons);
            Assert.All(reasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"step {name} output was {r}"));
        }

        Assert.All(result.Results[0].TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"an output step was {o.Reason}"));
    }
}
