using System.Collections.Generic;
using System.Linq;
using Aot.Generator.Backends.Cpu;
using Aot.Generator.IR;

namespace Aot.Generator.Passes;

/// <summary>
/// CPU lowering, before <see cref="LowerConvToGemm"/>: a convolution whose input and weights fit in L1 together
/// (stride 1, no dilation, one group, weights known at load time) becomes <see cref="OpKind.SmallConv"/>, computed
/// directly from the input (the runtime's <c>SmallConv</c> kernel) instead of through an im2col matrix, which for
/// such layers costs more to build than the products it feeds. The weights are read as [C, R, S, K], a Transpose
/// evaluated once at load time, so one vector load gives a tap's weights for a run of output channels.
/// The kernel also finishes the layer while it is in registers, so the node absorbs what follows when nothing else
/// reads the values in between: a ReLU (FuseElementwise leaves a lone one as it is), then a 2 x 2 / stride 2
/// unpadded MaxPool2d.
/// Requires: a verified graph. Guarantees: the same values at the absorbed chain's end.
/// </summary>
internal sealed class LowerSmallConv : IPass
{
    private readonly CpuTarget _target;

    public LowerSmallConv(CpuTarget target) => _target = target;

    public string Name => nameof(LowerSmallConv);

    public Graph Run(Graph graph)
    {
        var loadTime = LoadTimeValues.Of(graph);
        if (!graph.Nodes.Any(n => IsCandidate(graph, n, loadTime))) return graph;

        var uses = graph.UseCounts();
        var outputs = new HashSet<int>(graph.Outputs);
        var consumers = graph.Nodes.SelectMany(n => n.Inputs.Distinct().Select(i => (Input: i, Node: n))).ToLookup(p => p.Input, p => p.Node);
        Node? SoleConsumer(int value) => uses[value] == 1 && !outputs.Contains(value) ? consumers[value].FirstOrDefault() : null;

        var absorbed = new HashSet<Node>();
        var rewriter = new GraphRewriter(graph);
        foreach (var node in graph.Nodes)
        {
            if (absorbed.Contains(node)) continue;
            if (!IsCandidate(graph, node, loadTime))
            {
                rewriter.Copy(node);
                continue;
            }

            int end = node.Output;
            bool relu = false, pool = false;
            if (SoleConsumer(end) is { } act && act.Op == OpKind.Relu)
            {
                relu = true;
                absorbed.Add(act);
                end = act.Output;
            }

            if (SoleConsumer(end) is { } next && IsMaxPool2x2(next))
            {
                pool = true;
                absorbed.Add(next);
                end = next.Output;
            }

            var w = graph.TypeOf(node.Inputs[1]);
            var transposed = ShapeInference.Infer(OpKind.Transpose, new[] { w }, Attrs.Of(Attr.OfInts(AttrNames.Perm, 1, 2, 3, 0))).Type!;
            int wt = rewriter.Add(OpKind.Transpose, new[] { rewriter.Map(node.Inputs[1]) }, Attrs.Of(Attr.OfInts(AttrNames.Perm, 1, 2, 3, 0)), transposed);
            var inputs = node.Inputs.Select(rewriter.Map).ToArray();
            inputs[1] = wt;
            var attrs = Attrs.Of(
                Attr.OfInts(AttrNames.Pads, node.Attrs.Ints(AttrNames.Pads)),
                Attr.OfInt(AttrNames.Relu, relu ? 1 : 0),
                Attr.OfInt(AttrNames.Pool, pool ? 2 : 0),
                Attr.OfInts(AttrNames.Shape, graph.TypeOf(end).ShapeArray()));
            rewriter.Add(OpKind.SmallConv, inputs, attrs, graph.TypeOf(end), replaces: end);
        }

        return rewriter.Finish();
    }

    /// <summary>A stride-1, undilated, single-group Conv2d with load-time weights whose zero-padded input planes and
    /// weights together fit in L1, so every tap the kernel re-reads is an L1 hit.</summary>
    private bool IsCandidate(Graph graph, Node node, bool[] loadTime)
    {
        if (node.Op != OpKind.Conv2d || node.Attrs.Int(AttrNames.Group) != 1 || !loadTime[node.Inputs[1]]) return false;
        if (node.Attrs.Ints(AttrNames.Strides).Any(s => s != 1) || node.Attrs.Ints(AttrNames.Dilations).Any(d => d != 1)) return false;
        var x = graph.TypeOf(node.Inputs[0]).ShapeArray();
        var w = graph.TypeOf(node.Inputs[1]).ShapeArray();
        var pads = node.Attrs.Ints(AttrNames.Pads);
        long inputBytes = (long)x[1] * (x[2] + pads[0] + pads[2]) * (x[3] + pads[1] + pads[3]) * sizeof(float);
        long weightBytes = (long)w[0] * w[1] * w[2] * w[3] * sizeof(float);
        return inputBytes + weightBytes <= _target.L1Bytes;
    }


    private static bool IsMaxPool2x2(Node node) =>
        node.Op == OpKind.MaxPool2d
        && node.Attrs.Ints(AttrNames.Kernel).SequenceEqual(new[] { 2, 2 })
        && node.Attrs.Ints(AttrNames.Strides).SequenceEqual(new[] { 2, 2 })
        && node.Attrs.Ints(AttrNames.Pads).All(p => p == 0);
}
