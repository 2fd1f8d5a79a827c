using Aot.Runtime;

namespace Generator.Tests.Backend;

public class KernelMathTests
{
    /// <summary>The bound the kernels promise for erf (the final rounding to float included).</summary>
    private const double ErfMaxAbsError = 2e-7;

    /// <summary>erf in double: 2/sqrt(pi) e^(-x^2) sum 2^n x^(2n+1) / (2n+1)!!, a series of positive terms (no
    /// cancellation), converging for every x; accurate to ~1e-15 on [-6, 6].</summary>
    private static double ErfReference(double x)
    {
        double term = x, sum = x;
        for (int n = 1; n < 1000 && Math.Abs(term) > 1e-18 * Math.Abs(sum); n++)
        {
            term *= 2 * x * x / (2 * n + 1);
            sum += term;
        }

        return 2 / Math.Sqrt(Math.PI) * Math.Exp(-x * x) * sum;
    }

    /// <summary>erfc(x) for x &gt;= 2 by its continued fraction e^(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),
    /// evaluated backwards from 300 terms: relative accuracy ~1e-15, where 1 - erf would have none.</summary>
    private static double ErfcTailReference(double x)
    {
        double f = x;
        for (int n = 300; n >= 1; n--) f = x + n / 2.0 / f;
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }

    [Fact]
    public void Reference_erf_is_itself_right()
    {
        // Known values (Abramowitz & Stegun table 7.1 / mpmath) and the two references agreeing where both apply.
        Assert.Equal(0.8427007929497149, ErfReference(1.0), 1e-14);
        Assert.Equal(0.9953222650189527, ErfReference(2.0), 1e-14);
        Assert.Equal(-0.5204998778130465, ErfReference(-0.5), 1e-14);
        for (double x = 2; x <= 5.5; x += 0.25) Assert.Equal(1 - ErfReference(x), ErfcTailReference(x), 1e-12);
    }

    [Fact]
    public void Erf_is_within_2e_7_of_the_double_reference_on_a_dense_grid()
    {
        double worst = 0, worstAt = 0;
        for (int i = -60000; i <= 60000; i++)
        {
            float x = i * 1e-4f;
            double error = Math.Abs(KernelMath.Erf(x) - ErfReference(x));
            if (error > worst) (worst, worstAt) = (error, x);
        }

        Assert.True(worst <= ErfMaxAbsError, $"max |Erf(x) - erf(x)| = {worst:g3} at x = {worstAt:R}");
    }

    [Fact]
    public void Erf_handles_special_values_and_is_odd()
    {
        Assert.Equal(0f, KernelMath.Erf(0f));
        Assert.Equal(1f, KernelMath.Erf(float.PositiveInfinity));
        Assert.Equal(-1f, KernelMath.Erf(float.NegativeInfinity));
        Assert.True(float.IsNaN(KernelMath.Erf(float.NaN)));
        Assert.Equal(1f, KernelMath.Erf(10f));
        for (float x = 0.001f; x < 6f; x *= 1.37f) Assert.Equal(-KernelMath.Erf(x), KernelMath.Erf(-x));

        // Tiny arguments keep their relative accuracy (erf(x) ~ 2x/sqrt(pi)).
        Assert.Equal(2 / Math.Sqrt(Math.PI) * 1e-20, KernelMath.Erf(1e-20f), 1e-26);
    }

    [Fact]
    public void Erfc_is_accurate_in_absolute_terms_and_relatively_in_the_tail()
    {
        double worstAbs = 0, worstRel = 0;
        for (int i = -60000; i <= 20000; i++)
        {
            float x = i * 1e-4f;
            worstAbs = Math.Max(worstAbs, Math.Abs(KernelMath.Erfc(x) - (1 - ErfReference(x))));
        }

        for (int i = 20000; i <= 90000; i++)
        {
            float x = i * 1e-4f;
            double reference = ErfcTailReference(x);
            worstRel = Math.Max(worstRel, Math.Abs(KernelMath.Erfc(x) - reference) / reference);
        }

        Assert.True(worstAbs <= ErfMaxAbsError, $"max |Erfc(x) - erfc(x)| on [-6, 2] = {worstAbs:g3}");
        Assert.True(worstRel <= 5e-7, $"max relative error of Erfc on [2, 9] = {worstRel:g3}");
        Assert.Equal(2f, KernelMath.Erfc(float.NegativeInfinity));
        Assert.Equal(0f, KernelMath.Erfc(float.PositiveInfinity));
    }
}
