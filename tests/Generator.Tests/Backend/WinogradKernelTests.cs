using Aot.Dsl;
using Aot.Generator.IR;
using Aot.Generator.Passes;
using static Aot.Tests.Shared.CaseKit;
using DType = Aot.Generator.IR.DType;

namespace Generator.Tests.Backend;

/// <summary>
/// Convolutions the CPU pipeline lowers to WinogradConv (Sgemm.WinogradConvolve), with the epilogues FuseEpilogue gives
/// them (bias + ReLU, a residual, an erf GELU), odd and asymmetric padding, batch 2, tile rows that blocks cut: at 1
/// and 2 threads each matches the eager reference, and the two are bit-identical.
/// </summary>
public class WinogradKernelTests
{
    private static int N(GraphBuilder g, OpKind op, Attrs attrs, params int[] inputs)
    {
        var result = g.TryAdd(op, inputs, attrs, out int id);
        if (result.Error is { } e) throw new InvalidOperationException(op + ": " + e.Message);
        return id;
    }

    private static IEnumerable<KernelCase> Cases()
    {
        int seed = 2100;
        foreach (var (xShape, wShape, pads, tail) in new[]
        {
            (new[] { 1, 16, 64, 20 }, new[] { 24, 16, 3, 3 }, new[] { 1, 1, 1, 1 }, "relu"),
            (new[] { 2, 20, 15, 17 }, new[] { 16, 20, 3, 3 }, new[] { 2, 0, 0, 1 }, "residual"),
            (new[] { 1, 32, 18, 18 }, new[] { 19, 32, 3, 3 }, new[] { 0, 0, 0, 0 }, "gelu"),
        })
        {
            var g = new GraphBuilder("Net");
            var x = Rand(seed++, xShape);
            var w = Rand(seed++, wShape);
            var b = Rand(seed++, wShape[0]);
            int ix = g.AddInput("x", TypeOf(x));
            int y = N(g, OpKind.Conv2d, ConvAttrs(new[] { 1, 1 }, pads, new[] { 1, 1 }, 1), ix, g.AddWeight("w", TypeOf(w)), g.AddWeight("b", TypeOf(b)));
            var expected = Ops.Conv2d(Pad(x, pads[0], pads[1], pads[2], pads[3], 0f), w, b);
            var inputs = new List<Tensor> { x };
            switch (tail)
            {
                case "relu":
                    y = N(g, OpKind.Relu, Aot.Generator.IR.Attrs.None, y);
                    expected = Ops.Relu(expected);
                    break;
                case "residual":
                    var skip = Rand(seed++, expected.Shape.ToArray());
                    inputs.Add(skip);
                    y = N(g, OpKind.Relu, Aot.Generator.IR.Attrs.None, N(g, OpKind.Add, Aot.Generator.IR.Attrs.None, y, g.AddInput("skip", TypeOf(skip))));
                    expected = Ops.Relu(Ops.Add(expected, skip));
                    break;
                default:
                    y = N(g, OpKind.Gelu, Attrs(Attr.OfInt(AttrNames.Mode, 0)), y);
                    expected = Ops.Gelu(expected);
                    break;
            }

            g.AddOutput(y);
            var graph = PassPipeline.Run(g.Build(), new HashSet<string>(), null, CancellationToken.None, PassPipeline.CpuPasses);
            yield return new KernelCase($"{S(xShape)} * {S(wShape)} pads {S(pads)} {tail}", graph, new[] { w, b }, inputs.ToArray(), expected, Tolerance.Accumulation);
        }
    }

    [Fact]
    public void WinogradConvolutionsWithEpiloguesMatchTheEagerReferenceAtOneAndTwoThreads()
    {
        var cases = Cases().ToList();
        Assert.All(cases, c => Assert.Single(c.Graph.Nodes, n => n.Op == OpKind.WinogradConv && Epilogue.Has(n)));
        Assert.All(cases, c => Assert.DoesNotContain(c.Graph.Nodes, n => n.Op is OpKind.Conv2d or OpKind.Relu or OpKind.Gelu or OpKind.Add));
        using var compiled = CompiledGraphs.Compile(cases.Select(c => c.Graph).ToArray());
        Assert.All(compiled.Sources, source => Assert.Contains("Sgemm.WinogradConvolve(", source));
        var failures = ParallelKernelTests.CheckAtOneAndTwoThreads(compiled, cases);
        Assert.True(failures.Length == 0, failures);
    }
}
