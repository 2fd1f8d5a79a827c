using Aot.Generator.IR;
using Aot.Generator.Passes;

namespace Generator.Tests.Passes;

public class EliminateDeadCodeTests
{
    [Fact]
    public void RemovesNodesThatDoNotReachAnOutputAndKeepsInterfaceIds()
    {
        var b = new GraphBuilder("G");
        int w = b.AddWeight("W", new TensorType(DType.Float32, 3));
        int x = b.AddInput("x", new TensorType(DType.Float32, 3));
        b.TryAdd(OpKind.Exp, new[] { x }, Attrs.None, out int unused);
        b.TryAdd(OpKind.Relu, new[] { unused }, Attrs.None, out _);
        b.TryAdd(OpKind.Add, new[] { x, w }, Attrs.None, out int y);
        b.AddOutput(y);
        var graph = b.Build();

        var result = new EliminateDeadCode().Run(graph);

        Assert.Equal(
            "graph G(%1 x: f32[3]) weights(%0 W: f32[3]) {\n  %2: f32[3] = Add(%1, %0)\n  return %2\n}\n",
            IrPrinter.Print(result));
        Assert.Empty(IrVerifier.Verify(result));
    }

    [Fact]
    public void ReturnsTheSameGraphWhenNothingIsDead()
    {
        var b = new GraphBuilder("G");
        int x = b.AddInput("x", new TensorType(DType.Float32, 3));
        b.TryAdd(OpKind.Relu, new[] { x }, Attrs.None, out int y);
        b.AddOutput(y);
        var graph = b.Build();
        Assert.Same(graph, new EliminateDeadCode().Run(graph));
    }
}
