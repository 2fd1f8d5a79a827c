using Aot.Generator.IR;
using Aot.Generator.Passes;

namespace Generator.Tests.Passes;

public class LowerConvToGemmTests
{
    private static Attrs ConvAttrs(int group) => Attrs.Of(
        Attr.OfInts(AttrNames.Strides, 1, 1), Attr.OfInts(AttrNames.Pads, 1, 1, 1, 1), Attr.OfInts(AttrNames.Dilations, 1, 1), Attr.OfInt(AttrNames.Group, group));

    [Fact]
    public void DenseConvolutionBecomesConvGemmWhileDepthwiseStaysDirect()
    {
        var b = new GraphBuilder("G");
        int k1 = b.AddWeight("K1", new TensorType(DType.Float32, 16, 3, 3, 3));
        int dw = b.AddWeight("Dw", new TensorType(DType.Float32, 16, 1, 3, 3));
        int x = b.AddInput("x", new TensorType(DType.Float32, 1, 3, 8, 8));
        Assert.Null(b.TryAdd(OpKind.Conv2d, new[] { x, k1 }, ConvAttrs(1), out int c1).Error);
        Assert.Null(b.TryAdd(OpKind.Conv2d, new[] { c1, dw }, ConvAttrs(16), out int c2).Error);
        b.AddOutput(c2);

        var lowered = new LowerConvToGemm().Run(b.Build());

        Assert.Empty(IrVerifier.Verify(lowered));
        Assert.Equal(new[] { OpKind.ConvGemm, OpKind.Conv2d }, lowered.Nodes.Select(n => n.Op));
        var gemm = lowered.Nodes[0];
        Assert.Equal(b.Build().Nodes[0].Attrs, gemm.Attrs);
        Assert.Equal(new TensorType(DType.Float32, 1, 16, 8, 8), lowered.TypeOf(gemm.Output));
    }
}
