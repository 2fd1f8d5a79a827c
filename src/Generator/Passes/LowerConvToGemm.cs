using System.Linq;
using Aot.Generator.IR;

namespace Aot.Generator.Passes;

/// <summary>
/// CPU lowering: a convolution with enough work per group becomes ConvGemm, implicit GEMM on the register-blocked
/// microkernel of matrix products (weights [K/group, C/group*R*S] times the input's im2col matrix, which the kernel reads
/// tile by tile and never stores). Depthwise and other thin convolutions (fewer than <see cref="MinDepth"/> products
/// per output or fewer than one register tile of output channels per group) stay direct, where GEMM would waste the tile.
/// Requires: a verified graph. Guarantees: same values, same inputs and attributes; only the op changes.
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

            rewriter.Add(OpKind.ConvGemm, node.Inputs.Select(rewriter.Map).ToList(), node.Attrs, graph.TypeOf(node.Output), replaces: node.Output);
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
