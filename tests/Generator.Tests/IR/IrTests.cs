using Aot.Generator.IR;

namespace Generator.Tests.IR;

public class IrTests
{
    private static Graph SmallMlp()
    {
        var b = new GraphBuilder("Mlp");
        int w = b.AddWeight("W", new TensorType(DType.Float32, 4, 3));
        int x = b.AddInput("x", new TensorType(DType.Float32, 2, 3));
        b.TryAdd(OpKind.Gemm, new[] { x, w }, Attrs.Of(Attr.OfFloat(AttrNames.Alpha, 1), Attr.OfFloat(AttrNames.Beta, 1), Attr.OfInt(AttrNames.TransA, 0), Attr.OfInt(AttrNames.TransB, 1)), out int h);
        b.TryAdd(OpKind.Relu, new[] { h }, Attrs.None, out int y);
        b.AddOutput(y);
        return b.Build();
    }

    [Fact]
    public void PrinterShowsEveryValueWithItsType()
    {
        Assert.Equal(
            "graph Mlp(%1 x: f32[2,3]) weights(%0 W: f32[4,3]) {\n" +
            "  %2: f32[2,4] = Gemm(%1, %0) {alpha=1, beta=1, transA=0, transB=1}\n" +
            "  %3: f32[2,4] = Relu(%2)\n" +
            "  return %3\n}\n",
            IrPrinter.Print(SmallMlp()));
    }

    [Fact]
    public void EqualGraphsCompareEqual()
    {
        Assert.Equal(SmallMlp(), SmallMlp());
        Assert.Equal(SmallMlp().GetHashCode(), SmallMlp().GetHashCode());
    }

    [Fact]
    public void VerifierAcceptsAWellFormedGraph() => Assert.Empty(IrVerifier.Verify(SmallMlp()));

    [Fact]
    public void VerifierRejectsAWrongOutputType()
    {
        var g = SmallMlp();
        var broken = g with { Values = new Aot.Generator.EquatableArray<Value>(g.Values.Items.SetItem(3, g.Values[3] with { Type = new TensorType(DType.Float32, 2, 5) })) };
        Assert.Contains(IrVerifier.Verify(broken), p => p.Contains("inferred type is f32[2,4]"));
    }

    [Fact]
    public void VerifierRejectsUseBeforeDefinition()
    {
        var g = SmallMlp();
        var swapped = g with { Nodes = new Aot.Generator.EquatableArray<Node>(new[] { g.Nodes[1], g.Nodes[0] }) };
        Assert.Contains(IrVerifier.Verify(swapped), p => p.Contains("used before it is defined"));
    }

    [Theory]
    [InlineData(new[] { 2, 1, 3 }, new[] { 4, 1 }, new[] { 2, 4, 3 })]
    [InlineData(new int[0], new[] { 5 }, new[] { 5 })]
    [InlineData(new[] { 1 }, new[] { 3, 1, 1 }, new[] { 3, 1, 1 })]
    public void BroadcastFollowsNumpy(int[] a, int[] b, int[] expected) => Assert.Equal(expected, ShapeInference.Broadcast(a, b));

    [Fact]
    public void BatchedMatMulBroadcastsAndDropsPromotedAxes()
    {
        var r = ShapeInference.Infer(OpKind.MatMul, new[] { new TensorType(DType.Float32, 5, 1, 2, 3), new TensorType(DType.Float32, 4, 3, 6) }, Attrs.None);
        Assert.Equal(new TensorType(DType.Float32, 5, 4, 2, 6), r.Type);
        var vector = ShapeInference.Infer(OpKind.MatMul, new[] { new TensorType(DType.Float32, 3), new TensorType(DType.Float32, 3, 6) }, Attrs.None);
        Assert.Equal(new TensorType(DType.Float32, 6), vector.Type);
    }

    [Fact]
    public void ReshapeResolvesOneMinusOne()
    {
        Assert.Equal(new[] { 3, 8 }, ShapeInference.ResolveReshape(new[] { 2, 3, 4 }, new[] { 3, -1 }, out _));
        Assert.Null(ShapeInference.ResolveReshape(new[] { 2, 3, 4 }, new[] { 5, -1 }, out var error));
        Assert.Equal("Reshape: cannot reshape [2, 3, 4] (24 elements) to [5, -1]: 24 is not a multiple of 5", error);
    }

    [Fact]
    public void ConvOutputSizeUsesPaddingStrideAndDilation()
    {
        var attrs = Attrs.Of(Attr.OfInts(AttrNames.Strides, 2, 2), Attr.OfInts(AttrNames.Pads, 1, 1, 1, 1), Attr.OfInts(AttrNames.Dilations, 2, 2), Attr.OfInt(AttrNames.Group, 2));
        var r = ShapeInference.Infer(OpKind.Conv2d, new[] { new TensorType(DType.Float32, 1, 4, 17, 17), new TensorType(DType.Float32, 6, 2, 3, 3) }, attrs);
        Assert.Equal(new TensorType(DType.Float32, 1, 6, 8, 8), r.Type); // floor((17 + 2 - 4 - 1) / 2) + 1 = 8
    }
}
