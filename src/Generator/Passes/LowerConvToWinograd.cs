using System.Linq;
using Aot.Generator.Backends.Cpu;
using Aot.Generator.IR;

namespace Aot.Generator.Passes;

/// <summary>
/// CPU lowering, after <see cref="LowerSmallConv"/> and before <see cref="LowerConvToGemm"/>: a 3x3 convolution with
/// stride 1, no dilation, one group and load-time weights becomes <see cref="OpKind.WinogradConv"/> (Winograd's
/// F(2x2, 3x3): 16 multiplies per 2x2 output tile and channel pair instead of 36) when it has enough channels for the
/// transform domain's 16 products [K, C] @ [C, tiles] to keep the GEMM microkernel busy and at least one panel of
/// output tiles. Its weights become <see cref="OpKind.WinogradWeights"/>, transformed once at load time.
/// Measured against implicit GEMM (ConvGemm), one thread, Zen 4: 32 -> 32 channels on 64 x 64, 695 -> 485 us; 64 -> 64
/// on 32 x 32, 668 -> 394 us; 128 -> 128 on 14 x 14, 727 -> 474 us; while 64 -> 64 on 8 x 8 (16 tiles) and 32 -> 32 on
/// 7 x 7 lose (62 -> 67 us, 22 -> 25 us), and below 16 channels the products are too shallow.
/// The result differs from the direct sum by float rounding in the transforms (inputs and products are added in
/// groups of up to 9 values): relative differences of about 1e-6, against 1e-7 for the direct sum.
/// Requires: a verified graph. Guarantees: same values up to that rounding; WinogradWeights depend on load-time values only.
/// </summary>
internal sealed class LowerConvToWinograd : IPass
{
    /// <summary>Input and output channels below this make products too shallow (k = C) or too short (m = K).</summary>
    public const int MinChannels = 16;

    private readonly CpuTarget _target;

    public LowerConvToWinograd(CpuTarget target) => _target = target;

    public string Name => nameof(LowerConvToWinograd);

    public Graph Run(Graph graph)
    {
        var loadTime = LoadTimeValues.Of(graph);
        if (!graph.Nodes.Any(n => IsCandidate(graph, n, loadTime))) return graph;

        var rewriter = new GraphRewriter(graph);
        foreach (var node in graph.Nodes)
        {
            if (!IsCandidate(graph, node, loadTime))
            {
                rewriter.Copy(node);
                continue;
            }

            var w = graph.TypeOf(node.Inputs[1]);
            int channels = w.Shape[1], m = w.Shape[0];
            var y = graph.TypeOf(node.Output);
            int tiles = (y.Shape[2] + 1) / 2 * ((y.Shape[3] + 1) / 2);
            int u = rewriter.Add(OpKind.WinogradWeights, new[] { rewriter.Map(node.Inputs[1]) }, Attrs.Of(),
                new TensorType(DType.Float32, GemmLayout.WinogradPoints, m, channels));
            var inputs = node.Inputs.Select(rewriter.Map).ToArray();
            inputs[1] = u;
            var attrs = Attrs.Of(
                Attr.OfInts(AttrNames.Pads, node.Attrs.Ints(AttrNames.Pads)),
                Attr.OfInt(AttrNames.Block, CpuTiling.WinogradBlock(channels, m, tiles, _target)));
            rewriter.Add(OpKind.WinogradConv, inputs, attrs, y, replaces: node.Output);
        }

        return rewriter.Finish();
    }

    private static bool IsCandidate(Graph graph, Node node, bool[] loadTime)
    {
        if (node.Op != OpKind.Conv2d || node.Attrs.Int(AttrNames.Group) != 1 || !loadTime[node.Inputs[1]]) return false;
        if (node.Attrs.Ints(AttrNames.Strides).Any(s => s != 1) || node.Attrs.Ints(AttrNames.Dilations).Any(d => d != 1)) return false;
        var w = graph.TypeOf(node.Inputs[1]);
        var y = graph.TypeOf(node.Output);
        if (w.Rank != 4 || w.Shape[2] != 3 || w.Shape[3] != 3 || w.Shape[0] < MinChannels || w.Shape[1] < MinChannels) return false;
        return (y.Shape[2] + 1) / 2 * ((y.Shape[3] + 1) / 2) >= GemmLayout.PanelWidth;
    }
}
