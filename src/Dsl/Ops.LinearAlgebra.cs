using System;

namespace Aot.Dsl;

// Eager reference: MatMul, Linear and Gemm, all through one strided dot product accumulated in double.
public static partial class Ops
{
    /// <summary>sum over t &lt; count of a[aStart + t*aStep] * b[bStart + t*bStep], in double (float products are exact in double).</summary>
    private static double Dot(ReadOnlySpan<float> a, int aStart, int aStep, ReadOnlySpan<float> b, int bStart, int bStep, int count)
    {
        double sum = 0;
        for (int t = 0; t < count; t++) sum += (double)a[aStart + t * aStep] * b[bStart + t * bStep];
        return sum;
    }

    private static Tensor EagerMatMul(Tensor a, Tensor b)
    {
        const string op = "MatMul";
        ShapeMath.RequireFloat32(op, a, "left operand");
        ShapeMath.RequireFloat32(op, b, "right operand");
        string shapes = $"{ShapeMath.Format(a.Shape)} @ {ShapeMath.Format(b.Shape)}";
        if (a.Rank == 0 || b.Rank == 0) throw new ArgumentException($"{op}: operands must have rank >= 1, got {shapes}");

        // Rank-1 promotion: a[k] -> [1, k], b[k] -> [k, 1].
        int[] aShape = a.Rank == 1 ? new[] { 1, a.Shape[0] } : a.ShapeArray();
        int[] bShape = b.Rank == 1 ? new[] { b.Shape[0], 1 } : b.ShapeArray();
        int m = aShape[^2], k = aShape[^1], kb = bShape[^2], n = bShape[^1];
        if (k != kb) throw new ArgumentException($"{op}: inner dimensions differ: {shapes} ({k} != {kb})");

        var aBatch = aShape.AsSpan(0, aShape.Length - 2);
        var bBatch = bShape.AsSpan(0, bShape.Length - 2);
        var batch = ShapeMath.TryBroadcast(aBatch, bBatch)
            ?? throw new ArgumentException($"{op}: batch dimensions of {ShapeMath.Format(a.Shape)} and {ShapeMath.Format(b.Shape)} are not broadcastable");
        var aStarts = ShapeMath.Offsets(batch, ShapeMath.BroadcastStrides(aBatch, batch.Length, m * k));
        var bStarts = ShapeMath.Offsets(batch, ShapeMath.BroadcastStrides(bBatch, batch.Length, k * n));

        var outShape = new int[batch.Length + (a.Rank > 1 ? 1 : 0) + (b.Rank > 1 ? 1 : 0)];
        batch.CopyTo(outShape, 0);
        if (a.Rank > 1) outShape[batch.Length] = m;
        if (b.Rank > 1) outShape[^1] = n;

        var result = Tensor.Zeros(outShape);
        ReadOnlySpan<float> x = a.Floats, y = b.Floats;
        var output = result.Floats;
        for (int bi = 0; bi < aStarts.Length; bi++)
        {
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    output[(bi * m + i) * n + j] = (float)Dot(x, aStarts[bi] + i * k, 1, y, bStarts[bi] + j, n, k);
                }
            }
        }

        return result;
    }

    private static Tensor EagerLinear(Tensor x, Tensor weight, Tensor? bias)
    {
        const string op = "Linear";
        ShapeMath.RequireFloat32(op, x, "input");
        ShapeMath.RequireFloat32(op, weight, "weight");
        if (bias is not null) ShapeMath.RequireFloat32(op, bias, "bias");
        if (weight.Rank != 2) throw new ArgumentException($"{op}: weight must be [out, in], got {ShapeMath.Format(weight.Shape)}");
        if (x.Rank == 0) throw new ArgumentException($"{op}: input must have rank >= 1, got {ShapeMath.Format(x.Shape)}");

        int outFeatures = weight.Shape[0], inFeatures = weight.Shape[1];
        if (x.Shape[^1] != inFeatures)
        {
            throw new ArgumentException($"{op}: input features differ: input {ShapeMath.Format(x.Shape)}, weight {ShapeMath.Format(weight.Shape)} ({x.Shape[^1]} != {inFeatures})");
        }

        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != outFeatures))
        {
            throw new ArgumentException($"{op}: bias has shape {ShapeMath.Format(bias.Shape)}, expected [{outFeatures}]");
        }

        var outShape = x.ShapeArray();
        outShape[^1] = outFeatures;
        int rows = ShapeMath.Product(x.Shape, 0, x.Rank - 1);
        var result = Tensor.Zeros(outShape);
        ReadOnlySpan<float> input = x.Floats, w = weight.Floats;
        ReadOnlySpan<float> bb = bias is null ? default : bias.Floats;
        var output = result.Floats;
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < outFeatures; j++)
            {
                double sum = Dot(input, r * inFeatures, 1, w, j * inFeatures, 1, inFeatures);
                if (bias is not null) sum += bb[j];
                output[r * outFeatures + j] = (float)sum;
            }
        }

        return result;
    }

    private static Tensor EagerGemm(Tensor a, Tensor b, Tensor? c, float alpha, float beta, bool transA, bool transB)
    {
        const string op = "Gemm";
        ShapeMath.RequireFloat32(op, a, "A");
        ShapeMath.RequireFloat32(op, b, "B");
        if (c is not null) ShapeMath.RequireFloat32(op, c, "bias");
        if (a.Rank != 2) throw new ArgumentException($"{op}: A must be 2-D, got {ShapeMath.Format(a.Shape)}");
        if (b.Rank != 2) throw new ArgumentException($"{op}: B must be 2-D, got {ShapeMath.Format(b.Shape)}");

        // op(a)[i, t] = a[aStart(i) + t * aStep]; op(b)[t, j] = b[bStart(j) + t * bStep].
        int a0 = a.Shape[0], a1 = a.Shape[1], b0 = b.Shape[0], b1 = b.Shape[1];
        int m = transA ? a1 : a0, k = transA ? a0 : a1;
        int kb = transB ? b1 : b0, n = transB ? b0 : b1;
        if (k != kb)
        {
            throw new ArgumentException(
                $"{op}: inner dimensions differ: {ShapeMath.Format(a.Shape)}{(transA ? "^T" : "")} @ {ShapeMath.Format(b.Shape)}{(transB ? "^T" : "")} ({k} != {kb})");
        }

        int aRowStride = transA ? 1 : a1, aStep = transA ? a1 : 1;
        int bColStride = transB ? b1 : 1, bStep = transB ? 1 : b1;

        int[] outShape = { m, n };
        int[]? cOffsets = null;
        if (c is not null)
        {
            var broadcast = ShapeMath.TryBroadcast(c.Shape, outShape);
            if (c.Rank > 2 || broadcast is null || broadcast[0] != m || broadcast[1] != n)
            {
                throw new ArgumentException($"{op}: bias of shape {ShapeMath.Format(c.Shape)} does not broadcast to the output [{m}, {n}]");
            }

            cOffsets = ShapeMath.Offsets(outShape, ShapeMath.BroadcastStrides(c.Shape, 2));
        }

        var result = Tensor.Zeros(outShape);
        ReadOnlySpan<float> x = a.Floats, y = b.Floats;
        ReadOnlySpan<float> z = c is null ? default : c.Floats;
        var output = result.Floats;
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double value = (double)alpha * Dot(x, i * aRowStride, aStep, y, j * bColStride, bStep, k);
                if (cOffsets is not null) value += (double)beta * z[cOffsets[i * n + j]];
                output[i * n + j] = (float)value;
            }
        }

        return result;
    }
}
