using Aot.Npu;

namespace Aot.Runtime.Npu;

/// <summary>A named tensor of the program's DRAM regions (the SYMBOLS section): where inputs go and outputs come from.
/// <paramref name="Layout"/> is NpuContainer.LayoutRowMajor or LayoutChannelsLast (docs/npu/isa.md).</summary>
public sealed record NpuSymbol(string Name, Region Region, NpuDType DType, int Offset, int ByteSize, int[] Shape, float Scale, int ZeroPoint, byte Layout = 0);

/// <summary>
/// A program the loader has fully validated (docs/npu/isa.md, "What the loader checks"): the simulator trusts
/// every footprint and every wait in it. Build one only through NpuLoader.
/// </summary>
public sealed class NpuProgram
{
    internal NpuProgram(Instruction[] code, byte[] constants, int inputBytes, int outputBytes, int workspaceBytes,
        NpuSymbol[] symbols, uint[] semaphoreInit, string[] markNames)
    {
        Code = code;
        Constants = constants;
        InputBytes = inputBytes;
        OutputBytes = outputBytes;
        WorkspaceBytes = workspaceBytes;
        Symbols = symbols;
        SemaphoreInit = semaphoreInit;
        MarkNames = markNames;
    }

    public Instruction[] Code { get; }
    public byte[] Constants { get; }
    public int InputBytes { get; }
    public int OutputBytes { get; }
    public int WorkspaceBytes { get; }
    public NpuSymbol[] Symbols { get; }
    public uint[] SemaphoreInit { get; }

    /// <summary>For each instruction index, the name of its MARK (empty for other instructions).</summary>
    public string[] MarkNames { get; }
}
