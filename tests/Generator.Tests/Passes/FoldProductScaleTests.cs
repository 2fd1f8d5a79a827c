using Aot.Dsl;
using Aot.Generator.IR;
using Aot.Generator.Passes;
using Generator.Tests.Backend;
using static Aot.Tests.Shared.CaseKit;
using DType = Aot.Generator.IR.DType;

namespace Generator.Tests.Passes;

public class FoldProductScaleTests
{
    private static int Op(GraphBuilder b, OpKind op, params int[] inputs)
    {
        var r = b.TryAdd(op, inputs, Aot.Generator.IR.Attrs.None, out int v);
        Assert.Null(r.Error);
        return v;
    }

    private static int Constant(GraphBuilder b, float value)
    {
        b.TryAdd(OpKind.Constant, Array.Empty<int>(), Aot.Generator.IR.Attrs.Of(Attr.OfFloat(AttrNames.Value, value)), out int v);
        return v;
    }

    /// <summary>Attention scores: q [2, 32, 16] @ k^T [2, 16, 32] (enough work for the GEMM microkernel), scaled by <paramref name="op"/> with <paramref name="c"/>.</summary>
    private static (Graph Graph, Tensor Q, Tensor K, Tensor Expected) Scores(OpKind op, float c, bool scaleFirst = false)
    {
        var q = Rand(1, 2, 32, 16);
        var k = Rand(2, 2, 16, 32);
        var b = new GraphBuilder("Scores");
        int iq = b.AddInput("q", TypeOf(q));
        int ik = b.AddInput("k", TypeOf(k));
        int product = Op(b, OpKind.MatMul, iq, ik);
        int constant = Constant(b, c);
        b.AddOutput(Op(b, op, scaleFirst ? constant : product, scaleFirst ? product : constant));
        var scores = Ops.MatMul(q, k);
        var expected = op == OpKind.Div ? Ops.Div(scores, Tensor.Scalar(c)) : Ops.Mul(scores, Tensor.Scalar(c));
        return (b.Build(), q, k, expected);
    }

    [Fact]
    public void AScaledProductBecomesOneProductWithTheScaleInItsEpilogue()
    {
        foreach (var (op, first) in new[] { (OpKind.Mul, false), (OpKind.Mul, true), (OpKind.Div, false) })
        {
            var folded = new EliminateDeadCode().Run(new FoldProductScale().Run(Scores(op, 0.125f, first).Graph));
            var node = Assert.Single(folded.Nodes);
            Assert.Equal(OpKind.MatMul, node.Op);
            Assert.Equal($"r1 = Constant() {{value=0.125}}; r2 = {op}(r0, r1)", string.Join("; ", node.Body.Select(n => $"r{n.Output} = {n.Op}({string.Join(", ", n.Inputs.Select(r => "r" + r))}){(n.Attrs.Items.IsEmpty ? "" : " " + n.Attrs)}")));
            Assert.Empty(IrVerifier.Verify(folded));
        }
    }

    [Fact]
    public void ADivisionOfTheConstantByTheProductOrAShapeChangeIsNotFolded()
    {
        var b = new GraphBuilder("G");
        int a = b.AddInput("a", new TensorType(DType.Float32, 4, 4));
        int p = Op(b, OpKind.MatMul, a, a);
        b.AddOutput(Op(b, OpKind.Div, Constant(b, 2f), p));
        var graph = b.Build();
        Assert.Same(graph, new FoldProductScale().Run(graph));

        var b2 = new GraphBuilder("G");
        int x = b2.AddInput("x", new TensorType(DType.Float32, 4, 4));
        int w = b2.AddWeight("w", new TensorType(DType.Float32, 2, 4, 4));
        b2.AddOutput(Op(b2, OpKind.Mul, Op(b2, OpKind.MatMul, x, x), w)); // not a one-element constant
        var graph2 = b2.Build();
        Assert.Same(graph2, new FoldProductScale().Run(graph2));
    }

    [Fact]
    public void OnTheCpuTheScaleBecomesTheProductsAlphaAndValuesAreUnchanged()
    {
        var cases = new[] { (OpKind.Mul, 0.125f), (OpKind.Div, 5.656854f) }
            .Select(s => Scores(s.Item1, s.Item2))
            .Select(s => new KernelCase("scores", s.Graph, Array.Empty<Tensor>(), new[] { s.Q, s.K }, s.Expected, Tolerance.Accumulation))
            .ToArray();
        FuseEpilogueTests.CheckThroughPipeline(cases, Array.Empty<string>());
        FuseEpilogueTests.CheckThroughPipeline(cases, new[] { nameof(FoldProductScale) });

        var optimized = FuseEpilogueTests.Optimize(cases[0].Graph, Array.Empty<string>());
        using var compiled = CompiledGraphs.Compile(new[] { optimized });
        Assert.Contains("as the product's alpha", compiled.Sources[0]);
        Assert.Contains(", 0.125f, accumulate: false", compiled.Sources[0]);
    }
}
