using System;

namespace Aot.Dsl;

// Eager reference: data movement. These accept Float32 and Int32 tensors; elements are only copied, never computed.
public static partial class Ops
{
    /// <summary>A new tensor of <paramref name="shape"/> whose element i is x's element source[i].</summary>
    private static Tensor Take(Tensor x, int[] shape, int[] source)
    {
        var result = Tensor.Zeros(x.DType, shape);
        if (x.DType == DType.Float32) Take<float>(x.Floats, result.Floats, source);
        else Take<int>(x.Ints, result.Ints, source);
        return result;
    }

    private static void Take<T>(ReadOnlySpan<T> source, Span<T> destination, int[] map)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = source[map[i]];
    }

    /// <summary>Copies <paramref name="count"/> contiguous elements between tensors of the same dtype.</summary>
    private static void CopyRange(Tensor source, int sourceStart, Tensor destination, int destinationStart, int count)
    {
        if (source.DType == DType.Float32) source.Floats.Slice(sourceStart, count).CopyTo(destination.Floats.Slice(destinationStart, count));
        else source.Ints.Slice(sourceStart, count).CopyTo(destination.Ints.Slice(destinationStart, count));
    }

    private static Tensor EagerReshape(Tensor x, int[] shape)
    {
        const string op = "Reshape";
        ShapeMath.RequireStored(op, x, "input");
        ArgumentNullException.ThrowIfNull(shape);
        var newShape = (int[])shape.Clone();
        int inferred = -1;
        long known = 1;
        for (int d = 0; d < newShape.Length; d++)
        {
            if (newShape[d] == -1)
            {
                if (inferred >= 0) throw new ArgumentException($"{op}: only one dimension can be -1, got {ShapeMath.Format(shape)}");
                inferred = d;
            }
            else if (newShape[d] < 0)
            {
                throw new ArgumentException($"{op}: dimension {newShape[d]} in {ShapeMath.Format(shape)} is negative");
            }
            else
            {
                known *= newShape[d];
            }
        }

        string from = $"{ShapeMath.Format(x.Shape)} ({x.Length} elements)";
        if (inferred >= 0)
        {
            if (known == 0 || x.Length % known != 0) throw new ArgumentException($"{op}: cannot reshape {from} to {ShapeMath.Format(shape)}: {x.Length} is not a multiple of {known}");
            newShape[inferred] = (int)(x.Length / known);
        }
        else if (known != x.Length)
        {
            throw new ArgumentException($"{op}: cannot reshape {from} to {ShapeMath.Format(shape)} ({known} elements)");
        }

        var result = Tensor.Zeros(x.DType, newShape);
        CopyRange(x, 0, result, 0, x.Length);
        return result;
    }

    private static Tensor EagerTranspose(Tensor x, int[] perm)
    {
        const string op = "Transpose";
        ShapeMath.RequireStored(op, x, "input");
        ArgumentNullException.ThrowIfNull(perm);
        int rank = x.Rank;
        if (perm.Length == 0)
        {
            perm = new int[rank];
            for (int i = 0; i < rank; i++) perm[i] = rank - 1 - i;
        }

        string notPermutation = $"{op}: {ShapeMath.Format(perm)} is not a permutation of the {rank} axes of {ShapeMath.Format(x.Shape)}";
        if (perm.Length != rank) throw new ArgumentException(notPermutation);

        var seen = new bool[rank];
        var inStrides = ShapeMath.Strides(x.Shape);
        var outShape = new int[rank];
        var strides = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int axis = perm[i];
            if (axis < 0 || axis >= rank || seen[axis]) throw new ArgumentException(notPermutation);
            seen[axis] = true;
            outShape[i] = x.Shape[axis];
            strides[i] = inStrides[axis];
        }

        return Take(x, outShape, ShapeMath.Offsets(outShape, strides));
    }

    private static Tensor EagerConcat(Tensor[] inputs, int axis)
    {
        const string op = "Concat";
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length == 0) throw new ArgumentException($"{op}: needs at least one input");
        var first = inputs[0];
        for (int t = 0; t < inputs.Length; t++) ShapeMath.RequireStored(op, inputs[t], $"input {t}");

        int rank = first.Rank;
        int a = ShapeMath.NormalizeAxis(op, axis, rank);
        var outShape = first.ShapeArray();
        outShape[a] = 0;
        for (int t = 0; t < inputs.Length; t++)
        {
            var input = inputs[t];
            if (input.DType != first.DType)
            {
                throw new ArgumentException($"{op}: input {t} has dtype {input.DType}, input 0 has {first.DType}");
            }

            bool matches = input.Rank == rank;
            for (int d = 0; matches && d < rank; d++) matches = d == a || input.Shape[d] == first.Shape[d];
            if (!matches)
            {
                throw new ArgumentException(
                    $"{op}: input {t} has shape {ShapeMath.Format(input.Shape)}, which differs from input 0 {ShapeMath.Format(first.Shape)} outside axis {a}");
            }

            outShape[a] += input.Shape[a];
        }

        // Each input contributes one contiguous block per index of the leading (outer) axes.
        int outer = ShapeMath.Product(outShape, 0, a), inner = ShapeMath.Product(outShape, a + 1, rank);
        var result = Tensor.Zeros(first.DType, outShape);
        int destination = 0;
        for (int o = 0; o < outer; o++)
        {
            foreach (var input in inputs)
            {
                int block = input.Shape[a] * inner;
                CopyRange(input, o * block, result, destination, block);
                destination += block;
            }
        }

        return result;
    }

    private static Tensor EagerSlice(Tensor x, int axis, int start, int end, int step)
    {
        const string op = "Slice";
        ShapeMath.RequireStored(op, x, "input");
        int a = ShapeMath.NormalizeAxis(op, axis, x.Rank);
        if (step <= 0) throw new ArgumentException($"{op}: step must be positive, got {step} (input {ShapeMath.Format(x.Shape)})");

        int dim = x.Shape[a];
        int Clamp(int i) => i < 0 ? Math.Max(i + dim, 0) : Math.Min(i, dim);
        int first = Clamp(start), last = Clamp(end);
        int count = last > first ? (int)(((long)last - first + step - 1) / step) : 0;

        var outShape = x.ShapeArray();
        outShape[a] = count;
        var strides = ShapeMath.Strides(x.Shape);
        int origin = first * strides[a];
        if (count > 1) strides[a] *= step; // with a single element the step is never taken (and may be huge)
        return Take(x, outShape, ShapeMath.Offsets(outShape, strides, origin));
    }

    private static Tensor EagerSelect(Tensor x, int index)
    {
        const string op = "Select";
        ShapeMath.RequireStored(op, x, "input");
        if (x.Rank == 0) throw new ArgumentException($"{op}: cannot index a rank-0 tensor");
        int dim = x.Shape[0];
        int i = index < 0 ? index + dim : index;
        if (i < 0 || i >= dim)
        {
            throw new ArgumentOutOfRangeException(paramName: null, $"{op}: index {index} is out of range for dimension {dim} (shape {ShapeMath.Format(x.Shape)})");
        }

        var outShape = x.Shape[1..].ToArray();
        int inner = ShapeMath.Count(outShape);
        var result = Tensor.Zeros(x.DType, outShape);
        CopyRange(x, i * inner, result, 0, inner);
        return result;
    }

    private static Tensor EagerGather(Tensor data, Tensor indices, int axis)
    {
        const string op = "Gather";
        ShapeMath.RequireStored(op, data, "data");
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.DType is not (DType.Int32 or DType.Float32))
        {
            throw new ArgumentException($"{op}: indices have dtype {indices.DType}; they must be Int32 or Float32 holding integers");
        }

        int a = ShapeMath.NormalizeAxis(op, axis, data.Rank);
        int dim = data.Shape[a];
        int outer = ShapeMath.Product(data.Shape, 0, a), inner = ShapeMath.Product(data.Shape, a + 1, data.Rank);
        var outShape = new int[data.Rank - 1 + indices.Rank];
        data.Shape[..a].CopyTo(outShape);
        indices.Shape.CopyTo(outShape.AsSpan(a));
        data.Shape[(a + 1)..].CopyTo(outShape.AsSpan(a + indices.Rank));

        var rows = new int[ShapeMath.Count(indices.Shape)];
        for (int q = 0; q < rows.Length; q++)
        {
            // Float32 indices (integer inputs imported from ONNX) must hold integers; they are exact up to 2^24.
            double value = indices.DType == DType.Int32 ? indices.Ints[q] : indices.Floats[q];
            if (value != Math.Floor(value))
            {
                throw new ArgumentException($"{op}: index {value} (element {q} of the indices) is not an integer");
            }

            double i = value < 0 ? value + dim : value;
            if (i < 0 || i >= dim)
            {
                throw new ArgumentOutOfRangeException(paramName: null,
                    $"{op}: index {value} is out of range for dimension {dim} (axis {a} of data {ShapeMath.Format(data.Shape)})");
            }

            rows[q] = (int)i;
        }

        var source = new int[ShapeMath.Count(outShape)];
        for (int o = 0, k = 0; o < outer; o++)
        {
            for (int q = 0; q < rows.Length; q++)
            {
                for (int r = 0; r < inner; r++) source[k++] = (o * dim + rows[q]) * inner + r;
            }
        }

        return Take(data, outShape, source);
    }
}
