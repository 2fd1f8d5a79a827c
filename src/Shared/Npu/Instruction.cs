// Linked as source into Aot.Runtime and Aot.Generator. Encoder/decoder of the fixed 32-byte instruction word.
using System;
using System.Runtime.InteropServices;

#if AOT_GENERATOR
namespace Aot.Generator.Npu;
#else
namespace Aot.Npu;
#endif

/// <summary>
/// One decoded NPU-1 instruction. Plain data: each format (docs/npu/isa.md) uses a subset of the operand fields
/// and the encoding of that format writes only those; every other byte of the word is reserved and zero.
/// Decoding never fails (it reads whatever is there); <see cref="FirstNonCanonicalByte"/> tells the loader whether
/// the word was the canonical encoding of what it decodes to, which is how reserved bytes and unknown opcodes are
/// caught in one place.
/// </summary>
public struct Instruction : IEquatable<Instruction>
{
    public const int Size = 32;

    public Opcode Op;
    public byte Flags;
    public byte WaitSemaphore;
    public byte SignalSemaphore;
    public uint WaitValue;

    // DMA_LD / DMA_ST
    public byte Channel;
    public Region Region;
    public byte PadBefore;
    public byte PadAfter;
    /// <summary>DMA: rows moved; MXU_LW: weight rows (K); MXU_MM: A rows (m); V_*: rows.</summary>
    public int Rows;
    public int RowBytes;
    public uint DramOffset;
    public uint DramStride;
    /// <summary>DMA and MXU: scratchpad byte address (DMA local side, MXU_LW weights, MXU_MM A operand).</summary>
    public uint Local;
    public uint LocalStride;

    // MXU_LW / MXU_MM
    /// <summary>MXU_LW: weight columns (N, at most 32).</summary>
    public int Cols;
    /// <summary>MXU_MM: elements per A row (K, at most 32).</summary>
    public int K;
    public int AccRow;
    public int AccStride;

    // V_*
    /// <summary>V_BIN/V_IMM: <see cref="VBinaryOp"/>; V_ACT: <see cref="VActivation"/>; V_RED: <see cref="VReduceOp"/>;
    /// V_CVT: destination <see cref="NpuDType"/>.</summary>
    public byte SubOp;
    /// <summary>32-lane vectors per row.</summary>
    public int Vectors;
    public uint Dst;
    public uint Src1;
    public uint Src2;
    public int DstStride;
    public int Src1Stride;
    public int Src2Stride;
    /// <summary>V_CVT: source <see cref="NpuDType"/>.</summary>
    public byte Aux;
    /// <summary>V_IMM/V_ACT/V_RED/V_FILL/V_CVT immediate (fp32 bits, or int32 with <see cref="InstructionFlags.VInt"/>).</summary>
    public uint Imm;

    // MARK
    /// <summary>MARK: byte offset of the region's name in the STRINGS section.</summary>
    public uint Name;

    public float ImmFloat
    {
        readonly get => new FloatBits { U = Imm }.F;
        set => Imm = new FloatBits { F = value }.U;
    }

    public readonly bool Waits => WaitSemaphore != InstructionFlags.NoSemaphore;
    public readonly bool Signals => SignalSemaphore != InstructionFlags.NoSemaphore;

    /// <summary>The queue this instruction goes to (control instructions run in the dispatcher).</summary>
    public readonly Unit Unit => Op switch
    {
        Opcode.DmaLoad or Opcode.DmaStore => (Unit)Channel,
        Opcode.MxuLoadWeights or Opcode.MxuMatmul => Unit.Mxu,
        >= Opcode.VBinary and <= Opcode.VFill => Unit.Vpu,
        Opcode.Wait when Flags is > 0 and <= (byte)Unit.Vpu + 1 => (Unit)(Flags - 1),
        _ => Unit.Dispatcher,
    };

    public static Instruction Create(Opcode op, byte flags = 0) => new()
    {
        Op = op,
        Flags = flags,
        WaitSemaphore = InstructionFlags.NoSemaphore,
        SignalSemaphore = InstructionFlags.NoSemaphore,
    };

    public readonly Instruction WithWait(int semaphore, uint value)
    {
        var copy = this;
        copy.WaitSemaphore = (byte)semaphore;
        copy.WaitValue = value;
        return copy;
    }

    public readonly Instruction WithSignal(int semaphore)
    {
        var copy = this;
        copy.SignalSemaphore = (byte)semaphore;
        return copy;
    }

    public static Instruction Halt() => Create(Opcode.Halt);

    /// <summary>A WAIT placed in <paramref name="queue"/>: that queue's head waits for semaphore >= value (one cycle
    /// there), the dispatcher does not. Lets an instruction depend on two semaphores.</summary>
    public static Instruction QueuedWait(Unit queue, int semaphore, uint value) =>
        Create(Opcode.Wait, (byte)((byte)queue + 1)).WithWait(semaphore, value);

    public static Instruction Mark(uint name, bool end) => new Instruction
    {
        Op = Opcode.Mark,
        Flags = end ? InstructionFlags.MarkEnd : (byte)0,
        WaitSemaphore = InstructionFlags.NoSemaphore,
        SignalSemaphore = InstructionFlags.NoSemaphore,
        Name = name,
    };

    /// <summary>DMA_LD (DRAM -> scratchpad, with zero rows before/after) or DMA_ST (scratchpad -> DRAM).</summary>
    public static Instruction Dma(bool load, int channel, Region region, uint dramOffset, uint dramStride, uint local, uint localStride,
        int rows, int rowBytes, int padBefore = 0, int padAfter = 0)
    {
        var i = Create(load ? Opcode.DmaLoad : Opcode.DmaStore);
        i.Channel = (byte)channel;
        i.Region = region;
        i.DramOffset = dramOffset;
        i.DramStride = dramStride;
        i.Local = local;
        i.LocalStride = localStride;
        i.Rows = rows;
        i.RowBytes = rowBytes;
        i.PadBefore = (byte)padBefore;
        i.PadAfter = (byte)padAfter;
        return i;
    }

    /// <summary>MXU_LW: load a K x N (rows x cols) weight block into the shadow buffer.</summary>
    public static Instruction LoadWeights(NpuDType dtype, uint local, uint localStride, int rows, int cols, bool transpose = false)
    {
        var i = Create(Opcode.MxuLoadWeights, (byte)((byte)dtype | (transpose ? InstructionFlags.MxuTranspose : 0)));
        i.Local = local;
        i.LocalStride = localStride;
        i.Rows = rows;
        i.Cols = cols;
        return i;
    }

    /// <summary>MXU_MM: acc[accRow + r*accStride][0..32) (+)= A[r][0..k) @ W for r in [0, m).</summary>
    public static Instruction Matmul(NpuDType dtype, uint a, uint aStride, int m, int k, int accRow, int accStride, bool accumulate, bool swapWeights)
    {
        var i = Create(Opcode.MxuMatmul, (byte)((byte)dtype
            | (accumulate ? InstructionFlags.MxuAccumulate : 0)
            | (swapWeights ? InstructionFlags.MxuSwapWeights : 0)));
        i.Local = a;
        i.LocalStride = aStride;
        i.Rows = m;
        i.K = k;
        i.AccRow = accRow;
        i.AccStride = accStride;
        return i;
    }

    /// <summary>Any V_* instruction: rows x vectors 32-lane vectors at dst/s1/s2 with byte strides between rows.</summary>
    public static Instruction Vector(Opcode op, byte subOp, int rows, int vectors, uint dst, int dstStride,
        uint src1 = 0, int src1Stride = 0, uint src2 = 0, int src2Stride = 0, byte flags = 0, uint imm = 0, byte aux = 0)
    {
        var i = Create(op, flags);
        i.SubOp = subOp;
        i.Rows = rows;
        i.Vectors = vectors;
        i.Dst = dst;
        i.DstStride = dstStride;
        i.Src1 = src1;
        i.Src1Stride = src1Stride;
        i.Src2 = src2;
        i.Src2Stride = src2Stride;
        i.Imm = imm;
        i.Aux = aux;
        return i;
    }

    public static uint BitsOf(float value) => new FloatBits { F = value }.U;

    public readonly void Encode(Span<byte> word)
    {
        if (word.Length < Size) throw new ArgumentException("an instruction word is 32 bytes", nameof(word));
        word.Slice(0, Size).Clear();
        word[0] = (byte)Op;
        word[1] = Flags;
        word[2] = WaitSemaphore;
        word[3] = SignalSemaphore;
        U32(word, 4, WaitValue);
        switch (Op)
        {
            case Opcode.Mark:
                U32(word, 8, Name);
                break;
            case Opcode.DmaLoad:
            case Opcode.DmaStore:
                word[8] = Channel;
                word[9] = (byte)Region;
                word[10] = PadBefore;
                word[11] = PadAfter;
                U16(word, 12, Rows);
                U16(word, 14, RowBytes);
                U32(word, 16, DramOffset);
                U32(word, 20, DramStride);
                U32(word, 24, Local);
                U32(word, 28, LocalStride);
                break;
            case Opcode.MxuLoadWeights:
                U32(word, 8, Local);
                U32(word, 12, LocalStride);
                U8(word, 16, Rows);
                U8(word, 17, Cols);
                break;
            case Opcode.MxuMatmul:
                U32(word, 8, Local);
                U32(word, 12, LocalStride);
                U16(word, 16, Rows);
                U16(word, 18, AccRow);
                U16(word, 20, AccStride);
                U8(word, 22, K);
                break;
            case >= Opcode.VBinary and <= Opcode.VFill:
                word[8] = SubOp;
                U8(word, 9, Vectors);
                U16(word, 10, Rows);
                U24(word, 12, Dst);
                U24(word, 15, Src1);
                U24(word, 18, Src2);
                U16(word, 21, DstStride);
                U16(word, 23, Src1Stride);
                U16(word, 25, Src2Stride);
                word[27] = Aux;
                U32(word, 28, Imm);
                break;
        }
    }

    public static Instruction Decode(ReadOnlySpan<byte> word)
    {
        if (word.Length < Size) throw new ArgumentException("an instruction word is 32 bytes", nameof(word));
        var i = new Instruction
        {
            Op = (Opcode)word[0],
            Flags = word[1],
            WaitSemaphore = word[2],
            SignalSemaphore = word[3],
            WaitValue = ReadU32(word, 4),
        };
        switch (i.Op)
        {
            case Opcode.Mark:
                i.Name = ReadU32(word, 8);
                break;
            case Opcode.DmaLoad:
            case Opcode.DmaStore:
                i.Channel = word[8];
                i.Region = (Region)word[9];
                i.PadBefore = word[10];
                i.PadAfter = word[11];
                i.Rows = ReadU16(word, 12);
                i.RowBytes = ReadU16(word, 14);
                i.DramOffset = ReadU32(word, 16);
                i.DramStride = ReadU32(word, 20);
                i.Local = ReadU32(word, 24);
                i.LocalStride = ReadU32(word, 28);
                break;
            case Opcode.MxuLoadWeights:
                i.Local = ReadU32(word, 8);
                i.LocalStride = ReadU32(word, 12);
                i.Rows = word[16];
                i.Cols = word[17];
                break;
            case Opcode.MxuMatmul:
                i.Local = ReadU32(word, 8);
                i.LocalStride = ReadU32(word, 12);
                i.Rows = ReadU16(word, 16);
                i.AccRow = ReadU16(word, 18);
                i.AccStride = ReadU16(word, 20);
                i.K = word[22];
                break;
            case >= Opcode.VBinary and <= Opcode.VFill:
                i.SubOp = word[8];
                i.Vectors = word[9];
                i.Rows = ReadU16(word, 10);
                i.Dst = ReadU24(word, 12);
                i.Src1 = ReadU24(word, 15);
                i.Src2 = ReadU24(word, 18);
                i.DstStride = ReadU16(word, 21);
                i.Src1Stride = ReadU16(word, 23);
                i.Src2Stride = ReadU16(word, 25);
                i.Aux = word[27];
                i.Imm = ReadU32(word, 28);
                break;
        }

        return i;
    }

    /// <summary>
    /// Index of the first byte of <paramref name="word"/> that differs from the canonical encoding of what it decodes
    /// to (a reserved byte that is not zero), or -1 when the word is canonical. Unknown opcodes are canonical only if
    /// their whole operand area is zero; the loader rejects them separately.
    /// </summary>
    public static int FirstNonCanonicalByte(ReadOnlySpan<byte> word)
    {
        Span<byte> canonical = stackalloc byte[Size];
        Decode(word).Encode(canonical);
        for (int b = 0; b < Size; b++)
        {
            if (canonical[b] != word[b]) return b;
        }

        return -1;
    }

    public readonly bool Equals(Instruction other)
    {
        Span<byte> a = stackalloc byte[Size];
        Span<byte> b = stackalloc byte[Size];
        Encode(a);
        other.Encode(b);
        return a.SequenceEqual(b);
    }

    public override readonly bool Equals(object? obj) => obj is Instruction other && Equals(other);

    public override readonly int GetHashCode()
    {
        Span<byte> a = stackalloc byte[Size];
        Encode(a);
        int h = 17;
        foreach (byte b in a) h = h * 31 + b;
        return h;
    }

    private static void U8(Span<byte> w, int at, int v)
    {
        if ((uint)v > 0xFF) throw new ArgumentOutOfRangeException(nameof(v), v, $"operand at byte {at} does not fit in 8 bits");
        w[at] = (byte)v;
    }

    private static void U16(Span<byte> w, int at, int v)
    {
        if ((uint)v > 0xFFFF) throw new ArgumentOutOfRangeException(nameof(v), v, $"operand at byte {at} does not fit in 16 bits");
        w[at] = (byte)v;
        w[at + 1] = (byte)(v >> 8);
    }

    private static void U24(Span<byte> w, int at, uint v)
    {
        if (v > 0xFFFFFF) throw new ArgumentOutOfRangeException(nameof(v), v, $"operand at byte {at} does not fit in 24 bits");
        w[at] = (byte)v;
        w[at + 1] = (byte)(v >> 8);
        w[at + 2] = (byte)(v >> 16);
    }

    private static void U32(Span<byte> w, int at, uint v)
    {
        w[at] = (byte)v;
        w[at + 1] = (byte)(v >> 8);
        w[at + 2] = (byte)(v >> 16);
        w[at + 3] = (byte)(v >> 24);
    }

    private static int ReadU16(ReadOnlySpan<byte> w, int at) => w[at] | (w[at + 1] << 8);

    private static uint ReadU24(ReadOnlySpan<byte> w, int at) => (uint)(w[at] | (w[at + 1] << 8) | (w[at + 2] << 16));

    private static uint ReadU32(ReadOnlySpan<byte> w, int at) => (uint)(w[at] | (w[at + 1] << 8) | (w[at + 2] << 16) | (w[at + 3] << 24));

    [StructLayout(LayoutKind.Explicit)]
    private struct FloatBits
    {
        [FieldOffset(0)] public float F;
        [FieldOffset(0)] public uint U;
    }
}
