using Aot.Generator.IR;
using Generator.Tests.EndToEnd;
using Generator.Tests.Frontend;

namespace Generator.Tests.IR;

/// <summary>AotDumpIR also emits the final graph in Graphviz form, as a constant next to the per-pass IR comments.</summary>
public class IrDotTests
{
    private const string Model = """
        using Aot.Dsl;
        using static Aot.Dsl.Ops;
        namespace T;
        [Model]
        public partial class Net
        {
            [Weight(8, 4, Name = "fc.\"weight\"")] public Tensor? W { get; set; }
            [Weight(8)] public Tensor? B { get; set; }
            public Tensor Forward([Input(2, 4)] Tensor x) => Relu(Linear(x, W!, B)) * 2f;
        }
        """;

    /// <summary>The weights-file name with quotes also checks that the generated code escapes such names.</summary>
    [Fact]
    public void TheDumpCarriesTheFinalGraphAsDot()
    {
        var run = GeneratorHarness.RunWith(new Dictionary<string, string> { ["AotDumpIR"] = "true" }, null, Model);
        Assert.Empty(run.GeneratedCodeProblems);
        var assembly = GeneratedModels.Load(run);
        var dot = (string)assembly.GetType("T.NetIrDump", throwOnError: true)!.GetField("FinalGraphDot")!.GetValue(null)!;

        Assert.StartsWith("digraph \"Net\" {", dot);
        Assert.EndsWith("}\n", dot);
        Assert.Contains("PackedGemm", dot);
        Assert.Contains("peripheries=2", dot); // the output is marked
        Assert.Equal(dot.Count(c => c == '{'), dot.Count(c => c == '}'));
    }

    [Fact]
    public void TheDumpEndsWithTheScheduleAndTheArenaAgainstTheIntermediates()
    {
        var run = GeneratorHarness.RunWith(new Dictionary<string, string> { ["AotDumpIR"] = "true" }, null, Model);
        var dump = Assert.Single(run.Generated, g => g.Contains("IR of T.Net after each pass", StringComparison.Ordinal));
        int schedule = dump.IndexOf("==== schedule (CPU) ====", StringComparison.Ordinal);
        Assert.True(schedule > dump.IndexOf("==== after FuseEpilogue ====", StringComparison.Ordinal), "the schedule follows the last pass");
        Assert.Matches(@"// arena \d+ bytes for \d+ bytes of intermediates", dump);
        Assert.Contains("-- once, when the model is compiled (weights only):", dump);
        Assert.Matches(@"weights buffer \d+ bytes; load scratch \d+ bytes", dump);
        Assert.Matches(@"//\s+\d+\s+.*PackB.*\[weights\+\d+B <- load scratch\+\d+B\]", dump); // packing at load time, from the weight as given
        Assert.Matches(@"//\s+\d+\s+.*PackedGemm.*kc=\d+, mc=\d+.*\[arena\+0B <- input 0, weights\+\d+B", dump); // cache blocks, operands
        Assert.Matches(@"//\s+\d+\s+.*Fused.*\[output <- arena\+0B\]", dump);                       // the last kernel writes the output
    }

    [Fact]
    public void EveryValueIsANodeAndEveryOperandAnEdge()
    {
        var g = new GraphBuilder("G");
        int x = g.AddInput("x\"1", new TensorType(DType.Float32, 3));
        g.TryAdd(OpKind.Add, new[] { x, x }, Attrs.None, out int y);
        g.AddOutput(y);
        var dot = IrDot.Render(g.Build());
        Assert.Contains($"v{x} [shape=box", dot);
        Assert.Contains("x\\\"1", dot); // quotes escaped for dot
        Assert.Contains($"v{x} -> v{y};", dot);
        Assert.Equal(1, dot.Split($"v{x} -> v{y};").Length - 1); // one edge for an operand used twice
    }
}
