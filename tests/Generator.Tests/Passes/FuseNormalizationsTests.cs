using Aot.Dsl;
using Aot.Generator.IR;
using Aot.Generator.Passes;
using Generator.Tests.Backend;
using static Aot.Tests.Shared.CaseKit;
using DType = Aot.Generator.IR.DType;

namespace Generator.Tests.Passes;

public class FuseNormalizationsTests
{
    private static int Op(GraphBuilder b, OpKind op, params int[] inputs) => Op(b, op, Aot.Generator.IR.Attrs.None, inputs);

    private static int Op(GraphBuilder b, OpKind op, Attrs attrs, params int[] inputs)
    {
        var r = b.TryAdd(op, inputs, attrs, out int v);
        Assert.Null(r.Error);
        return v;
    }

    private static int Constant(GraphBuilder b, float value) => Op(b, OpKind.Constant, Aot.Generator.IR.Attrs.Of(Attr.OfFloat(AttrNames.Value, value)));

    private static Attrs Reduce(params int[] axes) => Aot.Generator.IR.Attrs.Of(Attr.OfInts(AttrNames.Axes, axes), Attr.OfInt(AttrNames.KeepDims, 1));

    private static Graph Fuse(Graph g)
    {
        var result = new EliminateDeadCode().Run(new FuseNormalizations().Run(new SimplifyAlgebra().Run(g)));
        Assert.Empty(IrVerifier.Verify(result));
        return result;
    }

    /// <summary>An exported LayerNorm over the last axis of [2, 5, 16]: x - mean, squared with Pow, mean, + eps, sqrt,
    /// divide, * gamma, + beta (gamma and beta on the side <paramref name="commuted"/> picks).</summary>
    private static (Graph Graph, int Square) ExportedLayerNorm(bool commuted, int[] gammaShape, bool leakSquare = false)
    {
        var b = new GraphBuilder("Ln");
        int x = b.AddInput("x", new TensorType(DType.Float32, 2, 5, 16));
        int gamma = b.AddWeight("gamma", new TensorType(DType.Float32, gammaShape));
        int beta = b.AddWeight("beta", new TensorType(DType.Float32, 16));
        int d = Op(b, OpKind.Sub, x, Op(b, OpKind.ReduceMean, Reduce(2), x));
        int square = Op(b, OpKind.Pow, d, Constant(b, 2f));
        int eps = Constant(b, 1e-5f);
        int variance = Op(b, OpKind.ReduceMean, Reduce(2), square);
        int n = Op(b, OpKind.Div, d, Op(b, OpKind.Sqrt, commuted ? Op(b, OpKind.Add, eps, variance) : Op(b, OpKind.Add, variance, eps)));
        int y = commuted ? Op(b, OpKind.Mul, gamma, n) : Op(b, OpKind.Mul, n, gamma);
        int z = commuted ? Op(b, OpKind.Add, beta, y) : Op(b, OpKind.Add, y, beta);
        b.AddOutput(leakSquare ? Op(b, OpKind.Add, z, square) : z);
        return (b.Build(), square);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnExportedLayerNormBecomesOneNode(bool commuted)
    {
        var fused = Fuse(ExportedLayerNorm(commuted, new[] { 16 }).Graph);
        var node = Assert.Single(fused.Nodes);
        Assert.Equal("%3: f32[2,5,16] = LayerNorm(%0, %1, %2) {axis=2, epsilon=1E-05}", IrPrinter.PrintNode(fused, node));
    }

    [Fact]
    public void APatternWhoseIntermediateIsReadElsewhereOrWhoseGammaDoesNotFitStays()
    {
        Assert.DoesNotContain(Fuse(ExportedLayerNorm(false, new[] { 16 }, leakSquare: true).Graph).Nodes, n => n.Op == OpKind.LayerNorm);
        Assert.DoesNotContain(Fuse(ExportedLayerNorm(false, new[] { 5, 16 }).Graph).Nodes, n => n.Op == OpKind.LayerNorm);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AWrittenOutSoftmaxBecomesOneNode(bool subtractMax)
    {
        var b = new GraphBuilder("Sm");
        int x = b.AddInput("x", new TensorType(DType.Float32, 3, 7));
        int shifted = subtractMax ? Op(b, OpKind.Sub, x, Op(b, OpKind.ReduceMax, Reduce(1), x)) : x;
        int e = Op(b, OpKind.Exp, shifted);
        b.AddOutput(Op(b, OpKind.Div, e, Op(b, OpKind.ReduceSum, Reduce(1), e)));

        var node = Assert.Single(Fuse(b.Build()).Nodes);
        Assert.Equal(OpKind.Softmax, node.Op);
        Assert.Equal(1, node.Attrs.Int(AttrNames.Axis));
    }

    [Fact]
    public void ValuesAreUnchangedThroughThePipeline()
    {
        var x = Rand(1, -4f, 4f, 2, 5, 16);
        var gamma = Rand(2, 0.5f, 1.5f, 16);
        var beta = Rand(3, 16);
        var expected = Ops.LayerNorm(x, gamma, beta, 1e-5f);
        var cases = new[] { false, true }
            .Select(commuted => new KernelCase($"exported LayerNorm, commuted {commuted}", ExportedLayerNorm(commuted, new[] { 16 }).Graph, new[] { gamma, beta }, new[] { x }, expected, Tolerance.Accumulation))
            .ToArray();
        FuseEpilogueTests.CheckThroughPipeline(cases, Array.Empty<string>());
        FuseEpilogueTests.CheckThroughPipeline(cases, new[] { nameof(FuseNormalizations) });
    }
}
