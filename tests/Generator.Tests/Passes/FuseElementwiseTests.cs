using Aot.Generator.IR;
using Aot.Generator.Passes;

namespace Generator.Tests.Passes;

public class FuseElementwiseTests
{
    private static readonly TensorType Vec8 = new(DType.Float32, 8);

    private static int Op(GraphBuilder b, OpKind op, params int[] inputs)
    {
        var r = b.TryAdd(op, inputs, Attrs.None, out int v);
        Assert.Null(r.Error);
        return v;
    }

    private static int Constant(GraphBuilder b, float value)
    {
        b.TryAdd(OpKind.Constant, Array.Empty<int>(), Attrs.Of(Attr.OfFloat(AttrNames.Value, value)), out int v);
        return v;
    }

    private static Graph Optimize(Graph g) => new EliminateDeadCode().Run(new FuseElementwise().Run(g));

    [Fact]
    public void TheBenchmarkChainBecomesOneNode()
    {
        // y = relu(x*a+b)*sigmoid(x)+c
        var b = new GraphBuilder("Chain");
        int x = b.AddInput("x", Vec8);
        int a = b.AddWeight("a", Vec8);
        int bb = b.AddWeight("b", Vec8);
        int c = b.AddWeight("c", Vec8);
        int y = Op(b, OpKind.Add, Op(b, OpKind.Mul, Op(b, OpKind.Relu, Op(b, OpKind.Add, Op(b, OpKind.Mul, x, a), bb)), Op(b, OpKind.Sigmoid, x)), c);
        b.AddOutput(y);

        var fused = Optimize(b.Build());

        var node = Assert.Single(fused.Nodes);
        Assert.Equal(OpKind.Fused, node.Op);
        Assert.Equal(
            "%4: f32[8] = Fused(%0, %1, %2, %3) { r4 = Mul(r0, r1); r5 = Add(r4, r2); r6 = Relu(r5); r7 = Sigmoid(r0); r8 = Mul(r6, r7); r9 = Add(r8, r3) }",
            IrPrinter.PrintNode(fused, node));
        Assert.Empty(IrVerifier.Verify(fused));
    }

    [Fact]
    public void AValueUsedTwiceInsideTheGroupIsComputedOnce()
    {
        var b = new GraphBuilder("Dag");
        int x = b.AddInput("x", Vec8);
        int h = Op(b, OpKind.Exp, x);
        int y = Op(b, OpKind.Mul, Op(b, OpKind.Relu, h), Op(b, OpKind.Tanh, h));
        b.AddOutput(y);

        var fused = Optimize(b.Build());

        var node = Assert.Single(fused.Nodes);
        Assert.Single(node.Body, n => n.Op == OpKind.Exp);
        Assert.Empty(IrVerifier.Verify(fused));
    }

    [Fact]
    public void AValueAlsoUsedOutsideTheGroupStaysMaterialized()
    {
        var b = new GraphBuilder("Shared");
        int x = b.AddInput("x", new TensorType(DType.Float32, 2, 4));
        int h = Op(b, OpKind.Exp, x);
        int sum = Op(b, OpKind.Relu, Op(b, OpKind.Neg, h));
        b.TryAdd(OpKind.Softmax, new[] { h }, Attrs.Of(Attr.OfInt(AttrNames.Axis, 1)), out int s);
        b.AddOutput(Op(b, OpKind.Add, sum, s));

        var fused = Optimize(b.Build());

        Assert.Equal(new[] { OpKind.Exp, OpKind.Softmax, OpKind.Fused }, fused.Nodes.Select(n => n.Op));
        Assert.Empty(IrVerifier.Verify(fused));
    }

    [Fact]
    public void BroadcastProducersAreNotRecomputedPerElement()
    {
        var b = new GraphBuilder("Bias");
        int x = b.AddInput("x", new TensorType(DType.Float32, 4, 8));
        int bias = b.AddWeight("bias", Vec8);
        int scaled = Op(b, OpKind.Mul, bias, Constant(b, 2f)); // [8]: stays outside the [4, 8] group
        b.AddOutput(Op(b, OpKind.Relu, Op(b, OpKind.Add, x, scaled)));

        var fused = Optimize(b.Build());

        Assert.Equal(new[] { OpKind.Mul, OpKind.Fused }, fused.Nodes.Where(n => n.Op != OpKind.Constant).Select(n => n.Op));
        Assert.Empty(IrVerifier.Verify(fused));
    }

    [Fact]
    public void ConstantsAreCopiedIntoTheBody()
    {
        var b = new GraphBuilder("Scale");
        int x = b.AddInput("x", Vec8);
        b.AddOutput(Op(b, OpKind.Relu, Op(b, OpKind.Mul, x, Constant(b, 0.5f))));

        var fused = Optimize(b.Build());

        var node = Assert.Single(fused.Nodes);
        Assert.Equal(new[] { OpKind.Constant, OpKind.Mul, OpKind.Relu }, node.Body.Select(n => n.Op));
        Assert.Single(node.Inputs);
    }

    [Fact]
    public void SingleOpsAreLeftAlone()
    {
        var b = new GraphBuilder("One");
        int x = b.AddInput("x", Vec8);
        int e = Op(b, OpKind.Exp, x);
        b.TryAdd(OpKind.Softmax, new[] { e }, Attrs.Of(Attr.OfInt(AttrNames.Axis, 0)), out int s);
        b.AddOutput(s);
        var graph = b.Build();
        Assert.Same(graph, new FuseElementwise().Run(graph));
    }
}
