using System.Collections.Immutable;
using System.Linq;
using Aot.Generator.IR;

namespace Aot.Generator.Backends.Cpu;

/// <summary>
/// What the CPU cost model knows about the machine the code will run on. The defaults describe the machines this
/// project is measured on (AMD Zen 4: 32 KiB L1d and 1 MiB L2 per core, 32 MiB of shared L3, 32 vector registers,
/// 16 floats per Vector512); the GEMM microkernel adapts its vector width at run time, the cache blocking and the
/// choice of non-temporal stores come from here.
/// </summary>
internal sealed record CpuTarget(int L1Bytes, int L2Bytes, long LastLevelCacheBytes, int VectorFloats)
{
    public static readonly CpuTarget Default = new(L1Bytes: 32 * 1024, L2Bytes: 1024 * 1024, LastLevelCacheBytes: 32L * 1024 * 1024, VectorFloats: 16);
}

/// <summary>
/// Cache blocking for the packed GEMM (BLIS-style loops around a 6 x 32 register tile):
/// <list type="bullet">
/// <item>kc: depth of a k block. Each C tile is loaded and stored once per k block, so kc should be large: the
/// whole of k when it can. The kc x 32 slice of a B panel is read sequentially once per row tile, and the hardware
/// prefetcher streams it from L2 even when it is several times L1; what bounds kc is that a block of A at least 32
/// rows high (mc x kc) must stay within a quarter of L2: kc up to 2048 here. Measured (Sgemm.Multiply, one thread,
/// GFLOP/s against kc = 512): 1024^3 113 vs 106, 64 x 512 x 784 115 vs 114, 256 x 512 x 2048 115 vs 114 (earlier:
/// 512 beat 128 and 256 by 10-15%).</item>
/// <item>mc: rows of A per block; an mc x kc block of A is re-read for every B panel, so it must stay within
/// a quarter of L2 (the rest holds B panels and C).</item>
/// </list>
/// </summary>
internal static class CpuTiling
{
    public static (int Kc, int Mc) Gemm(int m, int n, int k, CpuTarget target)
    {
        var (kc, mc) = GemmAnyRows(k, target);
        return (kc, System.Math.Min(mc, RoundUp(m, GemmLayout.TileRows)));
    }

    /// <summary>The cache blocks of a product with any number of rows (the GEMM clamps mc to them): they depend on
    /// k only, so they stay the same when the rows change with a dynamic size.</summary>
    public static (int Kc, int Mc) GemmAnyRows(int k, CpuTarget target)
    {
        int kc = target.L2Bytes / 4 / (MinBlockRows * sizeof(float));
        kc = System.Math.Max(1, System.Math.Min(k, kc));
        int mc = target.L2Bytes / 4 / (kc * sizeof(float));
        return (kc, System.Math.Max(GemmLayout.TileRows, mc / GemmLayout.TileRows * GemmLayout.TileRows));
    }

    /// <summary>
    /// Output tiles per block of a Winograd convolution: its transformed inputs (16 x channels x block floats) and
    /// products (16 x m x block) together within half of L2, in whole GEMM panels; at least one panel, at most what
    /// covers all <paramref name="tiles"/>.
    /// </summary>
    public static int WinogradBlock(int channels, int m, int tiles, CpuTarget target)
    {
        int block = target.L2Bytes / 2 / (GemmLayout.WinogradPoints * sizeof(float) * (channels + m)) / GemmLayout.PanelWidth * GemmLayout.PanelWidth;
        return System.Math.Max(GemmLayout.PanelWidth, System.Math.Min(block, RoundUp(tiles, GemmLayout.PanelWidth)));
    }

    /// <summary>The fewest rows of A a block should hold: kc is capped so that this many fit a quarter of L2.</summary>
    private const int MinBlockRows = 32;

    /// <summary>
    /// The cache blocks of a PackedGemm or ConvGemm node: its kc and mc attributes (set by the AssignGemmBlocks pass,
    /// from the tuning file or the cost model), or the cost model's choice when that pass was disabled. Source says
    /// which, for the generated code's comments.
    /// </summary>
    public static (int Kc, int Mc, string Source) Of(Node node, int m, int n, int k)
    {
        if (node.Attrs.Has(AttrNames.Kc) && node.Attrs.Has(AttrNames.Mc))
        {
            return ((int)node.Attrs.Int(AttrNames.Kc), (int)node.Attrs.Int(AttrNames.Mc), node.Attrs.Has(AttrNames.Tuned) ? "tuning file" : "cost model");
        }

        var (kc, mc) = Gemm(m, n, k, CpuTarget.Default);
        return (kc, mc, "cost model");
    }

    /// <summary>
    /// The graph of a probe size with the cache blocks of the bound's graph (a model with a dynamic size): blocks
    /// chosen for the bound are valid for every smaller product (the GEMM clamps them), and must not change with the
    /// size, since they are not a polynomial in it. Each GEMM node gets the bound's kc and mc: a PackedGemm or ConvGemm
    /// from its attributes, a MatMul of two activations from the cost model at the bound's sizes.
    /// </summary>
    public static Graph PinBlocks(Graph bound, Graph probe)
    {
        if (bound.Nodes.Count != probe.Nodes.Count || bound.Nodes.Zip(probe.Nodes, (b, p) => b.Op != p.Op).Any(d => d))
        {
            throw new DynamicSizeException("the optimized graph has other operations at other sizes");
        }

        return probe with
        {
            Nodes = new EquatableArray<Node>(probe.Nodes.Select((node, i) =>
            {
                var at = bound.Nodes[i];
                (long Kc, long Mc)? blocks = at.Attrs.Has(AttrNames.Kc) && at.Attrs.Has(AttrNames.Mc) ? (at.Attrs.Int(AttrNames.Kc), at.Attrs.Int(AttrNames.Mc))
                    : at.Op == OpKind.MatMul ? Blocks(CpuKernels.MatMulDims(bound, at))
                    : null;
                return blocks is { } b ? node with { Attrs = node.Attrs.With(Attr.OfInt(AttrNames.Kc, b.Kc)).With(Attr.OfInt(AttrNames.Mc, b.Mc)) } : node;
            }).ToImmutableArray()),
        };

        static (long, long) Blocks((int M, int N, int K) p) => Gemm(p.M, p.N, p.K, CpuTarget.Default);
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
