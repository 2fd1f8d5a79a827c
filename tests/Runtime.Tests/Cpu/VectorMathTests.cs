using System.Numerics;
using System.Runtime.Intrinsics;
using Aot.Runtime;

namespace Runtime.Tests.Cpu;

/// <summary>The vector approximations in KernelMath against double precision, over dense grids, with the bounds
/// their documentation states.</summary>
public class VectorMathTests
{
    private static IEnumerable<float> Grid(float from, float to, int points) =>
        Enumerable.Range(0, points).Select(i => from + (to - from) * i / (points - 1));

    private static void Check(Func<Vector<float>, Vector<float>> f, Func<double, double> reference, IEnumerable<float> xs, double absolute, double relative) =>
        Check(Blocks(Vector<float>.Count, (values, i) => f(new Vector<float>(values, i)).CopyTo(values, i)), reference, xs, absolute, relative);

    private static void Check512(Func<Vector512<float>, Vector512<float>> f, Func<double, double> reference, IEnumerable<float> xs, double absolute, double relative) =>
        Check(Blocks(Vector512<float>.Count, (values, i) => f(Vector512.Create(values.AsSpan(i))).CopyTo(values, i)), reference, xs, absolute, relative);

    /// <summary>f applied in place to blocks of <paramref name="width"/> (the values padded to a whole number of blocks).</summary>
    private static Func<float[], float[]> Blocks(int width, Action<float[], int> inPlace) => values =>
    {
        var padded = new float[(values.Length + width - 1) / width * width];
        values.CopyTo(padded, 0);
        for (int i = 0; i < padded.Length; i += width) inPlace(padded, i);
        return padded;
    };

    private static void Check(Func<float[], float[]> apply, Func<double, double> reference, IEnumerable<float> xs, double absolute, double relative)
    {
        var values = xs.ToArray();
        var result = apply(values);
        for (int i = 0; i < values.Length; i++)
        {
            double expected = reference(values[i]);
            double error = Math.Abs(result[i] - expected);
            Assert.True(error <= absolute + relative * Math.Abs(expected), $"f({values[i]}) = {result[i]}, expected {expected} (error {error:E2})");
        }
    }

    [Fact]
    public void ExpHasRelativeErrorBelow2e7() => Check(KernelMath.Exp, Math.Exp, Grid(-87f, 88f, 200_001), 0, 2e-7);

    [Fact]
    public void ExpSaturatesAndKeepsNaN()
    {
        var r = KernelMath.Exp(new Vector<float>(-100f));
        Assert.Equal(0f, r[0]);
        Assert.Equal(float.PositiveInfinity, KernelMath.Exp(new Vector<float>(100f))[0]);
        Assert.True(float.IsNaN(KernelMath.Exp(new Vector<float>(float.NaN))[0]));
    }

    [Fact]
    public void SigmoidHasAbsoluteErrorBelow1e7() => Check(KernelMath.Sigmoid, x => 1 / (1 + Math.Exp(-x)), Grid(-30f, 30f, 200_001), 1e-7, 0);

    [Fact]
    public void SigmoidSaturatesWithoutDenormalsAndKeepsNaN()
    {
        foreach (float x in new[] { -200f, -88f, -87.5f, float.NegativeInfinity })
        {
            float s = KernelMath.Sigmoid(new Vector<float>(x))[0];
            Assert.True(s >= 0f && s < 2e-38f && (s == 0f || float.IsNormal(s)), $"sigmoid({x}) = {s}");
        }

        foreach (float x in new[] { 88f, 200f, float.PositiveInfinity }) Assert.Equal(1f, KernelMath.Sigmoid(new Vector<float>(x))[0]);
        Assert.True(float.IsNaN(KernelMath.Sigmoid(new Vector<float>(float.NaN))[0]));
    }

    [Fact]
    public void ReluMatchesMathFMaxBitForBit()
    {
        foreach (float x in new[] { 0f, -0f, 1.5f, -1.5f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon })
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(MathF.Max(x, 0f)), BitConverter.SingleToInt32Bits(KernelMath.Relu(new Vector<float>(x))[0]));
        }
    }

    [Fact]
    public void TanhHasAbsoluteErrorBelow2e7() => Check(KernelMath.Tanh, Math.Tanh, Grid(-20f, 20f, 200_001), 2e-7, 0);

    [Fact]
    public void ErfHasAbsoluteErrorBelow3e7() => Check(KernelMath.Erf, x => ErfReference(x), Grid(-6f, 6f, 200_001), 3e-7, 0);

    /// <summary>GELU against x Φ(x) in double: absolute error below 1.5e-7 (1 + |x|) for both widths' forms (the
    /// Vector512 one has its own erfc; the Vector&lt;float&gt; one goes through erf), NaN kept.</summary>
    [Fact]
    public void GeluHasAbsoluteErrorBelow1_5e7TimesOnePlusX()
    {
        static double Gelu(double x) => 0.5 * x * (1 + ErfReference(x / Math.Sqrt(2)));
        foreach (float x in Grid(-12f, 12f, 200_001))
        {
            double expected = Gelu(x), bound = 1.5e-7 * (1 + Math.Abs(x));
            float wide = KernelMath.Gelu(Vector512.Create(x))[0], narrow = KernelMath.Gelu(new Vector<float>(x))[0];
            Assert.True(Math.Abs(wide - expected) <= bound, $"Gelu512({x}) = {wide}, expected {expected}");
            Assert.True(Math.Abs(narrow - expected) <= 3 * bound, $"Gelu({x}) = {narrow}, expected {expected}");
        }

        Assert.True(float.IsNaN(KernelMath.Gelu(Vector512.Create(float.NaN))[0]));
        Assert.Equal(float.PositiveInfinity, KernelMath.Gelu(Vector512.Create(float.PositiveInfinity))[0]);
    }

    [Fact]
    public void Erf512HasAbsoluteErrorBelow3e7() => Check512(KernelMath.Erf, x => ErfReference(x), Grid(-6f, 6f, 200_001), 3e-7, 0);

    [Fact]
    public void ErfHandlesSpecialValues()
    {
        foreach (var (x, expected) in new[] { (0f, 0f), (-0f, -0f), (float.PositiveInfinity, 1f), (float.NegativeInfinity, -1f), (1e30f, 1f), (-9f, -1f) })
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(KernelMath.Erf(new Vector<float>(x))[0]));
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(KernelMath.Erf(Vector512.Create(x))[0]));
        }

        Assert.True(float.IsNaN(KernelMath.Erf(new Vector<float>(float.NaN))[0]));
        Assert.True(float.IsNaN(KernelMath.Erf(Vector512.Create(float.NaN))[0]));
    }

    /// <summary>erf in double: Maclaurin series below 3, continued fraction of erfc beyond.</summary>
    private static double ErfReference(double x)
    {
        double z = Math.Abs(x);
        double result;
        if (z < 3)
        {
            double term = z, sum = z;
            for (int n = 1; n < 200; n++)
            {
                term *= -z * z / n;
                sum += term / (2 * n + 1);
            }

            result = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            double f = 0;
            for (int n = 60; n >= 1; n--) f = n / 2.0 / (z + f);
            result = 1 - Math.Exp(-z * z) / Math.Sqrt(Math.PI) / (z + f);
        }

        return x < 0 ? -result : result;
    }

    [Fact]
    public void ComparisonsGiveMasksAndWhereSelectsOnNonzeroLikeTheScalarForms()
    {
        var values = new[] { 0f, -0f, 1f, -1f, 2.5f, float.NaN, float.PositiveInfinity, float.NegativeInfinity };
        var pairs = values.SelectMany(a => values.Select(b => (a, b))).ToArray();
        var cases = new (Func<Vector<float>, Vector<float>, Vector<float>> Vector, Func<float, float, bool> Scalar)[]
        {
            (KernelMath.Equal, (a, b) => a == b), (KernelMath.Greater, (a, b) => a > b), (KernelMath.GreaterOrEqual, (a, b) => a >= b),
            (KernelMath.Less, (a, b) => a < b), (KernelMath.LessOrEqual, (a, b) => a <= b),
        };
        foreach (var (vector, scalar) in cases)
        {
            foreach (var (a, b) in pairs) Assert.Equal(scalar(a, b) ? 1f : 0f, vector(new Vector<float>(a), new Vector<float>(b))[0]);
        }

        foreach (var c in values)
        {
            Assert.Equal(c != 0f ? 7f : -3f, KernelMath.Where(new Vector<float>(c), new Vector<float>(7f), new Vector<float>(-3f))[0]);
        }
    }

    // ---- The Vector512 forms (what generated loops call under Vector512.IsHardwareAccelerated; on other machines these
    // tests run their Vector<float> fallbacks). ----

    [Fact]
    public void Exp512HasRelativeErrorBelow2e7() => Check512(KernelMath.Exp, Math.Exp, Grid(-87f, 88.7f, 200_001), 0, 2e-7);

    [Fact]
    public void Exp512SaturatesWithoutDenormalsAndKeepsNaN()
    {
        foreach (float x in new[] { -87.5f, -100f, -1e30f, float.NegativeInfinity })
        {
            float e = KernelMath.Exp(Vector512.Create(x))[0];
            Assert.True(e >= 0f && e < 1.3e-38f && (e == 0f || float.IsNormal(e)), $"exp({x}) = {e}");
        }

        foreach (float x in new[] { 88.8f, 100f, 1e30f, float.PositiveInfinity }) Assert.Equal(float.PositiveInfinity, KernelMath.Exp(Vector512.Create(x))[0]);
        Assert.True(float.IsNaN(KernelMath.Exp(Vector512.Create(float.NaN))[0]));
    }

    [Fact]
    public void Sigmoid512HasAbsoluteErrorBelow1e7() => Check512(KernelMath.Sigmoid, x => 1 / (1 + Math.Exp(-x)), Grid(-30f, 30f, 200_001), 1e-7, 0);

    [Fact]
    public void Sigmoid512SaturatesWithoutDenormalsAndKeepsNaN()
    {
        foreach (float x in new[] { -200f, -88f, -87.5f, -1e30f, float.NegativeInfinity })
        {
            float s = KernelMath.Sigmoid(Vector512.Create(x))[0];
            Assert.True(s >= 0f && s < 2e-38f && (s == 0f || float.IsNormal(s)), $"sigmoid({x}) = {s}");
        }

        foreach (float x in new[] { 88f, 200f, 1e30f, float.PositiveInfinity }) Assert.Equal(1f, KernelMath.Sigmoid(Vector512.Create(x))[0]);
        Assert.True(float.IsNaN(KernelMath.Sigmoid(Vector512.Create(float.NaN))[0]));
    }

    [Fact]
    public void Tanh512AndErf512AreTheVectorForms()
    {
        Check512(KernelMath.Tanh, Math.Tanh, Grid(-20f, 20f, 20_001), 2e-7, 0);
        Check512(KernelMath.Erf, x => ErfReference(x), Grid(-6f, 6f, 20_001), 3e-7, 0);
    }

    private static readonly float[] Specials = { 0f, -0f, 1.5f, -1.5f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon };

    [Fact]
    public void Relu512MaxAndMinMatchMathFBitForBit()
    {
        foreach (float x in Specials)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(MathF.Max(x, 0f)), BitConverter.SingleToInt32Bits(KernelMath.Relu(Vector512.Create(x))[0]));
            foreach (float y in Specials)
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(MathF.Max(x, y)), BitConverter.SingleToInt32Bits(KernelMath.Max(Vector512.Create(x), Vector512.Create(y))[5]));
                Assert.Equal(BitConverter.SingleToInt32Bits(MathF.Min(x, y)), BitConverter.SingleToInt32Bits(KernelMath.Min(Vector512.Create(x), Vector512.Create(y))[12]));
            }
        }
    }

    [Fact]
    public void Comparisons512GiveMasksAndWhereSelectsOnNonzero()
    {
        var cases = new (Func<Vector512<float>, Vector512<float>, Vector512<float>> Vector, Func<float, float, bool> Scalar)[]
        {
            (KernelMath.Equal, (a, b) => a == b), (KernelMath.Greater, (a, b) => a > b), (KernelMath.GreaterOrEqual, (a, b) => a >= b),
            (KernelMath.Less, (a, b) => a < b), (KernelMath.LessOrEqual, (a, b) => a <= b),
        };
        foreach (var (vector, scalar) in cases)
        {
            foreach (float a in Specials)
            {
                foreach (float b in Specials) Assert.Equal(scalar(a, b) ? 1f : 0f, vector(Vector512.Create(a), Vector512.Create(b))[9]);
            }
        }

        foreach (float c in Specials) Assert.Equal(c != 0f ? 7f : -3f, KernelMath.Where(Vector512.Create(c), Vector512.Create(7f), Vector512.Create(-3f))[15]);
    }

    [Fact]
    public void MultiplyAddIsFusedOrExact()
    {
        // 1 + 2^-23 squared is 1 + 2^-22 + 2^-46; minus (1 + 2^-22) leaves 2^-46 only when fused (0 when rounded twice).
        float a = 1f + MathF.Pow(2, -23), c = -(1f + MathF.Pow(2, -22));
        float fused = KernelMath.MultiplyAdd(Vector512.Create(a), Vector512.Create(a), Vector512.Create(c))[3];
        Assert.True(fused == MathF.Pow(2, -46) || fused == 0f, $"{fused}");
        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported) Assert.Equal(MathF.Pow(2, -46), fused);
        float fused256 = KernelMath.MultiplyAdd(new Vector<float>(a), new Vector<float>(a), new Vector<float>(c))[0];
        Assert.True(fused256 == MathF.Pow(2, -46) || fused256 == 0f, $"{fused256}");
    }

    [Fact]
    public void PartialLoadsAndStoresTouchOnlyTheirLanes()
    {
        var source = Enumerable.Range(1, 40).Select(i => (float)i).ToArray();
        for (int count = 0; count <= 16; count++)
        {
            var v = KernelMath.LoadPartial(source.AsSpan(3), count);
            for (int lane = 0; lane < 16; lane++) Assert.Equal(lane < count ? source[3 + lane] : 0f, v[lane]);

            var destination = Enumerable.Repeat(-1f, 40).ToArray();
            KernelMath.StorePartial(Vector512.Create(5f), destination.AsSpan(7), count);
            for (int i = 0; i < 40; i++) Assert.Equal(i >= 7 && i < 7 + count ? 5f : -1f, destination[i]);
        }

        Assert.ThrowsAny<ArgumentOutOfRangeException>(() => KernelMath.LoadPartial(source.AsSpan(30), 11));
        Assert.ThrowsAny<ArgumentOutOfRangeException>(() => KernelMath.StorePartial(Vector512<float>.Zero, new float[4], 5));
    }

    [Fact]
    public void NonTemporalStoresWriteBlocksAlignedOrNot()
    {
        var buffer = GC.AllocateArray<float>(80, pinned: true);
        int aligned = KernelMath.ElementsToAlignment(buffer) % 16;
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(buffer, System.Runtime.InteropServices.GCHandleType.Pinned);
        Assert.Equal(0, (handle.AddrOfPinnedObject() + 4 * aligned) & 63);
        handle.Free();
        Assert.InRange(KernelMath.ElementsToAlignment(buffer.AsSpan(aligned)), 16, 16);
        Assert.Equal(15, KernelMath.ElementsToAlignment(buffer.AsSpan(aligned + 1)));
        foreach (int start in new[] { aligned, aligned + 3 })
        {
            Array.Fill(buffer, -1f);
            var value = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            KernelMath.StoreNonTemporal(value, ref buffer[0], (nuint)start);
            System.Threading.Thread.MemoryBarrier();
            for (int i = 0; i < buffer.Length; i++) Assert.Equal(i >= start && i < start + 16 ? i - start : -1f, buffer[i]);
        }

        // Prefetching (a hint) past the end of the data neither faults nor changes anything.
        var before = buffer.ToArray();
        KernelMath.PrefetchLines(ref buffer[0], buffer.Length - 8, 3);
        KernelMath.PrefetchLines(ref buffer[0], buffer.Length + 4096, 2);
        Assert.Equal(before, buffer);
    }
}
