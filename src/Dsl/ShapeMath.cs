using System;

namespace Aot.Dsl;

/// <summary>
/// Shape arithmetic shared by the eager reference: formatting shapes for error messages, row-major strides,
/// axis normalization, numpy broadcasting, and the one index walker (<see cref="Offsets"/>) that every
/// strided access (broadcasting, transposes, slices, reductions, matmul batches) goes through.
/// </summary>
internal static class ShapeMath
{
    /// <summary>"[2, 3]"; "[]" for a scalar.</summary>
    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    /// <summary>Product of the dimensions as an int (tensors are backed by arrays, so counts fit).</summary>
    public static int Count(ReadOnlySpan<int> shape) => checked((int)Tensor.ElementCount(shape));

    /// <summary>Row-major strides of <paramref name="shape"/>, in elements.</summary>
    public static int[] Strides(ReadOnlySpan<int> shape)
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

    /// <summary>Maps a possibly negative axis into [0, rank); throws naming the op otherwise.</summary>
    public static int NormalizeAxis(string op, int axis, int rank)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
        {
            throw new ArgumentOutOfRangeException(paramName: null, $"{op}: axis {axis} is out of range for rank {rank}");
        }

        return a;
    }

    /// <summary>numpy broadcasting of two shapes (aligned from the right, dimensions equal or 1);
    /// null when they are not broadcastable.</summary>
    public static int[]? TryBroadcast(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var shape = new int[rank];
        for (int i = 1; i <= rank; i++)
        {
            int da = i <= a.Length ? a[a.Length - i] : 1;
            int db = i <= b.Length ? b[b.Length - i] : 1;
            if (da != db && da != 1 && db != 1) return null;
            shape[rank - i] = da == 1 ? db : da;
        }

        return shape;
    }

    /// <summary>
    /// Strides for reading a tensor of <paramref name="shape"/> as if it had been broadcast to a shape of rank
    /// <paramref name="outRank"/>: row-major strides of <paramref name="shape"/> (times <paramref name="unit"/>),
    /// right-aligned, and 0 for size-1 and missing leading dimensions.
    /// </summary>
    public static int[] BroadcastStrides(ReadOnlySpan<int> shape, int outRank, int unit = 1)
    {
        var own = Strides(shape);
        var strides = new int[outRank];
        for (int i = 1; i <= shape.Length; i++)
        {
            strides[outRank - i] = shape[shape.Length - i] == 1 ? 0 : own[shape.Length - i] * unit;
        }

        return strides;
    }

    /// <summary>
    /// For every index of <paramref name="shape"/> in row-major order: <paramref name="start"/> + sum(index[d] * strides[d]).
    /// This is the single index walker of the eager reference.
    /// </summary>
    public static int[] Offsets(ReadOnlySpan<int> shape, ReadOnlySpan<int> strides, int start = 0)
    {
        int count = Count(shape);
        var offsets = new int[count];
        var index = new int[shape.Length];
        int offset = start;
        for (int i = 0; i < count; i++)
        {
            offsets[i] = offset;
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                index[d]++;
                offset += strides[d];
                if (index[d] < shape[d]) break;
                offset -= strides[d] * shape[d];
                index[d] = 0;
            }
        }

        return offsets;
    }

    /// <summary>Product of shape[from..to).</summary>
    public static int Product(ReadOnlySpan<int> shape, int from, int to) => Count(shape[from..to]);

    /// <summary>The ops that compute (everything except data movement) take Float32 only.</summary>
    public static void RequireFloat32(string op, Tensor t, string name)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (t.DType != DType.Float32)
        {
            throw new ArgumentException($"{op}: {name} has dtype {t.DType}; only Float32 is supported");
        }
    }

    /// <summary>Data movement ops take the dtypes the eager reference stores: Float32 and Int32.</summary>
    public static void RequireStored(string op, Tensor t, string name)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (t.DType != DType.Float32 && t.DType != DType.Int32)
        {
            throw new ArgumentException($"{op}: {name} has dtype {t.DType}; only Float32 and Int32 are supported");
        }
    }
}
