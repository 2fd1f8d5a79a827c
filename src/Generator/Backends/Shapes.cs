using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Aot.Generator.IR;

namespace Aot.Generator.Backends;

/// <summary>
/// Backend-neutral shape arithmetic and literal formatting: row-major and broadcast strides, coalescing of
/// iteration spaces, C# literals. Broadcasting of shapes, slice bounds and convolution output sizes are shape rules
/// and live in <see cref="ShapeInference"/>.
/// </summary>
internal static class Shapes
{
    public static int[] Of(Graph graph, int value) => graph.TypeOf(value).ShapeArray();

    /// <summary>Row-major strides of <paramref name="shape"/>, in elements.</summary>
    public static int[] RowMajorStrides(int[] shape)
    {
        var strides = new int[shape.Length];
        int stride = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            strides[d] = stride;
            stride *= shape[d];
        }

        return strides;
    }

    /// <summary>Strides for reading a tensor of <paramref name="shape"/> broadcast (numpy rules) to
    /// <paramref name="target"/>: right-aligned row-major strides times <paramref name="unit"/>, 0 on size-1 and
    /// missing leading dimensions.</summary>
    public static int[] BroadcastStrides(int[] shape, int[] target, int unit = 1)
    {
        var own = RowMajorStrides(shape);
        var strides = new int[target.Length];
        for (int i = 1; i <= shape.Length; i++)
        {
            strides[target.Length - i] = shape[shape.Length - i] == 1 ? 0 : own[shape.Length - i] * unit;
        }

        return strides;
    }

    /// <summary>Strides (in elements) of a view with shape <paramref name="shape"/> and strides <paramref name="strides"/>
    /// read broadcast over batch shape <paramref name="batch"/>: right-aligned, 0 on missing and size-1 dimensions.</summary>
    public static int[] BatchStrides(int[] shape, int[] strides, int[] batch)
    {
        var result = new int[batch.Length];
        for (int i = 1; i <= shape.Length; i++) result[batch.Length - i] = shape[shape.Length - i] == 1 ? 0 : strides[shape.Length - i];
        return result;
    }

    /// <summary>Product of shape[from..to).</summary>
    public static int Product(int[] shape, int from, int to)
    {
        int n = 1;
        for (int d = from; d < to; d++) n *= shape[d];
        return n;
    }

    public static long Count(int[] shape) => shape.Aggregate(1L, (p, d) => p * d);

    /// <summary>
    /// Simplifies an iteration space walked by several views at once: drops size-1 dimensions and merges each
    /// dimension into the previous one when every view steps over both as one (stride[prev] == stride[d] * shape[d]).
    /// The element order is unchanged; a fully contiguous walk becomes a single dimension, a scalar none.
    /// </summary>
    public static (int[] Shape, int[][] Strides) Coalesce(int[] shape, IReadOnlyList<int[]> strides)
    {
        var dims = new List<int>();
        var merged = strides.Select(_ => new List<int>()).ToArray();
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 1) continue;
            int last = dims.Count - 1;
            bool contiguous = last >= 0;
            for (int k = 0; contiguous && k < strides.Count; k++) contiguous = merged[k][last] == strides[k][d] * shape[d];
            if (contiguous)
            {
                dims[last] *= shape[d];
                for (int k = 0; k < strides.Count; k++) merged[k][last] = strides[k][d];
            }
            else
            {
                dims.Add(shape[d]);
                for (int k = 0; k < strides.Count; k++) merged[k].Add(strides[k][d]);
            }
        }

        return (dims.ToArray(), merged.Select(m => m.ToArray()).ToArray());
    }

    public static string Lit(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A float literal that round-trips (and the named constants for the non-finite values).</summary>
    public static string Lit(float value) => value switch
    {
        float.PositiveInfinity => "float.PositiveInfinity",
        float.NegativeInfinity => "float.NegativeInfinity",
        _ when float.IsNaN(value) => "float.NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture) + "f",
    };

    public static string Fmt(int[] shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>"a + b" without "0 + " noise.</summary>
    public static string Plus(string a, string b) => a == "0" ? b : b == "0" ? a : a + " + " + b;

    /// <summary>"i * stride" without "* 1" noise ("0" for stride 0).</summary>
    public static string Times(string index, long stride) => stride == 0 ? "0" : stride == 1 ? index : index + " * " + Lit(stride);

    public static int CeilDiv(int a, int b) => (a + b - 1) / b;

    public static long CeilDiv(long a, long b) => (a + b - 1) / b;
}
