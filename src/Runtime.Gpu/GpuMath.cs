using System;
using System.Runtime.CompilerServices;
using ILGPU;

// x != x is the NaN test here on purpose: it compiles to one comparison on every ILGPU backend.
#pragma warning disable CS1718

namespace Aot.Runtime.Gpu;

/// <summary>
/// Math for generated GPU kernels, written with nothing but arithmetic, comparisons, conversions and bit casts, so
/// every ILGPU backend compiles it: the PTX backend has no <see cref="MathF.Exp"/>, <see cref="MathF.Log(float)"/> or
/// <see cref="MathF.Pow"/> without the CUDA SDK's libdevice, and lowers <see cref="MathF.Tanh"/> to
/// <c>tanh.approx</c> (about 2^-11 relative error). Used directly: <see cref="MathF.Sqrt"/> (<c>sqrt.rn</c>) and
/// ILGPU's exp2 (PTX <c>ex2.approx.f32</c>, about 2 ulp; the host and the CPU accelerator compute it exactly) in
/// <see cref="FastExp"/>, which the functions whose large arguments only give negligible values build on.
/// The methods run unchanged on the host, where their accuracy is tested; the semantics follow
/// <see cref="MathF"/> (NaN propagation, signed zeros, infinities).
/// </summary>
public static class GpuMath
{
    // ln 2 split for Cody-Waite range reduction: Ln2Hi has 9 significant bits, so k * Ln2Hi is exact for |k| < 2^15.
    private const float Ln2Hi = 0.693359375f;
    private const float Ln2Lo = -2.12194440e-4f;
    private const float Log2E = 1.44269504f;
    private const double Ln2HiD = 6.93147180369123816490e-01;
    private const double Ln2LoD = 1.90821492927058770002e-10;
    private const double Log2ED = 1.44269504088896338700;

    /// <summary>e^x with a relative error of about 2 ulp; +infinity above 88.72, +0 below -103.97, NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp(float x)
    {
        if (x > 88.7228394f) return float.PositiveInfinity;
        if (x < -103.972084f) return 0f;
        if (x != x) return x;
        float kf = x * Log2E;
        int k = (int)(kf >= 0f ? kf + 0.5f : kf - 0.5f);
        float r = x - k * Ln2Hi - k * Ln2Lo; // |r| <= ln2 / 2 (plus rounding)

        // e^r by its Taylor series to r^7 (truncation below 6e-9 relative for |r| <= 0.35).
        float p = 1f + r * (1f + r * (0.5f + r * (1.66666672e-1f + r * (4.16666679e-2f + r * (8.33333377e-3f
            + r * (1.38888892e-3f + r * 1.98412701e-4f))))));

        // 2^k for k in [-150, 128], in two factors so each stays a normal float.
        int k1 = k >> 1;
        return p * Pow2(k1) * Pow2(k - k1);
    }

    /// <summary>
    /// e^x as 2^(x log2 e) through the device's exp2 (one <c>ex2.approx.f32</c> on CUDA): a relative error of about
    /// (2 + 1.2 |x|) ulp, the rounding of x log2 e growing with |x| (CUDA's <c>__expf</c> computes the same). For the
    /// callers where a large |x| only gives values that do not matter: softmax's e^(x - max) with x - max &lt;= 0,
    /// sigmoid, erfc's tail. Overflow gives +infinity, underflow 0 (or a subnormal), NaN stays NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FastExp(float x) => IntrinsicMath.CPUOnly.Exp2(x * Log2E);

    /// <summary>The natural logarithm with a relative error of about 2 ulp (absolute near 1); NaN below 0, -infinity at ±0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Log(float x)
    {
        if (x != x || x < 0f) return float.NaN;
        if (x == 0f) return float.NegativeInfinity;
        if (x == float.PositiveInfinity) return x;
        int e = 0;
        if (x < 1.17549435e-38f)
        {
            x *= 8388608f; // subnormal: scale by 2^23 first
            e = -23;
        }

        int bits = BitConverter.SingleToInt32Bits(x);
        e += ((bits >> 23) & 0xff) - 127;
        float m = BitConverter.Int32BitsToSingle((bits & 0x007fffff) | 0x3f800000); // [1, 2)
        if (m > 1.41421356f)
        {
            m *= 0.5f;
            e++;
        }

        // log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716: the odd series to s^11 (truncation below 1e-10).
        float f = m - 1f;
        float s = f / (2f + f);
        float z = s * s;
        float logM = 2f * s * (1f + z * (0.333333343f + z * (0.200000003f + z * (0.142857149f + z * (0.111111112f + z * 0.0909090936f)))));
        return (e * Ln2Lo + logM) + e * Ln2Hi;
    }

    /// <summary>
    /// x^y with <see cref="MathF.Pow"/>'s special cases (x^0 = 1, 1^y = 1, negative x only for integer y, zeros and
    /// infinities by sign); otherwise e^(y ln|x|) evaluated in double, so the result is within about 1 ulp.
    /// </summary>
    public static float Pow(float x, float y)
    {
        if (y == 0f || x == 1f) return 1f;
        if (x != x || y != y) return float.NaN;
        float ax = Abs(x);
        float ay = Abs(y);
        if (ay == float.PositiveInfinity)
        {
            if (ax == 1f) return 1f;
            return (ax > 1f) == (y > 0f) ? float.PositiveInfinity : 0f;
        }

        bool integer = ay >= 16777216f || y == (float)(int)y;
        bool odd = ay < 16777216f && integer && ((int)y & 1) != 0;
        bool negative = BitConverter.SingleToInt32Bits(x) < 0; // includes -0
        if (negative && ax != 0f && ax != float.PositiveInfinity && !integer) return float.NaN;
        float magnitude = ax == 0f ? (y > 0f ? 0f : float.PositiveInfinity)
            : ax == float.PositiveInfinity ? (y > 0f ? float.PositiveInfinity : 0f)
            : (float)ExpD(y * LogD(ax));
        return negative && odd ? -magnitude : magnitude;
    }

    /// <summary>tanh(x): an odd Taylor polynomial below 0.55, 1 - 2 / (e^2|x| + 1) above (absolute error below 3e-7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tanh(float x)
    {
        float a = Abs(x);
        if (a < 0.55f)
        {
            float z = x * x;
            return x + x * z * (-0.333333343f + z * (0.133333340f + z * (-0.0539682540f + z * (0.0218694885f
                + z * (-0.00886323550f + z * (0.00359212804f + z * (-0.00145583438f + z * 0.000590027441f)))))));
        }

        if (a > 9.1f) return x > 0f ? 1f : -1f; // tanh(9.1) rounds to 1
        float t = 1f - 2f / (Exp(2f * a) + 1f); // NaN propagates through Exp
        return x < 0f ? -t : t;
    }

    /// <summary>1 / (1 + e^-x) through <see cref="FastExp"/>: an absolute error below 3e-7 (the relative error of
    /// e^-x, growing with |x|, only reaches values of sigmoid that are already below 1e-6 or within 1e-6 of 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x) => 1f / (1f + FastExp(-x));

    /// <summary>
    /// erf(x) with an absolute error below 3e-7, in float: the Maclaurin series for |x| &lt; 1, 1 - erfc(|x|) beyond
    /// (<see cref="Erfc"/>). NaN stays NaN, ±infinity gives ±1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Erf(float x)
    {
        float z = Abs(x);
        if (z < 1f) return x * ErfSeries(z * z);
        float erf = 1f - ErfcPositive(z);
        return x < 0f ? -erf : erf;
    }

    /// <summary>erfc(x) = 1 - erf(x) with an absolute error below 3e-7; beyond 1 the error is relative, below
    /// (6 + 4 x^2) ulp (the fit's 1.2e-7, and the rounding of <see cref="FastExp"/>'s argument, about -x^2). The exact Gelu computes 0.5 x erfc(-x / sqrt 2) with it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Erfc(float x)
    {
        float z = Abs(x);
        if (z < 1f) return 1f - x * ErfSeries(z * z);
        float erfc = ErfcPositive(z);
        return x < 0f ? 2f - erfc : erfc;
    }

    /// <summary><see cref="MathF.Max(float, float)"/>: NaN when either is NaN, +0 over -0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Max(float a, float b)
    {
        if (a != a) return a;
        if (b != b) return b;
        if (a == b) return BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(a) & BitConverter.SingleToInt32Bits(b));
        return a > b ? a : b;
    }

    /// <summary><see cref="MathF.Min(float, float)"/>: NaN when either is NaN, -0 under +0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Min(float a, float b)
    {
        if (a != a) return a;
        if (b != b) return b;
        if (a == b) return BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(a) | BitConverter.SingleToInt32Bits(b));
        return a < b ? a : b;
    }

    /// <summary>max(x, 0) like <see cref="MathF.Max(float, float)"/>: NaN stays NaN, -0 becomes +0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Relu(float x) => x > 0f ? x : x != x ? x : 0f;

    /// <summary>|x| by clearing the sign bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Abs(float x) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(x) & 0x7fffffff);

    /// <summary>The correctly rounded square root (PTX <c>sqrt.rn.f32</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sqrt(float x) => MathF.Sqrt(x);

    /// <summary>2^k for k in [-126, 127], built from its bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Pow2(int k) => BitConverter.Int32BitsToSingle((k + 127) << 23);

    /// <summary>erf(x) / x as a polynomial in x^2: the Maclaurin series 2/sqrt(pi) * sum (-1)^n x^2n / (n! (2n+1)),
    /// truncated after n = 9 (remainder below 2e-8 for x^2 &lt; 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ErfSeries(float x2) =>
        1.12837917f + x2 * (-0.376126389f + x2 * (0.112837917f + x2 * (-0.0268661706f + x2 * (0.00522397762f
        + x2 * (-0.000854832702f + x2 * (0.000120553330f + x2 * (-1.49256504e-05f + x2 * (1.64621144e-06f
        + x2 * -1.63658447e-07f))))))));

    /// <summary>erfc(z) for z &gt;= 1 (Numerical Recipes' erfcc, fractional error &lt; 1.2e-7, here in float with
    /// <see cref="FastExp"/>); NaN propagates, +infinity gives 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ErfcPositive(float z)
    {
        float t = 1f / (1f + 0.5f * z);
        return t * FastExp(-z * z - 1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f
            + t * (-0.18628806f + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f
            + t * (-0.82215223f + t * 0.17087277f)))))))));
    }

    /// <summary>e^x in double (relative error about 1e-15): the same range reduction as <see cref="Exp"/>, a Taylor
    /// series to r^12. +infinity above 709.78, +0 below -745.13.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double ExpD(double x)
    {
        if (x > 709.782712893384) return double.PositiveInfinity;
        if (x < -745.1332191019412) return 0.0;
        if (x != x) return x;
        double kd = x * Log2ED;
        int k = (int)(kd >= 0.0 ? kd + 0.5 : kd - 0.5);
        double r = x - k * Ln2HiD - k * Ln2LoD;
        double p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720
            + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (1.0 / 3628800 + r * (1.0 / 39916800
            + r * (1.0 / 479001600))))))))))));
        int k1 = k >> 1;
        return p * Pow2D(k1) * Pow2D(k - k1);
    }

    /// <summary>The natural logarithm of a positive, finite, normal double (relative error about 1e-16): the same
    /// reduction as <see cref="Log"/>, the atanh series to s^23.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double LogD(double x)
    {
        long bits = BitConverter.DoubleToInt64Bits(x);
        int e = (int)((bits >> 52) & 0x7ff) - 1023;
        double m = BitConverter.Int64BitsToDouble((bits & 0x000fffffffffffffL) | 0x3ff0000000000000L);
        if (m > 1.4142135623730951)
        {
            m *= 0.5;
            e++;
        }

        double f = m - 1.0;
        double s = f / (2.0 + f);
        double z = s * s;
        double logM = 2.0 * s * (1.0 + z * (1.0 / 3 + z * (1.0 / 5 + z * (1.0 / 7 + z * (1.0 / 9 + z * (1.0 / 11 + z * (1.0 / 13
            + z * (1.0 / 15 + z * (1.0 / 17 + z * (1.0 / 19 + z * (1.0 / 21 + z * (1.0 / 23))))))))))));
        return (e * Ln2LoD + logM) + e * Ln2HiD;
    }

    /// <summary>2^k for k in [-1022, 1023], built from its bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Pow2D(int k) => BitConverter.Int64BitsToDouble((long)(k + 1023) << 52);
}
