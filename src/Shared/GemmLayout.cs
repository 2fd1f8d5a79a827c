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

    /// <summary>Points of the Winograd F(2x2, 3x3) transform domain: a transformed 3x3 filter, 4x4 input tile or product
    /// has 16 (the generator sizes the transformed weights, the runtime computes them).</summary>
    public const int WinogradPoints = 16;

    /// <summary>Floats needed to pack a k x n B operand (n rounded up to whole panels).</summary>
    public static int PackedLength(int k, int n) => (n + PanelWidth - 1) / PanelWidth * PanelWidth * k;

    /// <summary>
    /// Whether a convolution run as implicit GEMM reads the rows of its im2col tiles in place, from a zero-padded copy of
    /// the image (<see cref="ConvPaddedLength"/>, its columns split by stride phase so a tile's row is consecutive
    /// floats), rather than packing them: when its output rows waste at most a quarter of the lanes of their last tile
    /// (there a tile never spans two output rows) and the padded copy is smaller than the im2col matrix whose packing it
    /// replaces (not so for 1x1 kernels, or strides that skip most of the image).
    /// </summary>
    public static bool ConvReadsRowsInPlace(int channels, int kernelH, int kernelW, int strideH, int strideW, int dilationH, int dilationW, int outH, int outW) =>
        outW * 4 >= (outW + PanelWidth - 1) / PanelWidth * PanelWidth * 3
        && ConvPaddedLength(channels, kernelH, kernelW, strideH, strideW, dilationH, dilationW, outH, outW) < (long)channels * kernelH * kernelW * outH * outW;

    /// <summary>Floats of the zero-padded image a convolution reads in place: per channel, the rows and columns its
    /// outputs reach (columns rounded up to whole stride phases), plus one panel of slack for the lanes past a row.</summary>
    public static long ConvPaddedLength(int channels, int kernelH, int kernelW, int strideH, int strideW, int dilationH, int dilationW, int outH, int outW) =>
        (long)channels * ConvPaddedRows(kernelH, strideH, dilationH, outH) * ConvPaddedRowLength(kernelW, strideW, dilationW, outW) + PanelWidth;

    /// <summary>Rows per channel of the padded image: those the outputs' kernel windows reach.</summary>
    public static int ConvPaddedRows(int kernelH, int strideH, int dilationH, int outH) => (outH - 1) * strideH + (kernelH - 1) * dilationH + 1;

    /// <summary>Floats per row of the padded image: the columns the windows reach, rounded up to whole stride phases.</summary>
    public static int ConvPaddedRowLength(int kernelW, int strideW, int dilationW, int outW) =>
        ((outW - 1) * strideW + (kernelW - 1) * dilationW + strideW) / strideW * strideW;
}
