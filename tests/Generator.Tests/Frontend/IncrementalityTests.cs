using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Generator.Tests.Frontend;

/// <summary>
/// The generator must stay cheap in the IDE: edits that do not change a model must not re-run the compiler.
/// With step tracking on, the frontend's output (and everything after it) must come out Cached or Unchanged.
/// </summary>
public class IncrementalityTests
{
    private const string ModelSource = GeneratorHarness.Usings + """
        namespace T;

        [Model]
        public partial class Net
        {
            [Weight(8, 4)] public Tensor? W { get; set; }
            [Weight(8)] public Tensor? B { get; set; }

            public Tensor Forward([Input(2, 4)] Tensor x)
            {
                var h = Linear(x, W!, B);
                return Softmax(Relu(h), axis: -1);
            }
        }
        """;

    private const string OtherSource = "namespace T; public static class Util { public static int Twice(int x) => 2 * x; }";

    [Fact]
    public void EditingAnUnrelatedFileKeepsEveryModelStepCached()
    {
        var (driver, compilation) = RunOnce();
        var other = compilation.SyntaxTrees.Single(t => t.FilePath == "Model1.cs");
        var edited = compilation.ReplaceSyntaxTree(other, other.WithChangedText(other.GetText().Replace(0, 0, "// edited\n")));
        AssertModelStepsReused(driver.RunGenerators(edited).GetRunResult());
    }

    [Fact]
    public void AddingACommentToTheModelLeavesItsOutputUnchanged()
    {
        var (driver, compilation) = RunOnce();
        var model = compilation.SyntaxTrees.Single(t => t.FilePath == "Model0.cs");
        var text = model.GetText();
        int at = text.ToString().IndexOf("var h", StringComparison.Ordinal);
        var edited = compilation.ReplaceSyntaxTree(model, model.WithChangedText(text.Replace(at, 0, "// a comment that moves every later line\n        ")));
        AssertModelStepsReused(driver.RunGenerators(edited).GetRunResult());
    }

    [Fact]
    public void ChangingTheModelRegeneratesIt()
    {
        var (driver, compilation) = RunOnce();
        var model = compilation.SyntaxTrees.Single(t => t.FilePath == "Model0.cs");
        var text = model.GetText().ToString();
        var edited = compilation.ReplaceSyntaxTree(model, model.WithChangedText(Microsoft.CodeAnalysis.Text.SourceText.From(text.Replace("Relu(h)", "Tanh(h)"))));
        var result = driver.RunGenerators(edited).GetRunResult();
        var outputs = result.Results[0].TrackedSteps[Aot.Generator.TrackingNames.Models].SelectMany(s => s.Outputs).ToArray();
        Assert.Contains(outputs, o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("Tanh", result.GeneratedTrees.Single().ToString());
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
        foreach (var name in new[] { Aot.Generator.TrackingNames.Frontend, Aot.Generator.TrackingNames.Models })
        {
            var reasons = steps[name].SelectMany(s => s.Outputs).Select(o => o.Reason).ToArray();
            Assert.NotEmpty(reasons);
            Assert.All(reasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"step {name} output was {r}"));
        }

        Assert.All(result.Results[0].TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"an output step was {o.Reason}"));
    }
}
