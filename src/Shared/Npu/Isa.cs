// Linked as source into Aot.Runtime and Aot.Generator: the NPU-1 instruction set, one definition for the
// compiler that emits it and the loader/simulator that run it. Encoding tables: docs/npu/isa.md.
#if AOT_GENERATOR
namespace Aot.Generator.Npu;
#else
namespace Aot.Npu;
#endif

public enum Opcode : byte
{
    Nop = 0x00,
    Halt = 0x01,
    Wait = 0x02,
    Signal = 0x03,
    Fence = 0x04,
    Mark = 0x05,
    DmaLoad = 0x10,
    DmaStore = 0x11,
    MxuLoadWeights = 0x20,
    MxuMatmul = 0x21,
    VBinary = 0x30,
    VImmediate = 0x31,
    VActivation = 0x32,
    VReduce = 0x33,
    VConvert = 0x34,
    VMove = 0x35,
    VFill = 0x36,
}

/// <summary>The in-order queues the dispatcher routes to. Control instructions run in the dispatcher itself.</summary>
public enum Unit : byte
{
    Dma0 = 0,
    Dma1 = 1,
    Dma2 = 2,
    Dma3 = 3,
    Mxu = 4,
    Vpu = 5,
    Dispatcher = 6,
}

/// <summary>DRAM regions a DMA addresses (offsets are relative to the region).</summary>
public enum Region : byte
{
    Const = 0,
    Input = 1,
    Output = 2,
    Workspace = 3,
}

/// <summary>Element types of the MXU operands and of V_CVT's narrow side.</summary>
public enum NpuDType : byte
{
    Int8 = 0,
    Float16 = 1,
    Float32 = 2,
    Int32 = 3,
}

public enum VBinaryOp : byte
{
    Add = 0,
    Sub = 1,
    Mul = 2,
    Max = 3,
    Min = 4,
    /// <summary>dst += s1 * s2.</summary>
    Mac = 5,
}

public enum VActivation : byte
{
    Identity = 0,
    Relu = 1,
    /// <summary>GELU, tanh form.</summary>
    Gelu = 2,
    Exp = 3,
    Tanh = 4,
    Sigmoid = 5,
    Rsqrt = 6,
    Reciprocal = 7,
}

public enum VReduceOp : byte
{
    Sum = 0,
    Max = 1,
    SumOfSquares = 2,
}

/// <summary>Flag bits of the instruction header, by instruction family.</summary>
public static class InstructionFlags
{
    /// <summary>WAIT: 0 makes the dispatcher wait; 1-6 put the wait in queue (unit + 1) instead, so a queue can wait
    /// on a second semaphore without stopping dispatch (see <see cref="Instruction.QueuedWait"/>).</summary>
    public const byte WaitQueueMask = 0x07;

    /// <summary>MARK: 0 opens the named region, 1 closes it.</summary>
    public const byte MarkEnd = 0x01;

    /// <summary>MXU_LW / MXU_MM: bits 0-1 hold the <see cref="NpuDType"/> (Int8 or Float16).</summary>
    public const byte MxuDTypeMask = 0x03;
    /// <summary>MXU_LW: the source holds the block as N rows of K elements; it is transposed on the way in.</summary>
    public const byte MxuTranspose = 0x04;
    /// <summary>MXU_MM: add into the accumulator instead of overwriting it.</summary>
    public const byte MxuAccumulate = 0x04;
    /// <summary>MXU_MM: first make the shadow weights (the last MXU_LW) active; without it the active weights are reused.</summary>
    public const byte MxuSwapWeights = 0x08;

    /// <summary>V_*: lanes are int32 instead of fp32.</summary>
    public const byte VInt = 0x01;
    /// <summary>V_*: s1 is one 32-lane vector per row, repeated for every vector of the row.</summary>
    public const byte VBroadcastS1 = 0x02;
    /// <summary>V_*: s2 is one 32-lane vector per row, repeated for every vector of the row.</summary>
    public const byte VBroadcastS2 = 0x04;
    /// <summary>V_ACT: no s2 operand (the bias is zero).</summary>
    public const byte VNoS2 = 0x08;
    /// <summary>V_RED: write the row's result to all 32 lanes of the destination vector, not only lane 0.</summary>
    public const byte VBroadcastResult = 0x10;

    public const byte NoSemaphore = 0xFF;
}
