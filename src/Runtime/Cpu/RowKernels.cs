using System;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Aot.Runtime.Cpu;

/// <summary>
/// Vectorized normalizations over one contiguous row, called by generated kernels when the normalized axes are
/// innermost (the common case: softmax over attention scores, layer norm over features). Three passes for
/// softmax (max, exp and sum, scale) and three for layer norm (mean, variance of the centred values, affine),
/// each a <see cref="Vector{T}"/> loop with a scalar tail; exp is <see cref="KernelMath.Exp(Vector{float})"/>.
/// Sums accumulate in float vectors (lanes add disjoint partial sums, so rows of a few thousand elements stay within
/// about 1e-6 relative).
/// </summary>
public static class RowKernels
{
    public static void Softmax(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length;
        int width = Vector<float>.Count;
        var xs = MemoryMarshal.Cast<float, Vector<float>>(x);
        var ys = MemoryMarshal.Cast<float, Vector<float>>(y);
        int vectorEnd = xs.Length * width;

        var maxV = new Vector<float>(float.NegativeInfinity);
        foreach (var v in xs) maxV = KernelMath.Max(maxV, v);
        float max = float.NegativeInfinity;
        for (int i = 0; i < width && xs.Length > 0; i++) max = MathF.Max(max, maxV[i]);
        for (int i = vectorEnd; i < n; i++) max = MathF.Max(max, x[i]);

        var sumV = Vector<float>.Zero;
        var maxB = new Vector<float>(max);
        for (int i = 0; i < xs.Length; i++)
        {
            var e = KernelMath.Exp(xs[i] - maxB);
            ys[i] = e;
            sumV += e;
        }

        float sum = Vector.Dot(sumV, Vector<float>.One);
        for (int i = vectorEnd; i < n; i++)
        {
            float e = MathF.Exp(x[i] - max);
            y[i] = e;
            sum += e;
        }

        float scale = 1f / sum;
        var scaleV = new Vector<float>(scale);
        for (int i = 0; i < ys.Length; i++) ys[i] *= scaleV;
        for (int i = vectorEnd; i < n; i++) y[i] *= scale;
    }

    public static void LayerNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y)
    {
        int n = x.Length;
        int width = Vector<float>.Count;
        var xs = MemoryMarshal.Cast<float, Vector<float>>(x);
        int vectorEnd = xs.Length * width;

        var sumV = Vector<float>.Zero;
        foreach (var v in xs) sumV += v;
        float sum = Vector.Dot(sumV, Vector<float>.One);
        for (int i = vectorEnd; i < n; i++) sum += x[i];
        float mean = sum / n;

        var meanV = new Vector<float>(mean);
        var squaresV = Vector<float>.Zero;
        foreach (var v in xs)
        {
            var d = v - meanV;
            squaresV += d * d;
        }

        float squares = Vector.Dot(squaresV, Vector<float>.One);
        for (int i = vectorEnd; i < n; i++) squares += (x[i] - mean) * (x[i] - mean);
        float rstd = 1f / MathF.Sqrt(squares / n + epsilon);

        var rstdV = new Vector<float>(rstd);
        var gs = MemoryMarshal.Cast<float, Vector<float>>(gamma);
        var bs = MemoryMarshal.Cast<float, Vector<float>>(beta);
        var ys = MemoryMarshal.Cast<float, Vector<float>>(y);
        for (int i = 0; i < xs.Length; i++) ys[i] = (xs[i] - meanV) * rstdV * gs[i] + bs[i];
        for (int i = vectorEnd; i < n; i++) y[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
    }
}
