using Aot.Generator.IR;
using Aot.Generator.Passes;

namespace Generator.Tests.Passes;

public class PackGemmWeightsTests
{
    [Fact]
    public void GemmAndBatchedMatMulReadOnePackedCopyOfTheirWeight()
    {
        var b = new GraphBuilder("G");
        int w = b.AddWeight("W", new TensorType(DType.Float32, 8, 4));
        int x = b.AddInput("x", new TensorType(DType.Float32, 2, 3, 8));
        b.TryAdd(OpKind.MatMul, new[] { x, w }, Attrs.None, out int mm);
        b.TryAdd(OpKind.Reshape, new[] { x }, Attrs.Of(Attr.OfInts(AttrNames.Shape, 6, 8)), out int x2);
        b.TryAdd(OpKind.Gemm, new[] { x2, w }, Attrs.Of(Attr.OfFloat(AttrNames.Alpha, 2f), Attr.OfFloat(AttrNames.Beta, 1f), Attr.OfInt(AttrNames.TransA, 0), Attr.OfInt(AttrNames.TransB, 0)), out int g);
        b.TryAdd(OpKind.Reshape, new[] { g }, Attrs.Of(Attr.OfInts(AttrNames.Shape, 2, 3, 4)), out int g3);
        b.TryAdd(OpKind.Add, new[] { mm, g3 }, Attrs.None, out int y);
        b.AddOutput(y);

        var packed = new PackGemmWeights().Run(b.Build());

        Assert.Empty(IrVerifier.Verify(packed));
        Assert.Single(packed.Nodes, n => n.Op == OpKind.PackB);
        Assert.Equal(2, packed.Nodes.Count(n => n.Op == OpKind.PackedGemm));
        Assert.DoesNotContain(packed.Nodes, n => n.Op is OpKind.MatMul or OpKind.Gemm);
        var pack = packed.Nodes.Single(n => n.Op == OpKind.PackB);
        Assert.True(LoadTimeValues.Of(packed)[pack.Output]);
        Assert.Equal(new TensorType(DType.Float32, 2, 3, 4), packed.TypeOf(packed.Outputs[0]));
    }

    [Fact]
    public void ProductsOfTwoActivationsAreLeftAlone()
    {
        var b = new GraphBuilder("G");
        int x = b.AddInput("x", new TensorType(DType.Float32, 4, 8));
        int z = b.AddInput("z", new TensorType(DType.Float32, 8, 4));
        b.TryAdd(OpKind.MatMul, new[] { x, z }, Attrs.None, out int y);
        b.AddOutput(y);
        var graph = b.Build();
        Assert.Same(graph, new PackGemmWeights().Run(graph));
    }
}
