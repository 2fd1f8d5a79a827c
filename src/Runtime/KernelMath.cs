using System;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Aot.Runtime;

/// <summary>
/// Scalar and vector helpers that generated kernels call where <see cref="MathF"/> and
/// <see cref="Vector"/> have no exact equivalent: the error function, and vector min/max with the semantics of
/// <see cref="MathF.Max(float, float)"/> and <see cref="MathF.Min(float, float)"/> on every target framework.
/// </summary>
public static class KernelMath
{
    /// <summary>
    /// erf(x) for a float argument, with a maximum absolute error below 1e-7 (about 6e-8 including the final
    /// rounding to float). Evaluated in double: a Maclaurin series for |x| &lt; 1, and 1 - erfc(|x|) from the
    /// Numerical Recipes Chebyshev-fitted erfc (relative error &lt; 1.2e-7, while erfc(|x|) &lt;= 0.16 there)
    /// beyond. NaN stays NaN, ±infinity gives ±1.
    /// </summary>
    public static float Erf(float x)
    {
        double z = Math.Abs((double)x);
        if (z < 1.0) return (float)(x * ErfSeries(z * z));
        double erf = 1.0 - ErfcPositive(z);
        return (float)(x < 0 ? -erf : erf);
    }

    /// <summary>
    /// erfc(x) = 1 - erf(x) for a float argument, accurate in the tails: relative error below 1.2e-7 for
    /// x &gt;= 1 (where 1 - erf would cancel), absolute error below 1e-7 elsewhere. Used by the exact Gelu,
    /// 0.5 x erfc(-x / sqrt 2), which equals 0.5 x (1 + erf(x / sqrt 2)) without its cancellation for x &lt;&lt; 0.
    /// </summary>
    public static float Erfc(float x)
    {
        double z = Math.Abs((double)x);
        if (z < 1.0) return (float)(1.0 - x * ErfSeries(z * z));
        double erfc = ErfcPositive(z);
        return (float)(x < 0 ? 2.0 - erfc : erfc);
    }

    /// <summary>Lane-wise maximum with the semantics of <see cref="MathF.Max(float, float)"/> (NaN when either lane is
    /// NaN, +0 over -0), which <see cref="Vector.Max{T}(Vector{T}, Vector{T})"/> does not guarantee on .NET 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Max(Vector<float> a, Vector<float> b)
    {
        var max = Vector.Max(a, b);
        max = Vector.ConditionalSelect(Vector.Equals(a, b), a & b, max); // equal lanes: identical bits, or +0 from ±0
        max = Vector.ConditionalSelect(Vector.Equals(a, a), max, a);
        return Vector.ConditionalSelect(Vector.Equals(b, b), max, b);
    }

    /// <summary>Lane-wise minimum with the semantics of <see cref="MathF.Min(float, float)"/> (NaN when either lane is
    /// NaN, -0 under +0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Min(Vector<float> a, Vector<float> b)
    {
        var min = Vector.Min(a, b);
        min = Vector.ConditionalSelect(Vector.Equals(a, b), a | b, min); // equal lanes: identical bits, or -0 from ±0
        min = Vector.ConditionalSelect(Vector.Equals(a, a), min, a);
        return Vector.ConditionalSelect(Vector.Equals(b, b), min, b);
    }

    /// <summary>erf(x) / x as a polynomial in x^2: the Maclaurin series 2/sqrt(pi) * sum (-1)^n x^2n / (n! (2n+1)),
    /// truncated after n = 12 (remainder below 1e-10 for x^2 &lt; 1).</summary>
    private static double ErfSeries(double x2) =>
        1.1283791670955126 + x2 * (-0.37612638903183754 + x2 * (0.11283791670955126 + x2 * (-0.026866170645131252
        + x2 * (0.005223977625442188 + x2 * (-0.0008548327023450852 + x2 * (0.00012055332981789664
        + x2 * (-1.492565035840625e-05 + x2 * (1.6462114365889246e-06 + x2 * (-1.6365844691234924e-07
        + x2 * (1.4807192815879218e-08 + x2 * (-1.2290555301717926e-09 + x2 * 9.422759064650411e-11)))))))))));

    /// <summary>erfc(z) for z &gt;= 0 (Numerical Recipes' erfcc, fractional error &lt; 1.2e-7); NaN propagates.</summary>
    private static double ErfcPositive(double z)
    {
        double t = 1.0 / (1.0 + 0.5 * z);
        return t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
            + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
            + t * (-0.82215223 + t * 0.17087277)))))))));
    }
}
