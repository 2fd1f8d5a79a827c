using DType = Aot.Generator.IR.DType;
using Aot.Dsl;
using Aot.Generator.Backends.Cpu;
using Aot.Generator.IR;
using Aot.Generator.Passes;
using Generator.Tests.Backend;
using static Aot.Tests.Shared.CaseKit;

namespace Generator.Tests.Passes;

/// <summary>
/// LowerSmallConv: which convolutions become SmallConv (stride 1, one group, input and weights within L1) and what
/// they absorb (a ReLU, then a 2 x 2 max pooling, only when nothing else reads the values in between); and that the
/// compiled SmallConv matches the eager reference at 1 and 2 threads, bit-identically between the two, for odd sizes,
/// symmetric and asymmetric padding, channel counts that leave partial vectors and odd rows and columns under pooling.
/// </summary>
public class LowerSmallConvTests
{
    private static readonly Attrs Pool2 = Attrs(Attr.OfInts(AttrNames.Kernel, 2, 2), Attr.OfInts(AttrNames.Strides, 2, 2), Attr.OfInts(AttrNames.Pads, 0, 0, 0, 0));

    private static Attrs Conv(int stride, params int[] pads) => ConvAttrs(new[] { stride, stride }, pads, new[] { 1, 1 }, 1);

    private static int N(GraphBuilder g, OpKind op, Attrs attrs, params int[] inputs)
    {
        var result = g.TryAdd(op, inputs, attrs, out int id);
        if (result.Error is { } e) throw new InvalidOperationException(op + ": " + e.Message);
        return id;
    }

    private static Graph Lower(Graph graph) => new LowerSmallConv(CpuTarget.Default).Run(graph);

    [Fact]
    public void ConvolutionReluAndPoolingBecomeOneNodeReadingTransposedWeights()
    {
        var g = new GraphBuilder("G");
        int x = g.AddInput("x", new TensorType(DType.Float32, 1, 1, 28, 28));
        int w = g.AddWeight("w", new TensorType(DType.Float32, 6, 1, 5, 5));
        int b = g.AddWeight("b", new TensorType(DType.Float32, 6));
        g.AddOutput(N(g, OpKind.MaxPool2d, Pool2, N(g, OpKind.Relu, Aot.Generator.IR.Attrs.None, N(g, OpKind.Conv2d, Conv(1, 2, 2, 2, 2), x, w, b))));

        var lowered = Lower(g.Build());

        Assert.Empty(IrVerifier.Verify(lowered));
        Assert.Equal(new[] { OpKind.Transpose, OpKind.SmallConv }, lowered.Nodes.Select(n => n.Op));
        Assert.Equal(new[] { 1, 5, 5, 6 }, lowered.TypeOf(lowered.Nodes[0].Output).ShapeArray());
        var conv = lowered.Nodes[1];
        Assert.Equal((1L, 2L), (conv.Attrs.Int(AttrNames.Relu), conv.Attrs.Int(AttrNames.Pool)));
        Assert.Equal(new[] { 1, 6, 14, 14 }, lowered.TypeOf(conv.Output).ShapeArray());
    }

    [Fact]
    public void AValueReadElsewhereStopsTheChain()
    {
        // The ReLU's result is also a graph output, so the pooling after it stays a node of its own.
        var g = new GraphBuilder("G");
        int x = g.AddInput("x", new TensorType(DType.Float32, 1, 3, 9, 9));
        int w = g.AddWeight("w", new TensorType(DType.Float32, 8, 3, 3, 3));
        int relu = N(g, OpKind.Relu, Aot.Generator.IR.Attrs.None, N(g, OpKind.Conv2d, Conv(1, 1, 1, 1, 1), x, w));
        g.AddOutput(relu);
        g.AddOutput(N(g, OpKind.MaxPool2d, Pool2, relu));

        var lowered = Lower(g.Build());

        Assert.Empty(IrVerifier.Verify(lowered));
        Assert.Equal(new[] { OpKind.Transpose, OpKind.SmallConv, OpKind.MaxPool2d }, lowered.Nodes.Select(n => n.Op));
        Assert.Equal((1L, 0L), (lowered.Nodes[1].Attrs.Int(AttrNames.Relu), lowered.Nodes[1].Attrs.Int(AttrNames.Pool)));
    }

    [Fact]
    public void StridedGroupedAndLargeConvolutionsAreLeftAlone()
    {
        var g = new GraphBuilder("G");
        int x = g.AddInput("x", new TensorType(DType.Float32, 1, 4, 9, 9));
        int big = g.AddInput("big", new TensorType(DType.Float32, 1, 16, 48, 48)); // 160 KiB of input: more than L1
        int w = g.AddWeight("w", new TensorType(DType.Float32, 8, 4, 3, 3));
        int wg = g.AddWeight("wg", new TensorType(DType.Float32, 8, 2, 3, 3));
        int wb = g.AddWeight("wb", new TensorType(DType.Float32, 8, 16, 3, 3));
        g.AddOutput(N(g, OpKind.Conv2d, Conv(2, 1, 1, 1, 1), x, w));
        g.AddOutput(N(g, OpKind.Conv2d, ConvAttrs(new[] { 1, 1 }, new[] { 1, 1, 1, 1 }, new[] { 1, 1 }, 2), x, wg));
        g.AddOutput(N(g, OpKind.Conv2d, Conv(1, 1, 1, 1, 1), big, wb));
        var graph = g.Build();

        Assert.Same(graph, Lower(graph));
    }

    /// <summary>conv (+ bias) (+ ReLU) (+ 2 x 2 pooling) of various shapes, with their eager results.</summary>
    private static List<KernelCase> Cases()
    {
        var cases = new List<KernelCase>();
        int seed = 4100;
        foreach (var (xShape, wShape, pads, bias, relu, pool) in new[]
        {
            (new[] { 1, 1, 28, 28 }, new[] { 6, 1, 5, 5 }, new[] { 2, 2, 2, 2 }, true, true, true),   // LeNet's first layer
            (new[] { 1, 6, 14, 14 }, new[] { 16, 6, 5, 5 }, new[] { 0, 0, 0, 0 }, true, true, true),  // and its second
            (new[] { 2, 3, 9, 11 }, new[] { 21, 3, 3, 3 }, new[] { 1, 0, 0, 2 }, false, false, false), // 16 + 5 channels, asymmetric pads
            (new[] { 1, 2, 7, 5 }, new[] { 5, 2, 3, 2 }, new[] { 0, 1, 1, 0 }, true, true, false),    // non-square kernel
            (new[] { 1, 4, 13, 13 }, new[] { 40, 4, 3, 3 }, new[] { 1, 1, 1, 1 }, true, false, true), // 16 + 16 + 8 channels, odd pooled size
            (new[] { 1, 3, 6, 17 }, new[] { 3, 3, 1, 1 }, new[] { 0, 0, 0, 0 }, true, true, true),    // 1x1, 17 columns: tiles of 6
        })
        {
            var g = new GraphBuilder("Net");
            var x = Rand(seed++, xShape);
            var w = Rand(seed++, wShape);
            var b = bias ? Rand(seed++, wShape[0]) : null;
            int ix = g.AddInput("x", TypeOf(x));
            int iw = g.AddWeight("w", TypeOf(w));
            var inputs = b is null ? new[] { ix, iw } : new[] { ix, iw, g.AddWeight("b", TypeOf(b)) };
            int y = N(g, OpKind.Conv2d, Conv(1, pads), inputs);
            var expected = Ops.Conv2d(Pad(x, pads[0], pads[1], pads[2], pads[3], 0f), w, b);
            if (relu)
            {
                y = N(g, OpKind.Relu, Aot.Generator.IR.Attrs.None, y);
                expected = Ops.Relu(expected);
            }

            if (pool)
            {
                y = N(g, OpKind.MaxPool2d, Pool2, y);
                expected = Ops.MaxPool2d(expected, 2);
            }

            g.AddOutput(y);
            var weights = b is null ? new[] { w } : new[] { w, b };
            cases.Add(new KernelCase($"{S(xShape)} * {S(wShape)} pads {S(pads)} bias {bias} relu {relu} pool {pool}", g.Build(), weights, new[] { x }, expected, Tolerance.Accumulation));
        }

        return cases;
    }

    [Fact]
    public void SmallConvolutionsMatchTheEagerReferenceAtOneAndTwoThreads()
    {
        var cases = Cases().Select(c => c with { Graph = PassPipeline.Run(c.Graph, new HashSet<string>(), null, CancellationToken.None, PassPipeline.CpuPasses) }).ToList();
        Assert.All(cases, c => Assert.Contains(c.Graph.Nodes, n => n.Op == OpKind.SmallConv));
        Assert.All(cases, c => Assert.DoesNotContain(c.Graph.Nodes, n => n.Op is OpKind.Conv2d or OpKind.Relu or OpKind.MaxPool2d));
        using var compiled = CompiledGraphs.Compile(cases.Select(c => c.Graph).ToArray());
        var failures = ParallelKernelTests.CheckAtOneAndTwoThreads(compiled, cases);
        Assert.True(failures.Length == 0, failures);
    }
}
