using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Aot.Npu;

namespace Aot.Runtime.Npu;

/// <summary>One 32x32 weight block as the MXU holds it (W[k][n] at k * 32 + n), shared by the matmuls that use it.</summary>
internal sealed class SimWeights
{
    public NpuDType DType;
    public int K;
    public int N;
    public int Refs;
    public readonly float[] F = new float[NpuTarget.ArraySize * NpuTarget.ArraySize];
    public readonly int[] I = new int[NpuTarget.ArraySize * NpuTarget.ArraySize];
}

/// <summary>
/// The memories of the machine and the functional semantics of every unit instruction (docs/npu/isa.md). The
/// engine calls these when an instruction's effects become visible; every footprint was checked by
/// <see cref="SimProgram"/>, so the spans below stay inside their arrays.
/// </summary>
internal sealed class SimMachine
{
    private const int Lanes = NpuTarget.VpuLanes;
    private const int Block = NpuTarget.ArraySize;

    /// <summary>Scratchpad (0x00000-0x7FFFF) then accumulator (0x80000-0x9FFFF): the VPU's local address space.</summary>
    public readonly byte[] Local = new byte[NpuTarget.LocalAddressLimit];

    /// <summary>DRAM regions by <see cref="Region"/>: CONST (the program's, never written), INPUT, OUTPUT, WORKSPACE.</summary>
    public readonly byte[][] Dram;

    private static float[]? s_halfTable;

    public SimMachine(NpuProgram program)
    {
        Dram = new[]
        {
            program.Constants ?? Array.Empty<byte>(), new byte[program.InputBytes], new byte[program.OutputBytes], new byte[program.WorkspaceBytes],
        };
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the NPU simulator needs a little-endian host");
    }

    /// <summary>Clears everything a run writes (scratchpad, accumulator, OUTPUT, WORKSPACE); INPUT is kept.</summary>
    public void Reset()
    {
        Array.Clear(Local);
        Array.Clear(Dram[(int)Region.Output]);
        Array.Clear(Dram[(int)Region.Workspace]);
    }

    /// <summary>fp16 bits -> fp32, exact, by table (65536 entries, built once).</summary>
    private static float[] HalfTable
    {
        get
        {
            var table = s_halfTable;
            if (table is not null) return table;
            table = new float[65536];
            for (int b = 0; b < table.Length; b++) table[b] = (float)BitConverter.UInt16BitsToHalf((ushort)b);
            s_halfTable = table;
            return table;
        }
    }

    // ---------------------------------------------------------------- DMA

    public void Dma(in Instruction i)
    {
        byte[] dram = Dram[(int)i.Region];
        int rowBytes = i.RowBytes;
        if (i.Op == Opcode.DmaLoad)
        {
            long local = i.Local;
            for (int p = 0; p < i.PadBefore; p++, local += i.LocalStride) Local.AsSpan((int)local, rowBytes).Clear();
            long src = i.DramOffset;
            for (int r = 0; r < i.Rows; r++, src += i.DramStride, local += i.LocalStride)
                dram.AsSpan((int)src, rowBytes).CopyTo(Local.AsSpan((int)local, rowBytes));
            for (int p = 0; p < i.PadAfter; p++, local += i.LocalStride) Local.AsSpan((int)local, rowBytes).Clear();
        }
        else
        {
            long local = i.Local, dst = i.DramOffset;
            for (int r = 0; r < i.Rows; r++, dst += i.DramStride, local += i.LocalStride)
                Local.AsSpan((int)local, rowBytes).CopyTo(dram.AsSpan((int)dst, rowBytes));
        }
    }

    // ---------------------------------------------------------------- MXU

    /// <summary>MXU_LW: W[k][n] for k &lt; K, n &lt; N from the scratchpad (row k holds W[k][..], or with transpose row n
    /// holds W[..][n]); the rest of the block is zero.</summary>
    public void LoadWeights(in Instruction i, SimWeights w)
    {
        w.DType = (NpuDType)(i.Flags & InstructionFlags.MxuDTypeMask);
        w.K = i.Rows;
        w.N = i.Cols;
        Array.Clear(w.F);
        Array.Clear(w.I);
        bool transpose = (i.Flags & InstructionFlags.MxuTranspose) != 0;
        bool fp16 = w.DType == NpuDType.Float16;
        int esize = fp16 ? 2 : 1;
        var half = fp16 ? HalfTable : null;
        for (int k = 0; k < w.K; k++)
        {
            for (int n = 0; n < w.N; n++)
            {
                long at = transpose ? i.Local + n * (long)i.LocalStride + k * esize : i.Local + k * (long)i.LocalStride + n * esize;
                if (fp16) w.F[k * Block + n] = half![Local[at] | (Local[at + 1] << 8)];
                else w.I[k * Block + n] = (sbyte)Local[at];
            }
        }
    }

    /// <summary>MXU_MM: acc[row + r * stride][n] (+)= sum_k A[r][k] * W[k][n]; int8 products summed in int32 (wrapping),
    /// fp16 products (exact in fp32) summed in k order in fp32 starting from 0, then added to the accumulator in fp32.</summary>
    public void Matmul(in Instruction i, SimWeights w)
    {
        bool accumulate = (i.Flags & InstructionFlags.MxuAccumulate) != 0;
        int k = Math.Min(i.K, w.K);
        long a = i.Local;
        if (w.DType == NpuDType.Float16)
        {
            var half = HalfTable;
            ref float wref = ref MemoryMarshal.GetArrayDataReference(w.F);
            for (int r = 0; r < i.Rows; r++, a += i.LocalStride)
            {
                var s0 = Vector256<float>.Zero;
                var s1 = Vector256<float>.Zero;
                var s2 = Vector256<float>.Zero;
                var s3 = Vector256<float>.Zero;
                for (int kk = 0; kk < k; kk++)
                {
                    long at = a + 2 * kk;
                    var x = Vector256.Create(half[Local[at] | (Local[at + 1] << 8)]);
                    nuint o = (nuint)(kk * Block);
                    s0 += x * Vector256.LoadUnsafe(ref wref, o);
                    s1 += x * Vector256.LoadUnsafe(ref wref, o + 8);
                    s2 += x * Vector256.LoadUnsafe(ref wref, o + 16);
                    s3 += x * Vector256.LoadUnsafe(ref wref, o + 24);
                }

                var acc = MemoryMarshal.Cast<byte, float>(AccRow(i.AccRow + r * i.AccStride));
                ref float d = ref MemoryMarshal.GetReference(acc);
                if (accumulate)
                {
                    s0 = Vector256.LoadUnsafe(ref d, 0) + s0;
                    s1 = Vector256.LoadUnsafe(ref d, 8) + s1;
                    s2 = Vector256.LoadUnsafe(ref d, 16) + s2;
                    s3 = Vector256.LoadUnsafe(ref d, 24) + s3;
                }

                s0.StoreUnsafe(ref d, 0);
                s1.StoreUnsafe(ref d, 8);
                s2.StoreUnsafe(ref d, 16);
                s3.StoreUnsafe(ref d, 24);
            }
        }
        else
        {
            ref int wref = ref MemoryMarshal.GetArrayDataReference(w.I);
            for (int r = 0; r < i.Rows; r++, a += i.LocalStride)
            {
                var s0 = Vector256<int>.Zero;
                var s1 = Vector256<int>.Zero;
                var s2 = Vector256<int>.Zero;
                var s3 = Vector256<int>.Zero;
                for (int kk = 0; kk < k; kk++)
                {
                    var x = Vector256.Create((int)(sbyte)Local[a + kk]);
                    nuint o = (nuint)(kk * Block);
                    s0 += x * Vector256.LoadUnsafe(ref wref, o);
                    s1 += x * Vector256.LoadUnsafe(ref wref, o + 8);
                    s2 += x * Vector256.LoadUnsafe(ref wref, o + 16);
                    s3 += x * Vector256.LoadUnsafe(ref wref, o + 24);
                }

                var acc = MemoryMarshal.Cast<byte, int>(AccRow(i.AccRow + r * i.AccStride));
                ref int d = ref MemoryMarshal.GetReference(acc);
                if (accumulate)
                {
                    s0 += Vector256.LoadUnsafe(ref d, 0);
                    s1 += Vector256.LoadUnsafe(ref d, 8);
                    s2 += Vector256.LoadUnsafe(ref d, 16);
                    s3 += Vector256.LoadUnsafe(ref d, 24);
                }

                s0.StoreUnsafe(ref d, 0);
                s1.StoreUnsafe(ref d, 8);
                s2.StoreUnsafe(ref d, 16);
                s3.StoreUnsafe(ref d, 24);
            }
        }
    }

    private Span<byte> AccRow(int row) => Local.AsSpan(NpuTarget.AccumulatorBase + row * NpuTarget.AccumulatorRowBytes, NpuTarget.AccumulatorRowBytes);

    // ---------------------------------------------------------------- VPU

    private Span<uint> Words(long address) => MemoryMarshal.Cast<byte, uint>(Local.AsSpan((int)address, NpuTarget.VpuVectorBytes));

    private static long Operand(uint address, int stride, bool perRow, int r, int v, int vectorBytes) =>
        address + (long)r * stride + (perRow ? 0 : (long)v * vectorBytes);

    /// <summary>Every V_* instruction. Rows in order, vectors in order within a row; each vector's sources are read
    /// before its destination is written, so in-place operations are safe.</summary>
    public void Vector(in Instruction i)
    {
        switch (i.Op)
        {
            case Opcode.VReduce:
                Reduce(i);
                return;
            case Opcode.VConvert:
                Convert(i);
                return;
        }

        bool isInt = (i.Flags & InstructionFlags.VInt) != 0;
        bool b1 = (i.Flags & InstructionFlags.VBroadcastS1) != 0, b2 = (i.Flags & InstructionFlags.VBroadcastS2) != 0;
        bool noS2 = (i.Flags & InstructionFlags.VNoS2) != 0;
        Span<uint> x = stackalloc uint[Lanes];
        Span<uint> y = stackalloc uint[Lanes];
        Span<uint> d = stackalloc uint[Lanes];
        var xf = MemoryMarshal.Cast<uint, float>(x);
        var yf = MemoryMarshal.Cast<uint, float>(y);
        var df = MemoryMarshal.Cast<uint, float>(d);
        var xi = MemoryMarshal.Cast<uint, int>(x);
        var yi = MemoryMarshal.Cast<uint, int>(y);
        var di = MemoryMarshal.Cast<uint, int>(d);
        float immF = i.ImmFloat;
        int immI = (int)i.Imm;
        const int vb = NpuTarget.VpuVectorBytes;
        for (int r = 0; r < i.Rows; r++)
        {
            for (int v = 0; v < i.Vectors; v++)
            {
                long dst = Operand(i.Dst, i.DstStride, false, r, v, vb);
                if (i.Op != Opcode.VFill) Words(Operand(i.Src1, i.Src1Stride, b1, r, v, vb)).CopyTo(x);
                if (i.Op == Opcode.VBinary || (i.Op == Opcode.VActivation && !noS2)) Words(Operand(i.Src2, i.Src2Stride, b2, r, v, vb)).CopyTo(y);
                else if (i.Op == Opcode.VActivation) y.Clear();
                else if (i.Op == Opcode.VImmediate) y.Fill(i.Imm);
                switch (i.Op)
                {
                    case Opcode.VFill:
                        d.Fill(i.Imm);
                        break;
                    case Opcode.VMove:
                        x.CopyTo(d);
                        break;
                    case Opcode.VBinary:
                    case Opcode.VImmediate:
                        var op = (VBinaryOp)i.SubOp;
                        if (op == VBinaryOp.Mac) Words(dst).CopyTo(d);
                        if (isInt)
                        {
                            for (int l = 0; l < Lanes; l++) di[l] = IntOp(op, xi[l], yi[l], di[l]);
                        }
                        else
                        {
                            for (int l = 0; l < Lanes; l++) df[l] = FloatOp(op, xf[l], yf[l], df[l]);
                        }

                        break;
                    case Opcode.VActivation:
                        var f = (VActivation)i.SubOp;
                        if (isInt)
                        {
                            for (int l = 0; l < Lanes; l++)
                            {
                                int t = unchecked(xi[l] * immI + yi[l]);
                                di[l] = f == VActivation.Relu && t < 0 ? 0 : t;
                            }
                        }
                        else
                        {
                            for (int l = 0; l < Lanes; l++) df[l] = Activate(f, xf[l] * immF + yf[l]);
                        }

                        break;
                }

                d.CopyTo(Words(dst));
            }
        }
    }

    private static int IntOp(VBinaryOp op, int a, int b, int d) => unchecked(op switch
    {
        VBinaryOp.Add => a + b,
        VBinaryOp.Sub => a - b,
        VBinaryOp.Mul => a * b,
        VBinaryOp.Max => Math.Max(a, b),
        VBinaryOp.Min => Math.Min(a, b),
        _ => d + a * b,
    });

    private static float FloatOp(VBinaryOp op, float a, float b, float d) => op switch
    {
        VBinaryOp.Add => a + b,
        VBinaryOp.Sub => a - b,
        VBinaryOp.Mul => a * b,
        VBinaryOp.Max => MathF.Max(a, b),
        VBinaryOp.Min => MathF.Min(a, b),
        _ => MathF.FusedMultiplyAdd(a, b, d),
    };

    /// <summary>The V_ACT functions, evaluated in double and rounded once to fp32 (recip: an fp32 division).</summary>
    public static float Activate(VActivation f, float x)
    {
        double t = x;
        return f switch
        {
            VActivation.Identity => x,
            VActivation.Relu => x > 0 || float.IsNaN(x) ? x : 0f,
            VActivation.Gelu => (float)(0.5 * t * (1.0 + Math.Tanh(0.7978845608028654 * (t + 0.044715 * t * t * t)))),
            VActivation.Exp => (float)Math.Exp(t),
            VActivation.Tanh => (float)Math.Tanh(t),
            VActivation.Sigmoid => (float)(1.0 / (1.0 + Math.Exp(-t))),
            VActivation.Rsqrt => (float)(1.0 / Math.Sqrt(t)),
            _ => 1f / x,
        };
    }

    /// <summary>V_RED: per row, 32 lane-wise partials over the row's vectors in order, then a fixed tree across lanes
    /// (lane l combines lane l + 16, then + 8, + 4, + 2, + 1); the result times imm goes to lane 0 (or all lanes).</summary>
    private void Reduce(in Instruction i)
    {
        bool isInt = (i.Flags & InstructionFlags.VInt) != 0;
        bool b1 = (i.Flags & InstructionFlags.VBroadcastS1) != 0;
        bool all = (i.Flags & InstructionFlags.VBroadcastResult) != 0;
        var op = (VReduceOp)i.SubOp;
        Span<uint> x = stackalloc uint[Lanes];
        Span<uint> p = stackalloc uint[Lanes];
        var xf = MemoryMarshal.Cast<uint, float>(x);
        var pf = MemoryMarshal.Cast<uint, float>(p);
        var xi = MemoryMarshal.Cast<uint, int>(x);
        var pi = MemoryMarshal.Cast<uint, int>(p);
        for (int r = 0; r < i.Rows; r++)
        {
            if (isInt) pi.Fill(op == VReduceOp.Max ? int.MinValue : 0);
            else pf.Fill(op == VReduceOp.Max ? float.NegativeInfinity : 0f);
            for (int v = 0; v < i.Vectors; v++)
            {
                Words(Operand(i.Src1, i.Src1Stride, b1, r, v, NpuTarget.VpuVectorBytes)).CopyTo(x);
                for (int l = 0; l < Lanes; l++)
                {
                    if (isInt) pi[l] = Combine(op, pi[l], op == VReduceOp.SumOfSquares ? unchecked(xi[l] * xi[l]) : xi[l]);
                    else pf[l] = Combine(op, pf[l], op == VReduceOp.SumOfSquares ? xf[l] * xf[l] : xf[l]);
                }
            }

            for (int w = Lanes / 2; w >= 1; w /= 2)
            {
                for (int l = 0; l < w; l++)
                {
                    if (isInt) pi[l] = Combine(op, pi[l], pi[l + w]);
                    else pf[l] = Combine(op, pf[l], pf[l + w]);
                }
            }

            uint result = isInt ? (uint)unchecked(pi[0] * (int)i.Imm) : BitConverter.SingleToUInt32Bits(pf[0] * i.ImmFloat);
            long dst = i.Dst + (long)r * i.DstStride;
            if (all) Words(dst).Fill(result);
            else MemoryMarshal.Write(Local.AsSpan((int)dst, 4), in result);
        }
    }

    private static int Combine(VReduceOp op, int a, int b) => op == VReduceOp.Max ? Math.Max(a, b) : unchecked(a + b);

    private static float Combine(VReduceOp op, float a, float b) => op == VReduceOp.Max ? MathF.Max(a, b) : a + b;

    /// <summary>
    /// V_CVT from dtype <c>Aux</c> to dtype <c>SubOp</c> (docs/npu/isa.md, "V_CVT"): an int8 source is (x - zero point);
    /// the value is scaled by imm (int32 immediate with the int flag: an exact integer product; else an fp32 product,
    /// integers converted to fp32 first); an int destination is round-half-even and saturated (NaN -> 0), and int8 adds
    /// the zero point before its final saturation; fp16 rounds to nearest even.
    /// </summary>
    private void Convert(in Instruction i)
    {
        int from = i.Aux, to = i.SubOp;
        bool intImm = (i.Flags & InstructionFlags.VInt) != 0;
        bool b1 = (i.Flags & InstructionFlags.VBroadcastS1) != 0;
        int zp = SignExtend24(i.Src2);
        int srcVec = SimProgram.VectorBytes(from), dstVec = SimProgram.VectorBytes(to);
        int sSize = SimProgram.ElementSize(from), dSize = SimProgram.ElementSize(to);
        var half = HalfTable;
        float immF = i.ImmFloat;
        int immI = (int)i.Imm;
        Span<long> ints = stackalloc long[Lanes];
        Span<float> floats = stackalloc float[Lanes];
        Span<bool> isExact = stackalloc bool[Lanes];
        for (int r = 0; r < i.Rows; r++)
        {
            for (int v = 0; v < i.Vectors; v++)
            {
                long src = Operand(i.Src1, i.Src1Stride, b1, r, v, srcVec);
                long dst = Operand(i.Dst, i.DstStride, false, r, v, dstVec);
                for (int l = 0; l < Lanes; l++)
                {
                    long at = src + (long)l * sSize;
                    switch (from)
                    {
                        case (int)NpuDType.Int8:
                        case (int)NpuDType.Int32:
                            long xv = from == (int)NpuDType.Int8 ? (sbyte)Local[at] - (long)zp : MemoryMarshal.Read<int>(Local.AsSpan((int)at, 4));
                            if (intImm)
                            {
                                ints[l] = xv * immI;
                                isExact[l] = true;
                            }
                            else
                            {
                                floats[l] = (float)xv * immF;
                                isExact[l] = false;
                            }

                            break;
                        case (int)NpuDType.Float16:
                            floats[l] = half[Local[at] | (Local[at + 1] << 8)] * (intImm ? immI : immF);
                            isExact[l] = false;
                            break;
                        default:
                            floats[l] = MemoryMarshal.Read<float>(Local.AsSpan((int)at, 4)) * (intImm ? immI : immF);
                            isExact[l] = false;
                            break;
                    }
                }

                for (int l = 0; l < Lanes; l++)
                {
                    int at = (int)(dst + (long)l * dSize);
                    switch (to)
                    {
                        case (int)NpuDType.Int8:
                            long q = SaturateInt32(isExact[l], ints[l], floats[l]) + (long)zp;
                            Local[at] = (byte)(sbyte)Math.Clamp(q, sbyte.MinValue, sbyte.MaxValue);
                            break;
                        case (int)NpuDType.Int32:
                            int q32 = (int)SaturateInt32(isExact[l], ints[l], floats[l]);
                            MemoryMarshal.Write(Local.AsSpan(at, 4), in q32);
                            break;
                        case (int)NpuDType.Float16:
                            Half h = isExact[l] ? (Half)(double)ints[l] : (Half)floats[l];
                            ushort hb = BitConverter.HalfToUInt16Bits(h);
                            MemoryMarshal.Write(Local.AsSpan(at, 2), in hb);
                            break;
                        default:
                            float fv = isExact[l] ? (float)ints[l] : floats[l];
                            MemoryMarshal.Write(Local.AsSpan(at, 4), in fv);
                            break;
                    }
                }
            }
        }
    }

    /// <summary>The signed 24-bit field of V_CVT's zero point.</summary>
    public static int SignExtend24(uint field) => (int)(field << 8) >> 8;

    /// <summary>Round half to even and saturate to int32; NaN is 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long SaturateInt32(bool exact, long i, float f)
    {
        if (exact) return Math.Clamp(i, int.MinValue, int.MaxValue);
        if (float.IsNaN(f)) return 0;
        double r = Math.Round((double)f, MidpointRounding.ToEven);
        return r >= int.MaxValue ? int.MaxValue : r <= int.MinValue ? int.MinValue : (long)r;
    }
}
