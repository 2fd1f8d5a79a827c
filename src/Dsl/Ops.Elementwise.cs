using System;
using System.Linq;
using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Dsl.Tests")]

namespace Aot.Dsl;

// Eager reference: the one broadcasting binary mechanism, the one unary mechanism, and erf.
public static partial class Ops
{
    /// <summary>Elementwise f(a, b) with numpy broadcasting; both operands Float32.</summary>
    private static Tensor Binary(string op, Tensor a, Tensor b, Func<float, float, float> f) =>
        Broadcasting(op, new[] { a, b }, new[] { "left operand", "right operand" }, v => f(v[0], v[1]));

    /// <summary>Elementwise f over Float32 operands (named <paramref name="roles"/> in errors) broadcast together with
    /// numpy rules; f reads one element of each operand, in order.</summary>
    private static Tensor Broadcasting(string op, Tensor[] operands, string[] roles, Func<float[], float> f)
    {
        int[] shape = Array.Empty<int>();
        for (int k = 0; k < operands.Length; k++)
        {
            ShapeMath.RequireFloat32(op, operands[k], roles[k]);
            shape = ShapeMath.TryBroadcast(shape, operands[k].Shape)
                ?? throw new ArgumentException($"{op}: shapes {string.Join(" and ", operands.Take(k + 1).Select(t => ShapeMath.Format(t.Shape)))} are not broadcastable");
        }

        var offsets = operands.Select(t => ShapeMath.Offsets(shape, ShapeMath.BroadcastStrides(t.Shape, shape.Length))).ToArray();
        var result = Tensor.Zeros(shape);
        var output = result.Floats;
        var element = new float[operands.Length];
        for (int i = 0; i < output.Length; i++)
        {
            for (int k = 0; k < operands.Length; k++) element[k] = operands[k].Floats[offsets[k][i]];
            output[i] = f(element);
        }

        return result;
    }

    /// <summary>Elementwise f(x), evaluated in double and rounded to float.</summary>
    private static Tensor Unary(string op, Tensor x, Func<double, double> f)
    {
        ShapeMath.RequireFloat32(op, x, "input");
        var result = Tensor.Zeros(x.ShapeArray());
        ReadOnlySpan<float> input = x.Floats;
        var output = result.Floats;
        for (int i = 0; i < output.Length; i++) output[i] = (float)f(input[i]);
        return result;
    }

    private static Func<double, double> GeluFunction(GeluMode mode) => mode switch
    {
        // 0.5 x (1 + erf(x / sqrt 2)) written as 0.5 x erfc(-x / sqrt 2): identical, but without the cancellation
        // in 1 + erf for large negative x, so the tail stays accurate.
        GeluMode.Erf => static v => 0.5 * v * ErfcD(-v * 0.70710678118654752440),
        GeluMode.Tanh => static v => 0.5 * v * (1.0 + Math.Tanh(0.79788456080286535588 * (v + 0.044715 * v * v * v))),
        _ => throw new ArgumentOutOfRangeException(paramName: null, $"Gelu: unknown mode {mode}"),
    };

    /// <summary>erf(x) in double precision (W. J. Cody's rational Chebyshev approximations, relative error ~1e-16).</summary>
    internal static double ErfD(double x) => CodyErf(x, complement: false);

    /// <summary>erfc(x) = 1 - erf(x) in double precision, accurate in the tails (Cody).</summary>
    internal static double ErfcD(double x) => CodyErf(x, complement: true);

    // Coefficients of W. J. Cody, "Rational Chebyshev approximations for the error function",
    // Math. Comp. 23 (1969), as published in netlib specfun CALERF.
    private static readonly double[] ErfA = { 3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03, 1.85777706184603153e-1 };
    private static readonly double[] ErfB = { 2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03 };
    private static readonly double[] ErfC = { 5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8 };
    private static readonly double[] ErfDCoeffs = { 1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03 };
    private static readonly double[] ErfP = { 3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2 };
    private static readonly double[] ErfQ = { 2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1, 6.05183413124413191e-2, 2.33520497626869185e-3 };

    private static double CodyErf(double x, bool complement)
    {
        const double OneOverSqrtPi = 5.6418958354775628695e-1;
        const double Threshold = 0.46875;
        const double XSmall = 1.11e-16; // below this, erf(x) = 2x/sqrt(pi) to double precision
        const double XBig = 26.543;     // above this, erfc(x) underflows to 0

        if (double.IsNaN(x)) return double.NaN;
        double y = Math.Abs(x);
        if (y <= Threshold)
        {
            // erf(x) = x * P(x^2) / Q(x^2) on |x| <= 0.46875.
            double ysq = y > XSmall ? y * y : 0.0;
            double num = ErfA[4] * ysq, den = ysq;
            for (int i = 0; i < 3; i++)
            {
                num = (num + ErfA[i]) * ysq;
                den = (den + ErfB[i]) * ysq;
            }

            double erf = x * (num + ErfA[3]) / (den + ErfB[3]);
            return complement ? 1.0 - erf : erf;
        }

        // erfc(|x|) for |x| > 0.46875.
        double erfc;
        if (y >= XBig)
        {
            erfc = 0.0;
        }
        else
        {
            double r;
            if (y <= 4.0)
            {
                double num = ErfC[8] * y, den = y;
                for (int i = 0; i < 7; i++)
                {
                    num = (num + ErfC[i]) * y;
                    den = (den + ErfDCoeffs[i]) * y;
                }

                r = (num + ErfC[7]) / (den + ErfDCoeffs[7]);
            }
            else
            {
                double ysq = 1.0 / (y * y);
                double num = ErfP[5] * ysq, den = ysq;
                for (int i = 0; i < 4; i++)
                {
                    num = (num + ErfP[i]) * ysq;
                    den = (den + ErfQ[i]) * ysq;
                }

                r = ysq * (num + ErfP[4]) / (den + ErfQ[4]);
                r = (OneOverSqrtPi - r) / y;
            }

            // exp(-y^2) computed as exp(-t^2) * exp(-(y - t)(y + t)) with t = y rounded down to 1/16, which
            // avoids the rounding error of forming y^2 directly.
            double t = Math.Truncate(y * 16.0) / 16.0;
            double del = (y - t) * (y + t);
            erfc = Math.Exp(-t * t) * Math.Exp(-del) * r;
        }

        if (complement) return x < 0 ? 2.0 - erfc : erfc;
        double erfAbs = (0.5 - erfc) + 0.5;
        return x < 0 ? -erfAbs : erfAbs;
    }
}
