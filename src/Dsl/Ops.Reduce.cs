using System;

namespace Aot.Dsl;

// Eager reference: the one reduction mechanism (Sum, Mean, Max), Softmax and LayerNorm. Sums accumulate in double.
public static partial class Ops
{
    private enum ReduceKind
    {
        Sum,
        Mean,
        Max,
    }

    private static Tensor Reduce(string op, Tensor x, int[] axes, bool keepDims, ReduceKind kind)
    {
        ShapeMath.RequireFloat32(op, x, "input");
        ArgumentNullException.ThrowIfNull(axes);
        int rank = x.Rank;
        if (axes.Length == 0) throw new ArgumentException($"{op}: no axes given (input {ShapeMath.Format(x.Shape)}); list the axes to reduce");

        var reduced = new bool[rank];
        foreach (int axis in axes)
        {
            int a = ShapeMath.NormalizeAxis(op, axis, rank);
            if (reduced[a]) throw new ArgumentException($"{op}: axes {ShapeMath.Format(axes)} repeat an axis");
            reduced[a] = true;
        }

        // Each input element lands in the output element with the reduced axes' indices set to 0.
        var keptShape = x.ShapeArray();
        int groupSize = 1;
        for (int d = 0; d < rank; d++)
        {
            if (!reduced[d]) continue;
            groupSize *= keptShape[d];
            keptShape[d] = 1;
        }

        var toOutput = ShapeMath.Strides(keptShape);
        for (int d = 0; d < rank; d++)
        {
            if (reduced[d]) toOutput[d] = 0;
        }

        var outShape = keepDims ? keptShape : new int[rank - axes.Length];
        if (!keepDims)
        {
            for (int d = 0, o = 0; d < rank; d++)
            {
                if (!reduced[d]) outShape[o++] = x.Shape[d];
            }
        }

        int outCount = ShapeMath.Count(outShape);
        if (kind == ReduceKind.Max && groupSize == 0 && outCount > 0)
        {
            throw new ArgumentException($"{op}: cannot take the maximum over an empty axis: input {ShapeMath.Format(x.Shape)}, axes {ShapeMath.Format(axes)}");
        }

        var acc = new double[outCount];
        if (kind == ReduceKind.Max) Array.Fill(acc, double.NegativeInfinity);
        var map = ShapeMath.Offsets(x.Shape, toOutput);
        ReadOnlySpan<float> input = x.Floats;
        for (int i = 0; i < input.Length; i++)
        {
            ref double slot = ref acc[map[i]];
            double v = input[i];
            if (kind != ReduceKind.Max) slot += v;
            else if (v > slot || double.IsNaN(v)) slot = v; // NaN propagates (once NaN, nothing compares greater)
        }

        var result = Tensor.Zeros(outShape);
        var output = result.Floats;
        for (int o = 0; o < outCount; o++) output[o] = (float)(kind == ReduceKind.Mean ? acc[o] / groupSize : acc[o]);
        return result;
    }

    private static Tensor EagerSoftmax(Tensor x, int axis)
    {
        const string op = "Softmax";
        ShapeMath.RequireFloat32(op, x, "input");
        int a = ShapeMath.NormalizeAxis(op, axis, x.Rank);
        int n = x.Shape[a];
        int outer = ShapeMath.Product(x.Shape, 0, a), inner = ShapeMath.Product(x.Shape, a + 1, x.Rank);

        var result = Tensor.Zeros(x.ShapeArray());
        ReadOnlySpan<float> input = x.Floats;
        var output = result.Floats;
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int start = o * n * inner + i;
                double max = double.NegativeInfinity;
                for (int t = 0; t < n; t++)
                {
                    double v = input[start + t * inner];
                    if (v > max || double.IsNaN(v)) max = v;
                }

                double sum = 0;
                for (int t = 0; t < n; t++) sum += Math.Exp(input[start + t * inner] - max);
                for (int t = 0; t < n; t++) output[start + t * inner] = (float)(Math.Exp(input[start + t * inner] - max) / sum);
            }
        }

        return result;
    }

    private static Tensor EagerLayerNorm(Tensor x, Tensor gamma, Tensor beta, float epsilon)
    {
        const string op = "LayerNorm";
        ShapeMath.RequireFloat32(op, x, "input");
        ShapeMath.RequireFloat32(op, gamma, "gamma");
        ShapeMath.RequireFloat32(op, beta, "beta");
        int r = gamma.Rank;
        if (r == 0 || r > x.Rank)
        {
            throw new ArgumentException($"{op}: gamma has shape {ShapeMath.Format(gamma.Shape)}; it must have rank 1 to {x.Rank} (the normalized trailing dimensions of the input {ShapeMath.Format(x.Shape)})");
        }

        var normalized = x.Shape[(x.Rank - r)..];
        foreach (var (t, role) in new[] { (gamma, "gamma"), (beta, "beta") })
        {
            if (!t.Shape.SequenceEqual(normalized))
            {
                throw new ArgumentException($"{op}: {role} has shape {ShapeMath.Format(t.Shape)}, expected {ShapeMath.Format(normalized)} (the trailing dimensions of the input {ShapeMath.Format(x.Shape)})");
            }
        }

        int n = gamma.Length;
        int rows = ShapeMath.Product(x.Shape, 0, x.Rank - r);
        var result = Tensor.Zeros(x.ShapeArray());
        ReadOnlySpan<float> input = x.Floats, g = gamma.Floats, b = beta.Floats;
        var output = result.Floats;
        for (int row = 0; row < rows; row++)
        {
            var v = input.Slice(row * n, n);
            double mean = 0;
            for (int i = 0; i < n; i++) mean += v[i];
            mean /= n;
            double variance = 0;
            for (int i = 0; i < n; i++) variance += (v[i] - mean) * (v[i] - mean);
            variance /= n;
            double scale = 1.0 / Math.Sqrt(variance + epsilon);
            for (int i = 0; i < n; i++) output[row * n + i] = (float)((v[i] - mean) * scale * g[i] + b[i]);
        }

        return result;
    }
}
