using System.Buffers.Binary;
using Aot.Npu;
using Aot.Runtime.Npu;
using static Runtime.Tests.Npu.SimProgramBuilder;

namespace Runtime.Tests.Npu;

/// <summary>Every VPU instruction against a scalar reference of docs/npu/isa.md: lanes, broadcast flags, row strides
/// (0 = the same row for every row), int32 and fp32 lanes, V_CVT rounding and saturation.</summary>
public class SimVectorTests
{
    private const uint S1 = 0x0000, S2 = 0x4000, D = 0x8000;
    private const int Region = 0xC000;

    /// <summary>Loads <paramref name="init"/> (48 KiB) at local 0, runs the ops (the first waits for the load), returns the local memory.</summary>
    private static byte[] Run(byte[] init, params Instruction[] ops)
    {
        var p = new SimProgramBuilder { InputBytes = init.Length };
        p.Add(Load(0, Aot.Npu.Region.Input, 0, 1024, 0, 1024, init.Length / 1024, 1024).WithSignal(0));
        for (int k = 0; k < ops.Length; k++) p.Add(k == 0 ? ops[k].WithWait(0, 1) : ops[k]);
        byte[] local = Array.Empty<byte>();
        SimCheck.Run(p.Build(), init, after: sim => local = sim.Local.ToArray());
        return local;
    }

    private static byte[] RandomFloats(int seed)
    {
        var random = new Random(seed);
        var bytes = new byte[Region];
        for (int at = 0; at < Region; at += 4)
        {
            float v = (float)(random.NextDouble() * 8 - 4);
            if (random.Next(50) == 0) v = 0;
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(at), v);
        }

        return bytes;
    }

    private static byte[] RandomInts(int seed)
    {
        var random = new Random(seed);
        var bytes = new byte[Region];
        for (int at = 0; at < Region; at += 4)
        {
            int v = random.Next(4) == 0 ? random.Next(int.MinValue, int.MaxValue) : random.Next(-1000, 1000);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), v);
        }

        return bytes;
    }

    private static float F(byte[] m, long at) => BinaryPrimitives.ReadSingleLittleEndian(m.AsSpan((int)at));
    private static int I(byte[] m, long at) => BinaryPrimitives.ReadInt32LittleEndian(m.AsSpan((int)at));

    private static long Addr(uint b, int stride, bool perRow, int r, int v, int l, int vecBytes = 128, int es = 4) => b + (long)r * stride + (perRow ? 0 : v * vecBytes) + l * es;

    private const int Rows = 3, Vectors = 2;

    public static IEnumerable<object[]> BinaryCases()
    {
        foreach (VBinaryOp op in Enum.GetValues<VBinaryOp>())
        {
            foreach (bool isInt in new[] { false, true })
            {
                foreach (int layout in new[] { 0, 1, 2, 3 }) yield return new object[] { op, isInt, layout };
            }
        }
    }

    /// <summary>layout 0: plain strided rows; 1: s1 one vector per row; 2: s2 one vector per row; 3: s2 row stride 0.</summary>
    [Theory]
    [MemberData(nameof(BinaryCases))]
    public void BinaryAndImmediateMatchScalarReference(VBinaryOp op, bool isInt, int layout)
    {
        var init = isInt ? RandomInts((int)op * 10 + layout) : RandomFloats((int)op * 10 + layout);
        byte flags = (byte)((isInt ? InstructionFlags.VInt : 0) | (layout == 1 ? InstructionFlags.VBroadcastS1 : 0) | (layout == 2 ? InstructionFlags.VBroadcastS2 : 0));
        int s1Stride = 384, s2Stride = layout == 3 ? 0 : 320, dStride = 512; // strides wider than a row: gaps stay untouched
        uint imm = isInt ? unchecked((uint)-7) : Instruction.BitsOf(1.75f);
        var local = Run(init,
            Instruction.Vector(Opcode.VBinary, (byte)op, Rows, Vectors, D, dStride, S1, s1Stride, S2, s2Stride, flags),
            Instruction.Vector(Opcode.VImmediate, (byte)op, Rows, Vectors, D + 0x2000, dStride, S1, s1Stride, flags: flags, imm: imm));
        for (int r = 0; r < Rows; r++)
        {
            for (int v = 0; v < Vectors; v++)
            {
                for (int l = 0; l < 32; l++)
                {
                    long a = Addr(S1, s1Stride, layout == 1, r, v, l), b = Addr(S2, s2Stride, layout == 2, r, v, l);
                    long d = Addr(D, dStride, false, r, v, l), d2 = d + 0x2000;
                    if (isInt)
                    {
                        int x = I(init, a), y = I(init, b), imI = (int)imm;
                        Assert.Equal(IntRef(op, x, y, I(init, d)), I(local, d));
                        Assert.Equal(IntRef(op, x, imI, I(init, d2)), I(local, d2));
                    }
                    else
                    {
                        float x = F(init, a), y = F(init, b), imF = 1.75f;
                        Assert.Equal(FloatRef(op, x, y, F(init, d)), F(local, d));
                        Assert.Equal(FloatRef(op, x, imF, F(init, d2)), F(local, d2));
                    }
                }
            }

            // The gap after each destination row is untouched.
            long gap = D + r * dStride + Vectors * 128;
            Assert.Equal(I(init, gap), I(local, gap));
        }
    }

    private static int IntRef(VBinaryOp op, int a, int b, int d) => unchecked(op switch
    {
        VBinaryOp.Add => a + b,
        VBinaryOp.Sub => a - b,
        VBinaryOp.Mul => a * b,
        VBinaryOp.Max => a > b ? a : b,
        VBinaryOp.Min => a < b ? a : b,
        _ => d + a * b,
    });

    private static float FloatRef(VBinaryOp op, float a, float b, float d) => op switch
    {
        VBinaryOp.Add => a + b,
        VBinaryOp.Sub => a - b,
        VBinaryOp.Mul => a * b,
        VBinaryOp.Max => a > b ? a : b,
        VBinaryOp.Min => a < b ? a : b,
        _ => (float)((double)a * b + d), // fused: one rounding (exact in double for these magnitudes)
    };

    [Theory]
    [InlineData(VActivation.Identity)]
    [InlineData(VActivation.Relu)]
    [InlineData(VActivation.Gelu)]
    [InlineData(VActivation.Exp)]
    [InlineData(VActivation.Tanh)]
    [InlineData(VActivation.Sigmoid)]
    [InlineData(VActivation.Rsqrt)]
    [InlineData(VActivation.Reciprocal)]
    public void ActivationsMatchReference(VActivation f)
    {
        var init = RandomFloats(100 + (int)f);
        const float scale = 0.75f;
        var local = Run(init,
            Instruction.Vector(Opcode.VActivation, (byte)f, Rows, Vectors, D, 256, S1, 256, S2, 256, imm: Instruction.BitsOf(scale)),
            Instruction.Vector(Opcode.VActivation, (byte)f, Rows, Vectors, D + 0x1000, 256, S1, 256, flags: InstructionFlags.VNoS2, imm: Instruction.BitsOf(scale)));
        for (int r = 0; r < Rows; r++)
        {
            for (int e = 0; e < Vectors * 32; e++)
            {
                long at = r * 256 + e * 4;
                float x = F(init, S1 + at);
                foreach (var (t, d) in new[] { (x * scale + F(init, S2 + at), D + at), (x * scale, D + 0x1000 + at) })
                {
                    double expected = f switch
                    {
                        VActivation.Identity => t,
                        VActivation.Relu => Math.Max(t, 0),
                        VActivation.Gelu => 0.5 * t * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (t + 0.044715 * t * t * t))),
                        VActivation.Exp => Math.Exp(t),
                        VActivation.Tanh => Math.Tanh(t),
                        VActivation.Sigmoid => 1 / (1 + Math.Exp(-t)),
                        VActivation.Rsqrt => 1 / Math.Sqrt(t),
                        _ => 1 / (double)t,
                    };
                    float got = F(local, d);
                    if (double.IsNaN(expected)) Assert.True(float.IsNaN(got));
                    else if (double.IsInfinity(expected)) Assert.Equal(expected, got);
                    else Assert.True(Math.Abs(got - expected) <= 1e-6 * Math.Abs(expected) + 1e-7, $"{f}({t}) = {got}, expected {expected}");
                }
            }
        }
    }

    [Fact]
    public void IntActivationsAreIdentityAndRelu()
    {
        var init = RandomInts(7);
        var local = Run(init,
            Instruction.Vector(Opcode.VActivation, (byte)VActivation.Relu, 2, 1, D, 128, S1, 128, S2, 128, flags: InstructionFlags.VInt, imm: 3),
            Instruction.Vector(Opcode.VActivation, (byte)VActivation.Identity, 2, 1, D + 0x1000, 128, S1, 128, flags: InstructionFlags.VInt | InstructionFlags.VNoS2, imm: unchecked((uint)-2)));
        for (int e = 0; e < 64; e++)
        {
            int t = unchecked(I(init, S1 + e * 4) * 3 + I(init, S2 + e * 4));
            Assert.Equal(Math.Max(t, 0), I(local, D + e * 4));
            Assert.Equal(unchecked(I(init, S1 + e * 4) * -2), I(local, D + 0x1000 + e * 4));
        }
    }

    [Theory]
    [InlineData(VReduceOp.Sum, false, false)]
    [InlineData(VReduceOp.Max, false, true)]
    [InlineData(VReduceOp.SumOfSquares, false, false)]
    [InlineData(VReduceOp.Sum, true, true)]
    [InlineData(VReduceOp.Max, true, false)]
    [InlineData(VReduceOp.SumOfSquares, true, false)]
    public void ReductionsFollowTheDocumentedOrder(VReduceOp op, bool isInt, bool broadcastResult)
    {
        var init = isInt ? RandomInts(200 + (int)op) : RandomFloats(200 + (int)op);
        const int rows = 5, vectors = 3, stride = vectors * 128;
        byte flags = (byte)((isInt ? InstructionFlags.VInt : 0) | (broadcastResult ? InstructionFlags.VBroadcastResult : 0));
        uint imm = isInt ? 3u : Instruction.BitsOf(0.5f);
        var local = Run(init, Instruction.Vector(Opcode.VReduce, (byte)op, rows, vectors, D, 128, S1, stride, flags: flags, imm: imm));
        for (int r = 0; r < rows; r++)
        {
            // 32 lane partials over the vectors in order, then lane l += lane l + w for w = 16, 8, 4, 2, 1.
            var pf = new float[32];
            var pi = new int[32];
            if (op == VReduceOp.Max)
            {
                Array.Fill(pf, float.NegativeInfinity);
                Array.Fill(pi, int.MinValue);
            }

            for (int v = 0; v < vectors; v++)
            {
                for (int l = 0; l < 32; l++)
                {
                    long at = S1 + r * stride + v * 128 + l * 4;
                    float x = F(init, at);
                    int xi = I(init, at);
                    pf[l] = op switch { VReduceOp.Max => Math.Max(pf[l], x), VReduceOp.Sum => pf[l] + x, _ => pf[l] + x * x };
                    pi[l] = unchecked(op switch { VReduceOp.Max => Math.Max(pi[l], xi), VReduceOp.Sum => pi[l] + xi, _ => pi[l] + xi * xi });
                }
            }

            for (int w = 16; w >= 1; w /= 2)
            {
                for (int l = 0; l < w; l++)
                {
                    pf[l] = op == VReduceOp.Max ? Math.Max(pf[l], pf[l + w]) : pf[l] + pf[l + w];
                    pi[l] = op == VReduceOp.Max ? Math.Max(pi[l], pi[l + w]) : unchecked(pi[l] + pi[l + w]);
                }
            }

            for (int l = 0; l < 32; l++)
            {
                long d = D + r * 128 + l * 4;
                if (l > 0 && !broadcastResult)
                {
                    Assert.Equal(I(init, d), I(local, d)); // only lane 0 written
                    continue;
                }

                if (isInt) Assert.Equal(unchecked(pi[0] * 3), I(local, d));
                else Assert.Equal(pf[0] * 0.5f, F(local, d));
            }
        }
    }

    [Fact]
    public void MoveAndFill()
    {
        var init = RandomInts(9);
        var local = Run(init,
            Instruction.Vector(Opcode.VMove, 0, 4, 2, D, 256, S1, 512),
            Instruction.Vector(Opcode.VMove, 0, 4, 2, D + 0x1000, 256, S1, 0, flags: InstructionFlags.VBroadcastS1),
            Instruction.Vector(Opcode.VFill, 0, 2, 3, D + 0x2000, 384, flags: InstructionFlags.VInt, imm: 0xDEADBEEF),
            Instruction.Vector(Opcode.VMove, 0, 2, 1, NpuTarget.AccumulatorBase + 128 * 1000, 128, S1, 128),
            Instruction.Vector(Opcode.VMove, 0, 2, 1, D + 0x3000, 128, NpuTarget.AccumulatorBase + 128 * 1000, 128));
        for (int r = 0; r < 4; r++)
        {
            for (int e = 0; e < 64; e++)
            {
                Assert.Equal(I(init, S1 + r * 512 + e * 4), I(local, D + r * 256 + e * 4));
                Assert.Equal(I(init, S1 + e % 32 * 4), I(local, D + 0x1000 + r * 256 + e * 4));
            }
        }

        for (int e = 0; e < 2 * 96; e++) Assert.Equal(0xDEADBEEFu, (uint)I(local, D + 0x2000 + e * 4));
        for (int e = 0; e < 64; e++) Assert.Equal(I(init, S1 + e * 4), I(local, D + 0x3000 + e * 4));
    }

    public static IEnumerable<object[]> ConvertCases()
    {
        // (from, to, int immediate, imm, zero point, inputs (as double), expected (as double; NaN = NaN))
        double nan = double.NaN;
        yield return new object[] { NpuDType.Float32, NpuDType.Int8, false, 1.0, 0, new[] { 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.6, 300, -300, nan }, new[] { 0.0, 2, 2, 0, -2, -2, 127, 127, -128, 0 } };
        yield return new object[] { NpuDType.Float32, NpuDType.Int8, false, 0.5, 10, new[] { 5.0, -5, 250, -500, 3 }, new[] { 12.0, 8, 127, -128, 12 } };
        yield return new object[] { NpuDType.Int32, NpuDType.Int8, false, 2.0, -3, new[] { 10.0, -70, 100, -100 }, new[] { 17.0, -128, 127, -128 } };
        yield return new object[] { NpuDType.Int32, NpuDType.Int8, false, 0.25, 0, new[] { 10.0, 6, 2, -6 }, new[] { 2.0, 2, 0, -2 } };
        yield return new object[] { NpuDType.Float32, NpuDType.Float16, false, 1.0, 0, new[] { 1.0, 0.1, 65504, 70000, -1e-8, 1 + 1.0 / 2048 }, new[] { 1.0, (double)(float)(Half)0.1f, 65504, double.PositiveInfinity, -0.0, 1.0 } };
        yield return new object[] { NpuDType.Int8, NpuDType.Float32, false, 0.5, 4, new[] { 4.0, 10, -128, 127 }, new[] { 0.0, 3, -66, 61.5 } };
        yield return new object[] { NpuDType.Int8, NpuDType.Int32, true, 3.0, -1, new[] { 4.0, -128 }, new[] { 15.0, -381 } };
        yield return new object[] { NpuDType.Float16, NpuDType.Float32, false, 2.0, 0, new[] { 1.5, -0.25, 65504 }, new[] { 3.0, -0.5, 131008 } };
        yield return new object[] { NpuDType.Float32, NpuDType.Int32, false, 1.0, 0, new[] { 2.5, 3.5, -2.5, 3e9, -3e9, nan }, new[] { 2.0, 4, -2, int.MaxValue, int.MinValue, 0 } };
        yield return new object[] { NpuDType.Int32, NpuDType.Float32, false, 1.0, 0, new[] { 16777217.0, -5 }, new[] { 16777216.0, -5 } };
    }

    [Theory]
    [MemberData(nameof(ConvertCases))]
    public void ConvertRoundsHalfEvenAndSaturates(NpuDType from, NpuDType to, bool intImm, double imm, int zeroPoint, double[] inputs, double[] expected)
    {
        var init = new byte[Region];
        int sSize = from switch { NpuDType.Int8 => 1, NpuDType.Float16 => 2, _ => 4 };
        int dSize = to switch { NpuDType.Int8 => 1, NpuDType.Float16 => 2, _ => 4 };
        for (int e = 0; e < inputs.Length; e++)
        {
            var at = init.AsSpan((int)S1 + e * sSize);
            switch (from)
            {
                case NpuDType.Int8: at[0] = (byte)(sbyte)inputs[e]; break;
                case NpuDType.Float16: BinaryPrimitives.WriteHalfLittleEndian(at, (Half)inputs[e]); break;
                case NpuDType.Int32: BinaryPrimitives.WriteInt32LittleEndian(at, (int)inputs[e]); break;
                default: BinaryPrimitives.WriteSingleLittleEndian(at, (float)inputs[e]); break;
            }
        }

        uint immBits = intImm ? (uint)(int)imm : Instruction.BitsOf((float)imm);
        var cvt = Instruction.Vector(Opcode.VConvert, (byte)to, 1, 1, D, 128, S1, 128, (uint)zeroPoint & 0xFFFFFF, 0,
            flags: intImm ? InstructionFlags.VInt : (byte)0, imm: immBits, aux: (byte)from);
        var local = Run(init, cvt);
        for (int e = 0; e < inputs.Length; e++)
        {
            var at = local.AsSpan((int)D + e * dSize);
            double got = to switch
            {
                NpuDType.Int8 => (sbyte)at[0],
                NpuDType.Float16 => (double)BinaryPrimitives.ReadHalfLittleEndian(at),
                NpuDType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(at),
                _ => BinaryPrimitives.ReadSingleLittleEndian(at),
            };
            if (double.IsNaN(expected[e])) Assert.True(double.IsNaN(got));
            else
            {
                Assert.Equal(expected[e], got);
                if (expected[e] == 0) Assert.Equal(double.IsNegative(expected[e]), double.IsNegative(got));
            }
        }

        // The narrow side's footprint is 32 elements of its own size: nothing after it is written.
        Assert.Equal(0, local[(int)D + 32 * dSize]);
    }
}
