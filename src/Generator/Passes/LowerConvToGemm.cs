using System.Collections.Generic;
using System.Linq;
using Aot.Generator.IR;

namespace Aot.Generator.Passes;

/// <summary>
/// CPU lowering: a convolution with enough work per group becomes implicit GEMM, Im2Col (the input gathered
/// straight into GEMM panels, padding as zeros) followed by ConvGemm (weights [K/group, C/group*R*S] times the
/// panels, bias as the accumulator's start), so it runs on the same register-blocked microkernel as matrix
/// products. Depthwise and other thin convolutions (fewer than <see cref="MinDepth"/> products per output or
/// fewer than one register tile of output channels per group) stay direct, where GEMM would waste the tile.
/// Requires: a verified graph. Guarantees: same values; Im2Col results are ordinary intermediates in the arena.
/// </summary>
internal sealed class LowerConvToGemm : IPass
{
    /// <summary>C/group * R * S below this is too shallow a product for the GEMM tile to pay off.</summary>
    public const int MinDepth = 8;

    public string Name => nameof(LowerConvToGemm);

    public Graph Run(Graph graph)
    {
        if (!graph.Nodes.Any(n => IsCandidate(graph, n))) return graph;
        var rewriter = new GraphRewriter(graph);
        foreach (var node in graph.Nodes)
        {
            if (!IsCandidate(graph, node))
            {
                rewriter.Copy(node);
                continue;
            }

            var w = graph.TypeOf(node.Inputs[1]);
            var attrs = node.Attrs;
            var colAttrs = Attrs.Of(
                Attr.OfInts(AttrNames.Kernel, w.Shape[2], w.Shape[3]),
                Attr.OfInts(AttrNames.Strides, attrs.Ints(AttrNames.Strides)),
                Attr.OfInts(AttrNames.Pads, attrs.Ints(AttrNames.Pads)),
                Attr.OfInts(AttrNames.Dilations, attrs.Ints(AttrNames.Dilations)),
                Attr.OfInt(AttrNames.Group, attrs.Int(AttrNames.Group)));
            var x = graph.TypeOf(node.Inputs[0]);
            var colType = ShapeInference.Infer(OpKind.Im2Col, new[] { x }, colAttrs).Type!;
            int col = rewriter.Add(OpKind.Im2Col, new[] { rewriter.Map(node.Inputs[0]) }, colAttrs, colType);
            var inputs = new List<int> { col, rewriter.Map(node.Inputs[1]) };
            if (node.Inputs.Count > 2) inputs.Add(rewriter.Map(node.Inputs[2]));
            var outType = graph.TypeOf(node.Output);
            rewriter.Add(OpKind.ConvGemm, inputs, Attrs.Of(Attr.OfInt(AttrNames.Group, attrs.Int(AttrNames.Group)), Attr.OfInts(AttrNames.Shape, outType.ShapeArray())), outType, replaces: node.Output);
        }

        return rewriter.Finish();
    }

    private static bool IsCandidate(Graph graph, Node node)
    {
        if (node.Op != OpKind.Conv2d) return false;
        var w = graph.TypeOf(node.Inputs[1]);
        int group = (int)node.Attrs.Int(AttrNames.Group);
        return w.Shape[1] * w.Shape[2] * w.Shape[3] >= MinDepth && w.Shape[0] / group >= GemmLayout.TileRows;
    }
}
