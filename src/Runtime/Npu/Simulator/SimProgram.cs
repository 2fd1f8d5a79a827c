using System;
using Aot.Npu;

namespace Aot.Runtime.Npu;

/// <summary>Which memory a footprint lies in: the local address space (scratchpad, then accumulator) or a DRAM region.</summary>
internal enum SimSpace : byte
{
    Local = 0,
    Const = 1,
    Input = 2,
    Output = 3,
    Workspace = 4,
}

/// <summary>A strided footprint: <see cref="Rows"/> rows of <see cref="RowBytes"/> bytes, <see cref="Stride"/> apart.</summary>
internal struct SimFootprint
{
    public long Base;
    public long Stride;
    public int Rows;
    public int RowBytes;
    public SimSpace Space;
    public bool Reads;
    public bool Writes;

    public readonly long HullEnd => Base + (Rows - 1) * Stride + RowBytes;

    /// <summary>The first byte both footprints touch, or -1. Exact for strided rows (not just the hulls).</summary>
    public static long FirstOverlap(in SimFootprint a, in SimFootprint b)
    {
        if (a.Space != b.Space) return -1;
        if (a.Base >= b.HullEnd || b.Base >= a.HullEnd) return -1;
        // Walk the footprint with fewer rows; find each row's first intersecting row of the other analytically.
        ref readonly SimFootprint x = ref a.Rows <= b.Rows ? ref a : ref b;
        ref readonly SimFootprint y = ref a.Rows <= b.Rows ? ref b : ref a;
        int xRows = x.Stride == 0 ? 1 : x.Rows;
        for (int r = 0; r < xRows; r++)
        {
            long lo = x.Base + r * x.Stride, hi = lo + x.RowBytes;
            long yStart;
            if (y.Stride == 0 || y.Rows == 1)
            {
                yStart = y.Base;
                if (yStart < hi && yStart + y.RowBytes > lo) return Math.Max(lo, yStart);
                continue;
            }

            // Rows of y are ordered by start; the first whose end passes lo is the only candidate that can start before hi.
            long num = lo - y.RowBytes - y.Base;
            long first = num < 0 ? 0 : num / y.Stride + 1;
            if (first >= y.Rows) continue;
            yStart = y.Base + first * y.Stride;
            if (yStart < hi && yStart + y.RowBytes > lo) return Math.Max(lo, yStart);
        }

        return -1;
    }
}

/// <summary>
/// A program decoded once for the simulator: each instruction's unit, base cycles, DRAM bursts, memory footprints
/// and banks. Building it checks everything the simulator relies on for memory safety (opcodes, enums, semaphore
/// ids, every footprint inside its memory), so a program that did not come through the loader still cannot make the
/// simulator touch memory outside its arrays: it gets an <see cref="NpuRuntimeException"/> instead.
/// </summary>
internal sealed class SimProgram
{
    public const int LocalBanks = NpuTarget.ScratchpadBanks + NpuTarget.AccumulatorBanks;
    private const int AccBankBytes = NpuTarget.AccumulatorBytes / NpuTarget.AccumulatorBanks;

    public readonly NpuProgram Program;
    public readonly Instruction[] Code;
    /// <summary>Instructions that can run: up to and including the first HALT.</summary>
    public readonly int Length;
    public readonly Unit[] UnitOf;
    public readonly long[] BaseCycles;
    public readonly long[] Bursts;
    public readonly long[] Bytes;
    public readonly ushort[] Banks;
    public readonly int[] FpIndex;
    public readonly SimFootprint[] Fp;
    public readonly long[] RegionSizes;
    public readonly uint[] SemInit;

    public SimProgram(NpuProgram program)
    {
        Program = program ?? throw new ArgumentNullException(nameof(program));
        Code = program.Code ?? throw new NpuRuntimeException("the program has no code");
        RegionSizes = new long[]
        {
            program.Constants?.Length ?? 0, program.InputBytes, program.OutputBytes, program.WorkspaceBytes,
        };
        foreach (long size in RegionSizes)
        {
            if (size < 0) throw new NpuRuntimeException("a DRAM region has a negative size");
        }

        SemInit = new uint[NpuTarget.Semaphores];
        if (program.SemaphoreInit is { } init) Array.Copy(init, SemInit, Math.Min(init.Length, SemInit.Length));

        int halt = Array.FindIndex(Code, i => i.Op == Opcode.Halt);
        if (halt < 0) throw new NpuRuntimeException("the program has no HALT");
        Length = halt + 1;
        UnitOf = new Unit[Length];
        BaseCycles = new long[Length];
        Bursts = new long[Length];
        Bytes = new long[Length];
        Banks = new ushort[Length];
        FpIndex = new int[Length + 1];
        var fp = new SimFootprint[Length * 2 + 16];
        int nfp = 0;
        int markDepth = 0;
        for (int k = 0; k < Length; k++)
        {
            FpIndex[k] = nfp;
            ref readonly Instruction i = ref Code[k];
            if (i.WaitSemaphore != InstructionFlags.NoSemaphore && i.WaitSemaphore >= NpuTarget.Semaphores)
                throw Bad(k, $"wait semaphore {i.WaitSemaphore} does not exist");
            if (i.SignalSemaphore != InstructionFlags.NoSemaphore && i.SignalSemaphore >= NpuTarget.Semaphores)
                throw Bad(k, $"signal semaphore {i.SignalSemaphore} does not exist");
            UnitOf[k] = Unit.Dispatcher;
            BaseCycles[k] = 1;
            switch (i.Op)
            {
                case Opcode.Nop:
                case Opcode.Halt:
                case Opcode.Fence:
                    break;
                case Opcode.Signal:
                    if (!i.Signals) throw Bad(k, "SIGNAL without a signal semaphore");
                    break;
                case Opcode.Wait:
                    if (!i.Waits) throw Bad(k, "WAIT without a wait semaphore");
                    if (i.Flags > (byte)Unit.Vpu + 1) throw Bad(k, $"WAIT queue flag {i.Flags} names no queue");
                    UnitOf[k] = i.Unit;
                    break;
                case Opcode.Mark:
                    if ((i.Flags & InstructionFlags.MarkEnd) != 0)
                    {
                        if (markDepth == 0) throw Bad(k, "MARK end without a MARK begin");
                        markDepth--;
                    }
                    else
                    {
                        markDepth++;
                    }

                    break;
                case Opcode.DmaLoad:
                case Opcode.DmaStore:
                    PrepareDma(k, i, fp, ref nfp);
                    break;
                case Opcode.MxuLoadWeights:
                case Opcode.MxuMatmul:
                    PrepareMxu(k, i, fp, ref nfp);
                    break;
                case >= Opcode.VBinary and <= Opcode.VFill:
                    PrepareVector(k, i, ref fp, ref nfp);
                    break;
                default:
                    throw Bad(k, $"unknown opcode 0x{(int)i.Op:x2}");
            }

            if (fp.Length < nfp + 8) Array.Resize(ref fp, fp.Length * 2);
            for (int f = FpIndex[k]; f < nfp; f++)
            {
                if (fp[f].Space == SimSpace.Local) Banks[k] |= BankMask(fp[f]);
            }
        }

        FpIndex[Length] = nfp;
        Fp = fp;
    }

    private static NpuRuntimeException Bad(int k, string message) => new(message, k);

    private void PrepareDma(int k, in Instruction i, SimFootprint[] fp, ref int nfp)
    {
        if (i.Channel >= NpuTarget.DmaChannels) throw Bad(k, $"DMA channel {i.Channel} does not exist");
        if ((byte)i.Region > (byte)Region.Workspace) throw Bad(k, $"DMA region {(int)i.Region} does not exist");
        bool load = i.Op == Opcode.DmaLoad;
        if (!load && i.Region is Region.Const or Region.Input) throw Bad(k, $"DMA_ST to the read-only {SimText.Region(i.Region)} region");
        if (!load && (i.PadBefore | i.PadAfter) != 0) throw Bad(k, "DMA_ST with pad rows");
        if (i.Rows < 1 || i.RowBytes < 1) throw Bad(k, "DMA with zero rows or zero row bytes");
        UnitOf[k] = (Unit)i.Channel;
        var dram = new SimFootprint
        {
            Base = i.DramOffset, Stride = i.DramStride, Rows = i.Rows, RowBytes = i.RowBytes,
            Space = (SimSpace)((int)i.Region + 1), Reads = load, Writes = !load,
        };
        if (dram.HullEnd > RegionSizes[(int)i.Region])
            throw Bad(k, $"DMA DRAM footprint [{dram.Base}, {dram.HullEnd}) is outside {SimText.Region(i.Region)} ({RegionSizes[(int)i.Region]} bytes)");
        var local = new SimFootprint
        {
            Base = i.Local, Stride = i.LocalStride, Rows = i.PadBefore + i.Rows + i.PadAfter, RowBytes = i.RowBytes,
            Space = SimSpace.Local, Reads = !load, Writes = load,
        };
        if (local.HullEnd > NpuTarget.ScratchpadBytes)
            throw Bad(k, $"DMA scratchpad footprint [{local.Base}, {local.HullEnd}) is outside the scratchpad");
        fp[nfp++] = dram;
        fp[nfp++] = local;
        Bursts[k] = NpuTiming.Bursts(i.DramOffset, i.DramStride, i.Rows, i.RowBytes);
        Bytes[k] = (long)i.Rows * i.RowBytes;
        BaseCycles[k] = NpuTiming.DmaCycles(Bursts[k]);
    }

    private void PrepareMxu(int k, in Instruction i, SimFootprint[] fp, ref int nfp)
    {
        int dtype = i.Flags & InstructionFlags.MxuDTypeMask;
        if (dtype > (int)NpuDType.Float16) throw Bad(k, $"MXU dtype {SimText.DType(dtype)} (only int8 and fp16)");
        int esize = dtype == (int)NpuDType.Int8 ? 1 : 2;
        UnitOf[k] = Unit.Mxu;
        if (i.Op == Opcode.MxuLoadWeights)
        {
            if (i.Rows is < 1 or > NpuTarget.ArraySize || i.Cols is < 1 or > NpuTarget.ArraySize)
                throw Bad(k, $"MXU_LW block {i.Rows}x{i.Cols} (1-32 each)");
            bool transpose = (i.Flags & InstructionFlags.MxuTranspose) != 0;
            var src = new SimFootprint
            {
                Base = i.Local, Stride = i.LocalStride, Rows = transpose ? i.Cols : i.Rows,
                RowBytes = (transpose ? i.Rows : i.Cols) * esize, Space = SimSpace.Local, Reads = true,
            };
            if (src.HullEnd > NpuTarget.ScratchpadBytes) throw Bad(k, $"MXU_LW source [{src.Base}, {src.HullEnd}) is outside the scratchpad");
            fp[nfp++] = src;
            BaseCycles[k] = NpuTarget.WeightLoadCycles;
            return;
        }

        if (i.Rows is < 1 or > NpuTarget.AccumulatorRows) throw Bad(k, $"MXU_MM m = {i.Rows} (1-1024)");
        if (i.K is < 1 or > NpuTarget.ArraySize) throw Bad(k, $"MXU_MM K = {i.K} (1-32)");
        var a = new SimFootprint
        {
            Base = i.Local, Stride = i.LocalStride, Rows = i.Rows, RowBytes = i.K * esize, Space = SimSpace.Local, Reads = true,
        };
        if (a.HullEnd > NpuTarget.ScratchpadBytes) throw Bad(k, $"MXU_MM A [{a.Base}, {a.HullEnd}) is outside the scratchpad");
        long lastRow = i.AccRow + (long)(i.Rows - 1) * i.AccStride;
        if (lastRow >= NpuTarget.AccumulatorRows) throw Bad(k, $"MXU_MM accumulator rows reach {lastRow} (0-1023)");
        fp[nfp++] = a;
        fp[nfp++] = new SimFootprint
        {
            Base = NpuTarget.AccumulatorBase + (long)i.AccRow * NpuTarget.AccumulatorRowBytes,
            Stride = (long)i.AccStride * NpuTarget.AccumulatorRowBytes, Rows = i.Rows, RowBytes = NpuTarget.AccumulatorRowBytes,
            Space = SimSpace.Local, Reads = (i.Flags & InstructionFlags.MxuAccumulate) != 0, Writes = true,
        };
        BaseCycles[k] = NpuTiming.MatmulBusy(i.Rows);
    }

    /// <summary>Bytes per 32-lane vector of an operand of the given element type.</summary>
    public static int VectorBytes(int dtype) => NpuTarget.VpuLanes * ElementSize(dtype);

    public static int ElementSize(int dtype) => dtype switch { 0 => 1, 1 => 2, _ => 4 };

    /// <summary>Whether V_CVT converts between these types (docs/npu/isa.md): a 32-bit side and a narrow side, or fp32 and int32.</summary>
    public static bool IsConversion(int from, int to)
    {
        bool wideFrom = from is 2 or 3, wideTo = to is 2 or 3;
        if (from > 3 || to > 3) return false;
        return wideFrom != wideTo || (wideFrom && from != to);
    }

    private void PrepareVector(int k, in Instruction i, ref SimFootprint[] fp, ref int nfp)
    {
        UnitOf[k] = Unit.Vpu;
        if (i.Rows < 1 || i.Vectors < 1) throw Bad(k, "vector instruction with zero rows or zero vectors");
        int maxSub = i.Op switch
        {
            Opcode.VBinary or Opcode.VImmediate => (int)VBinaryOp.Mac,
            Opcode.VActivation => (int)VActivation.Reciprocal,
            Opcode.VReduce => (int)VReduceOp.SumOfSquares,
            Opcode.VConvert => 3,
            _ => 0,
        };
        if (i.SubOp > maxSub) throw Bad(k, $"{SimText.Short(i)}: sub-op {i.SubOp} out of range");
        bool isInt = (i.Flags & InstructionFlags.VInt) != 0;
        if (i.Op == Opcode.VActivation && isInt && i.SubOp > (int)VActivation.Relu)
            throw Bad(k, "V_ACT on int32 lanes supports identity and relu only");
        int srcType = 2, dstType = 2;
        if (i.Op == Opcode.VConvert)
        {
            srcType = i.Aux;
            dstType = i.SubOp;
            if (!IsConversion(srcType, dstType)) throw Bad(k, $"V_CVT from {SimText.DType(srcType)} to {SimText.DType(dstType)} is not a conversion the VPU does");
        }

        bool b1 = (i.Flags & InstructionFlags.VBroadcastS1) != 0, b2 = (i.Flags & InstructionFlags.VBroadcastS2) != 0;
        bool mac = i.Op is Opcode.VBinary or Opcode.VImmediate && i.SubOp == (int)VBinaryOp.Mac;
        int dstRow = i.Op == Opcode.VReduce
            ? ((i.Flags & InstructionFlags.VBroadcastResult) != 0 ? NpuTarget.VpuVectorBytes : 4)
            : i.Vectors * VectorBytes(dstType);
        AddVector(k, i.Dst, i.DstStride, i.Rows, dstRow, mac, true, fp, ref nfp);
        if (i.Op != Opcode.VFill)
        {
            AddVector(k, i.Src1, i.Src1Stride, i.Rows, (b1 ? 1 : i.Vectors) * VectorBytes(srcType), true, false, fp, ref nfp);
        }

        if (i.Op == Opcode.VBinary || (i.Op == Opcode.VActivation && (i.Flags & InstructionFlags.VNoS2) == 0))
        {
            AddVector(k, i.Src2, i.Src2Stride, i.Rows, (b2 ? 1 : i.Vectors) * NpuTarget.VpuVectorBytes, true, false, fp, ref nfp);
        }

        BaseCycles[k] = NpuTiming.VectorCycles(i);
    }

    private static void AddVector(int k, uint address, int stride, int rows, int rowBytes, bool reads, bool writes, SimFootprint[] fp, ref int nfp)
    {
        var f = new SimFootprint
        {
            Base = address, Stride = stride, Rows = rows, RowBytes = rowBytes, Space = SimSpace.Local, Reads = reads, Writes = writes,
        };
        long end = f.HullEnd;
        bool inScratch = end <= NpuTarget.ScratchpadBytes;
        bool inAcc = f.Base >= NpuTarget.AccumulatorBase && end <= NpuTarget.LocalAddressLimit;
        if (!inScratch && !inAcc)
            throw Bad(k, $"vector operand [0x{f.Base:x}, 0x{end:x}) is not inside the scratchpad or inside the accumulator");
        fp[nfp++] = f;
    }

    /// <summary>Bank of a local address: scratchpad banks 0-7 (64 KiB each), accumulator banks 8-11 (256 rows each).</summary>
    public static int BankOf(long address) => address < NpuTarget.ScratchpadBytes
        ? (int)(address / NpuTarget.ScratchpadBankBytes)
        : NpuTarget.ScratchpadBanks + (int)((address - NpuTarget.AccumulatorBase) / AccBankBytes);

    private static ushort RowMask(long lo, long hi)
    {
        int b0 = BankOf(lo), b1 = BankOf(hi - 1);
        return (ushort)(((1 << (b1 + 1)) - 1) & ~((1 << b0) - 1));
    }

    /// <summary>The banks a local footprint touches (exact, also for strides that skip banks).</summary>
    public static ushort BankMask(in SimFootprint f)
    {
        if (f.Stride == 0 || f.Rows == 1 || f.Stride <= AccBankBytes) return RowMask(f.Base, f.HullEnd);
        ushort mask = 0;
        for (int r = 0; r < f.Rows; r++)
        {
            long lo = f.Base + r * f.Stride;
            mask |= RowMask(lo, lo + f.RowBytes);
        }

        return mask;
    }

    /// <summary>Rows of a local footprint that touch a bank in <paramref name="mask"/>.</summary>
    public static long RowsTouching(in SimFootprint f, ushort mask)
    {
        if ((BankMask(f) & mask) == 0) return 0;
        if (f.Stride == 0) return f.Rows;
        long n = 0;
        for (int r = 0; r < f.Rows; r++)
        {
            long lo = f.Base + r * f.Stride;
            if ((RowMask(lo, lo + f.RowBytes) & mask) != 0) n++;
        }

        return n;
    }
}
