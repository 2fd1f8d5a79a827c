using Aot.Runtime.Gpu;

namespace Gpu.Tests;

/// <summary>
/// Accuracy of the device math, measured on the host (the methods are plain arithmetic, so the host computes what a
/// kernel computes, up to FMA contraction) against double-precision references on dense grids, and the special
/// values MathF defines.
/// </summary>
public class GpuMathTests
{
    /// <summary>Max |f(x) - reference(x)| and max relative error over <paramref name="n"/> + 1 points of [lo, hi].</summary>
    private static (double Abs, double Rel) Error(Func<float, float> f, Func<double, double> reference, float lo, float hi, int n)
    {
        double maxAbs = 0, maxRel = 0;
        for (int i = 0; i <= n; i++)
        {
            float x = lo + (hi - lo) * i / n;
            double r = reference(x), o = f(x);
            double abs = Math.Abs(o - r);
            maxAbs = Math.Max(maxAbs, abs);
            if (Math.Abs(r) > 1e-30) maxRel = Math.Max(maxRel, abs / Math.Abs(r));
        }

        return (maxAbs, maxRel);
    }

    /// <summary>erf by its Maclaurin series (|x| &lt; 3) or erfc's continued fraction, both converged in double.</summary>
    private static double Erf(double x)
    {
        double ax = Math.Abs(x);
        double r;
        if (ax < 3)
        {
            double sum = 0, term = ax;
            for (int n = 0; n < 200 && Math.Abs(term) > 1e-22; n++)
            {
                sum += term / (2 * n + 1);
                term *= -ax * ax / (n + 1);
            }

            r = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            r = 1 - Erfc(ax);
        }

        return x < 0 ? -r : r;
    }

    private static double Erfc(double x)
    {
        if (x < 3) return 1 - Erf(x);
        double f = 0;
        for (int k = 60; k >= 1; k--) f = k / 2.0 / (x + f);
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / (x + f);
    }

    /// <summary>The largest relative error over [lo, hi] in units of (ulps + growth |argument(x)|) ulp (2^-24 relative),
    /// the form of bound <see cref="GpuMath.FastExp"/> states (2 + 1.2 |x|): at most 1 when the bound holds.</summary>
    private static double FastExpBoundUse(Func<float, float> f, Func<double, double> reference, Func<float, float> argument, float lo, float hi, int n, double ulps = 2, double growth = 1.2)
    {
        double worst = 0;
        for (int i = 0; i <= n; i++)
        {
            float x = lo + (hi - lo) * i / n;
            double r = reference(x);
            if (Math.Abs(r) < 1e-37) continue;
            double bound = (ulps + growth * Math.Abs(argument(x))) * Math.Pow(2, -24);
            worst = Math.Max(worst, Math.Abs(f(x) - r) / Math.Abs(r) / bound);
        }

        return worst;
    }

    [Fact]
    public void Erf_and_erfc_are_within_3e_7()
    {
        var erf = Error(GpuMath.Erf, Erf, -6f, 6f, 400_000);
        Assert.True(erf.Abs <= 3e-7, $"erf abs {erf.Abs}");
        var erfc = Error(GpuMath.Erfc, v => v < 0 ? 2 - Erfc(-v) : Erfc(v), -6f, 9f, 400_000);
        Assert.True(erfc.Abs <= 3e-7, $"erfc abs {erfc.Abs}");
        double tail = FastExpBoundUse(GpuMath.Erfc, Erfc, v => v * v, 1f, 9f, 200_000, ulps: 6, growth: 4);
        Assert.True(tail <= 1, $"erfc's tail: relative error {tail:F2} times (6 + 4 x^2) ulp");
    }

    /// <summary>FastExp's bound is for ex2.approx on the device (about 2 ulp) after rounding x log2 e; the host's exp2 is
    /// exact, so what this measures is the rounding of the argument, the part that grows with |x|.</summary>
    [Fact]
    public void FastExp_and_sigmoid_stay_within_their_stated_bounds()
    {
        double exp = FastExpBoundUse(GpuMath.FastExp, Math.Exp, v => v, -87f, 88f, 400_000);
        Assert.True(exp <= 1, $"FastExp: relative error {exp:F2} times (2 + 1.2 |x|) ulp");
        var sigmoid = Error(GpuMath.Sigmoid, v => 1 / (1 + Math.Exp(-v)), -30f, 30f, 400_000);
        Assert.True(sigmoid.Abs <= 3e-7, $"sigmoid abs {sigmoid.Abs}");
        Assert.True(Error(GpuMath.Sigmoid, v => 1 / (1 + Math.Exp(-v)), 0f, 30f, 200_000).Rel <= 3e-7, "sigmoid of x >= 0 is relatively accurate");
        Same(0f, GpuMath.FastExp(float.NegativeInfinity), "FastExp(-inf)");
        Same(float.PositiveInfinity, GpuMath.FastExp(float.PositiveInfinity), "FastExp(+inf)");
        Assert.True(float.IsNaN(GpuMath.FastExp(float.NaN)) && float.IsNaN(GpuMath.Sigmoid(float.NaN)));
        Same(0f, GpuMath.Sigmoid(float.NegativeInfinity), "Sigmoid(-inf)");
        Same(1f, GpuMath.Sigmoid(float.PositiveInfinity), "Sigmoid(+inf)");
    }

    [Fact]
    public void Exp_log_tanh_and_pow_are_within_a_few_ulp()
    {
        Assert.True(Error(GpuMath.Exp, Math.Exp, -103f, 88.7f, 400_000).Rel <= 3e-7);
        Assert.True(Error(GpuMath.Log, Math.Log, 1e-30f, 1e30f, 400_000).Rel <= 3e-7);
        Assert.True(Error(GpuMath.Log, Math.Log, 0.5f, 2f, 400_000).Rel <= 3e-7);
        Assert.True(Error(GpuMath.Log, Math.Log, 1e-44f, 1e-38f, 100_000).Rel <= 1e-6, "subnormal arguments");
        Assert.True(Error(GpuMath.Tanh, Math.Tanh, -10f, 10f, 400_000).Abs <= 3e-7);
        Assert.True(Error(GpuMath.Tanh, Math.Tanh, -0.6f, 0.6f, 400_000).Rel <= 3e-7);
        foreach (float y in new[] { 2.5f, -1.75f, 3f, 0.5f })
        {
            Assert.True(Error(v => GpuMath.Pow(v, y), v => Math.Pow(v, y), 0.01f, 10f, 100_000).Rel <= 2e-7, $"pow(x, {y})");
        }

        Assert.True(Error(v => GpuMath.Pow(v, 3f), v => Math.Pow(v, 3), -10f, 10f, 100_000).Rel <= 2e-7, "negative bases with an integer exponent");
    }

    [Fact]
    public void Special_values_follow_MathF()
    {
        var specials = new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1f, -1f, 0.5f, -2f, 1e-45f, 3f, -3f };
        foreach (float a in specials)
        {
            foreach (float b in specials)
            {
                Same(MathF.Pow(a, b), GpuMath.Pow(a, b), $"Pow({a}, {b})");
                Same(MathF.Max(a, b), GpuMath.Max(a, b), $"Max({a}, {b})");
                Same(MathF.Min(a, b), GpuMath.Min(a, b), $"Min({a}, {b})");
            }

            Same(MathF.Max(a, 0f), GpuMath.Relu(a), $"Relu({a})");
            Same(MathF.Abs(a), GpuMath.Abs(a), $"Abs({a})");
            if (!float.IsFinite(a))
            {
                Same(MathF.Exp(a), GpuMath.Exp(a), $"Exp({a})");
                Same(MathF.Tanh(a), GpuMath.Tanh(a), $"Tanh({a})");
                Same(float.IsNaN(a) ? a : MathF.Sign(a), GpuMath.Erf(a), $"Erf({a})");
            }
        }

        Same(float.NegativeInfinity, GpuMath.Log(0f), "Log(0)");
        Same(float.NegativeInfinity, GpuMath.Log(-0f), "Log(-0)");
        Assert.True(float.IsNaN(GpuMath.Log(-1f)));
        Same(0f, GpuMath.Exp(-200f), "Exp(-200)");
        Same(float.PositiveInfinity, GpuMath.Exp(100f), "Exp(100)");
    }

    private static void Same(float expected, float actual, string what)
    {
        bool same = float.IsNaN(expected) ? float.IsNaN(actual) : BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual);
        Assert.True(same, $"{what}: {actual:R}, MathF gives {expected:R}");
    }
}
