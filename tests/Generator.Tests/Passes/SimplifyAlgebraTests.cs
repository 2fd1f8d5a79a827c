using Aot.Dsl;
using DType = Aot.Generator.IR.DType;
using Aot.Generator.IR;
using Aot.Generator.Passes;
using Generator.Tests.Backend;
using static Aot.Tests.Shared.CaseKit;

namespace Generator.Tests.Passes;

public class SimplifyAlgebraTests
{
    private static readonly TensorType Vec8 = new(DType.Float32, 8);

    private static int Op(GraphBuilder b, OpKind op, params int[] inputs) => Op(b, op, Aot.Generator.IR.Attrs.None, inputs);

    private static int Op(GraphBuilder b, OpKind op, Attrs attrs, params int[] inputs)
    {
        var r = b.TryAdd(op, inputs, attrs, out int v);
        Assert.Null(r.Error);
        return v;
    }

    private static int Constant(GraphBuilder b, float value) =>
        Op(b, OpKind.Constant, Aot.Generator.IR.Attrs.Of(Attr.OfFloat(AttrNames.Value, value)));

    private static Graph Simplify(Graph g)
    {
        var result = new EliminateDeadCode().Run(new SimplifyAlgebra().Run(g));
        Assert.Empty(IrVerifier.Verify(result));
        return result;
    }

    [Fact]
    public void IdentitiesDisappearAndTheirUsesReadTheOperand()
    {
        var b = new GraphBuilder("G");
        int x = b.AddInput("x", Vec8);
        int one = Constant(b, 1f), zero = Constant(b, 0f);
        int t = Op(b, OpKind.Exp, x);
        foreach (var (op, a, c) in new[] { (OpKind.Mul, t, one), (OpKind.Mul, one, t), (OpKind.Add, t, zero), (OpKind.Add, zero, t), (OpKind.Sub, t, zero), (OpKind.Div, t, one), (OpKind.Pow, t, one) })
        {
            t = Op(b, op, a, c);
        }

        t = Op(b, OpKind.Reshape, Aot.Generator.IR.Attrs.Of(Attr.OfInts(AttrNames.Shape, 8)), t);
        b.AddOutput(Op(b, OpKind.Relu, t));

        Assert.Equal(
            "graph G(%0 x: f32[8]) weights() {\n  %1: f32[8] = Exp(%0)\n  %2: f32[8] = Relu(%1)\n  return %2\n}\n",
            IrPrinter.Print(Simplify(b.Build())));
    }

    [Fact]
    public void OperationsWithBroadcastingOrNonNeutralConstantsStay()
    {
        var b = new GraphBuilder("G");
        int x = b.AddInput("x", new TensorType(DType.Float32, 1));
        int zeros = b.AddWeight("z", Vec8);
        int y = Op(b, OpKind.Add, x, zeros);     // broadcasts x: the result is not x
        int two = Constant(b, 2f);
        int z = Op(b, OpKind.Mul, y, two);
        int w = Op(b, OpKind.Sub, Constant(b, 0f), z); // 0 - z is not z
        b.AddOutput(w);
        var graph = b.Build();
        Assert.Same(graph, new SimplifyAlgebra().Run(graph));
    }

    [Fact]
    public void ConstantExpressionsFoldAndPowersReduce()
    {
        var b = new GraphBuilder("G");
        int x = b.AddInput("x", Vec8);
        int scale = Op(b, OpKind.Div, Constant(b, 1f), Op(b, OpKind.Sqrt, Constant(b, 64f)));
        int squared = Op(b, OpKind.Pow, x, Constant(b, 2f));
        int root = Op(b, OpKind.Pow, squared, Constant(b, 0.5f));
        b.AddOutput(Op(b, OpKind.Mul, root, scale));

        Assert.Equal(
            "graph G(%0 x: f32[8]) weights() {\n  %1: f32[] = Constant() {value=0.125}\n  %2: f32[8] = Mul(%0, %0)\n  %3: f32[8] = Sqrt(%2)\n  %4: f32[8] = Mul(%3, %1)\n  return %4\n}\n",
            IrPrinter.Print(Simplify(b.Build())));
    }

    [Fact]
    public void TransposePairsComposeOrCancel()
    {
        var b = new GraphBuilder("G");
        int x = b.AddInput("x", new TensorType(DType.Float32, 2, 3, 4));
        Attrs Perm(params int[] p) => Aot.Generator.IR.Attrs.Of(Attr.OfInts(AttrNames.Perm, p));
        int t = Op(b, OpKind.Transpose, Perm(0, 2, 1), x);
        int back = Op(b, OpKind.Transpose, Perm(0, 2, 1), t);
        int cycled = Op(b, OpKind.Transpose, Perm(2, 0, 1), Op(b, OpKind.Transpose, Perm(1, 2, 0), Op(b, OpKind.Exp, back)));
        int rotated = Op(b, OpKind.Transpose, Perm(1, 0, 2), Op(b, OpKind.Transpose, Perm(0, 2, 1), cycled));
        b.AddOutput(rotated);

        var result = Simplify(b.Build());

        Assert.Equal(
            "graph G(%0 x: f32[2,3,4]) weights() {\n  %1: f32[2,3,4] = Exp(%0)\n  %2: f32[4,2,3] = Transpose(%1) {perm=[2,0,1]}\n  return %2\n}\n",
            IrPrinter.Print(result));
    }

    [Fact]
    public void AnOutputThatWouldBecomeAnInputStaysANode()
    {
        var b = new GraphBuilder("G");
        int x = b.AddInput("x", Vec8);
        b.AddOutput(Op(b, OpKind.Mul, x, Constant(b, 1f)));
        var result = Simplify(b.Build());
        Assert.Contains(result.Nodes, n => n.Op == OpKind.Mul);
    }

    [Fact]
    public void ValuesAreUnchangedThroughThePipeline()
    {
        var x = Rand(1, -3f, 3f, 4, 6);
        var w = Rand(2, 6, 4);
        var b = new GraphBuilder("G");
        int ix = b.AddInput("x", TypeOf(x));
        int iw = b.AddWeight("w", TypeOf(w));
        Attrs Perm(params int[] p) => Aot.Generator.IR.Attrs.Of(Attr.OfInts(AttrNames.Perm, p));
        int xt = Op(b, OpKind.Transpose, Perm(1, 0), Op(b, OpKind.Transpose, Perm(1, 0), ix));
        int centered = Op(b, OpKind.Sub, xt, Op(b, OpKind.ReduceMean, Aot.Generator.IR.Attrs.Of(Attr.OfInts(AttrNames.Axes, 1), Attr.OfInt(AttrNames.KeepDims, 1)), xt));
        int variance = Op(b, OpKind.Pow, centered, Constant(b, 2f));
        int scaled = Op(b, OpKind.Mul, Op(b, OpKind.Add, variance, Constant(b, 0f)), Op(b, OpKind.Div, Constant(b, 1f), Op(b, OpKind.Sqrt, Constant(b, 4f))));
        b.AddOutput(Op(b, OpKind.MatMul, Op(b, OpKind.Pow, scaled, Constant(b, 0.5f)), iw));

        var centeredX = Ops.Sub(x, Ops.ReduceMean(x, new[] { 1 }, keepDims: true));
        var expected = Ops.MatMul(Ops.Sqrt(Ops.Mul(Ops.Mul(centeredX, centeredX), Tensor.Scalar(0.5f))), w);
        var kernelCase = new KernelCase("simplified", b.Build(), new[] { w }, new[] { x }, expected, Tolerance.Accumulation);
        FuseEpilogueTests.CheckThroughPipeline(new[] { kernelCase }, Array.Empty<string>());
        FuseEpilogueTests.CheckThroughPipeline(new[] { kernelCase }, new[] { nameof(SimplifyAlgebra) });
    }
}
