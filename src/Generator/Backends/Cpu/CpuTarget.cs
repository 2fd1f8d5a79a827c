using Aot.Generator.IR;

namespace Aot.Generator.Backends.Cpu;

/// <summary>
/// What the CPU cost model knows about the machine the code will run on. The defaults describe the machines this
/// project is measured on (AMD Zen 4: 32 KiB L1d and 1 MiB L2 per core, 32 vector registers, 16 floats per
/// Vector512); the GEMM microkernel adapts its vector width at run time, the cache blocking comes from here.
/// </summary>
internal sealed record CpuTarget(int L1Bytes, int L2Bytes, int VectorFloats)
{
    public static readonly CpuTarget Default = new(L1Bytes: 32 * 1024, L2Bytes: 1024 * 1024, VectorFloats: 16);
}

/// <summary>
/// Cache blocking for the packed GEMM (BLIS-style loops around a 6 x 32 register tile):
/// <list type="bullet">
/// <item>kc: depth of a k block. Each C tile is loaded and stored once per k block, so kc should be large; the
/// kc x 32 slice of a B panel is streamed sequentially and reused for every row tile, so it must stay within
/// about two L1s (hardware prefetch covers the rest). Measured here: kc = 512 beats 128 and 256 by 10-15% at
/// 512^3 and 1024^3.</item>
/// <item>mc: rows of A per block; an mc x kc block of A is re-read for every B panel, so it must stay within
/// a quarter of L2 (the rest holds B panels and C).</item>
/// </list>
/// </summary>
internal static class CpuTiling
{
    public static (int Kc, int Mc) Gemm(int m, int n, int k, CpuTarget target)
    {
        int kc = target.L1Bytes * 2 / (GemmLayout.PanelWidth * sizeof(float));
        kc = System.Math.Max(1, System.Math.Min(k, kc));
        int mc = target.L2Bytes / 4 / (kc * sizeof(float));
        mc = System.Math.Max(GemmLayout.TileRows, mc / GemmLayout.TileRows * GemmLayout.TileRows);
        return (kc, System.Math.Min(mc, RoundUp(m, GemmLayout.TileRows)));
    }

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

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
