using Aot.Generator.IR;
using Aot.Generator.Passes;

namespace Generator.Tests.Passes;

public class EliminateCommonSubexpressionsTests
{
    private static int Op(GraphBuilder b, OpKind op, Attrs attrs, params int[] inputs)
    {
        var r = b.TryAdd(op, inputs, attrs, out int v);
        Assert.Null(r.Error);
        return v;
    }

    [Fact]
    public void RepeatedNodesAreComputedOnceAndTheirReadersFollow()
    {
        var b = new GraphBuilder("G");
        int x = b.AddInput("x", new TensorType(DType.Float32, 2, 8));
        var shape = Attrs.Of(Attr.OfInts(AttrNames.Shape, 16));
        int r1 = Op(b, OpKind.Reshape, shape, x);
        int r2 = Op(b, OpKind.Reshape, shape, x);
        int e1 = Op(b, OpKind.Exp, Attrs.None, r1);
        int e2 = Op(b, OpKind.Exp, Attrs.None, r2);            // the same once r2 is r1
        int other = Op(b, OpKind.Reshape, Attrs.Of(Attr.OfInts(AttrNames.Shape, 4, 4)), x); // different attributes: kept
        int sum = Op(b, OpKind.Add, Attrs.None, e1, e2);
        b.AddOutput(Op(b, OpKind.Add, Attrs.None, sum, Op(b, OpKind.Reshape, shape, other)));

        var result = new EliminateDeadCode().Run(new EliminateCommonSubexpressions().Run(b.Build()));

        Assert.Equal(
            "graph G(%0 x: f32[2,8]) weights() {\n  %1: f32[16] = Reshape(%0) {shape=[16]}\n  %2: f32[16] = Exp(%1)\n  %3: f32[4,4] = Reshape(%0) {shape=[4,4]}\n" +
            "  %4: f32[16] = Add(%2, %2)\n  %5: f32[16] = Reshape(%3) {shape=[16]}\n  %6: f32[16] = Add(%4, %5)\n  return %6\n}\n",
            IrPrinter.Print(result));
        Assert.Empty(IrVerifier.Verify(result));
    }
}
