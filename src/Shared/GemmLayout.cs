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
}
