using System.Numerics;
using Aot.Runtime;

namespace Runtime.Tests.Cpu;

/// <summary>The vector approximations in KernelMath against double precision, over dense grids, with the bounds
/// their documentation states.</summary>
public class VectorMathTests
{
    private static IEnumerable<float> Grid(float from, float to, int points) =>
        Enumerable.Range(0, points).Select(i => from + (to - from) * i / (points - 1));

    private static void Check(Func<Vector<float>, Vector<float>> f, Func<double, double> reference, IEnumerable<float> xs, double absolute, double relative)
    {
        var values = xs.ToArray();
        int width = Vector<float>.Count;
        var padded = new float[(values.Length + width - 1) / width * width];
        values.CopyTo(padded, 0);
        var result = new float[padded.Length];
        for (int i = 0; i < padded.Length; i += width) f(new Vector<float>(padded, i)).CopyTo(result, i);
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
}
