// Linked as source into Aot.Runtime and Aot.Generator: the packed-B layout the CPU GEMM microkernel reads,
// which the generator must size and the runtime must produce, defined once.
#if AOT_GENERATOR
namespace Aot.Generator.IR;
#else
namespace Aot.Runtime.Cpu;
#endif

#if AOT_GENERATOR
internal
#else
public
#endif
static class GemmLayout
{
    /// <summary>Columns per packed B panel: two Vector512 or four Vector256 of floats.</summary>
    public const int PanelWidth = 32;

    /// <summary>Rows of C the microkernel keeps in registers.</summary>
    public const int TileRows = 6;

    /// <summary>Floats needed to pack a k x n B operand (n rounded up to whole panels).</summary>
    public static int PackedLength(int k, int n) => (n + PanelWidth - 1) / PanelWidth * PanelWidth * k;

    /// <summary>
    /// Whether a convolution run as implicit GEMM reads the rows of its im2col tiles in place (from a zero-padded copy of
    /// the image) rather than packing them: horizontal stride 1, so a tile's row is consecutive floats, and output rows
    /// that waste at most a quarter of the lanes of their last tile, since there a tile never spans two output rows.
    /// </summary>
    public static bool ConvReadsRowsInPlace(int strideW, int outW) =>
        strideW == 1 && outW * 4 >= (outW + PanelWidth - 1) / PanelWidth * PanelWidth * 3;
}
