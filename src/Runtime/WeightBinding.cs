using System;
using Aot.Dsl;

namespace Aot.Runtime;

/// <summary>Checks generated code runs when weights and inputs cross from tensors into a compiled model.</summary>
public static class WeightBinding
{
    /// <summary>Returns the weight, or throws naming it when it was never loaded.</summary>
    public static Tensor Require(Tensor? weight, string name) =>
        weight ?? throw new WeightsException($"weight '{name}' is not set: call LoadWeights or assign it before compiling or saving");

    /// <summary>Copies a weight into a compiled model's weights buffer after checking its dtype and shape.</summary>
    public static void CopyInto(Tensor? weight, string name, DType dtype, int[] shape, Span<float> destination)
    {
        var t = Require(weight, name);
        if (t.DType != dtype || !t.Shape.SequenceEqual(shape))
        {
            throw new WeightsException($"weight '{name}' is {t.DType}[{string.Join(", ", t.ShapeArray())}], the model declares {dtype}[{string.Join(", ", shape)}]");
        }

        if (dtype == DType.Int32) System.Runtime.InteropServices.MemoryMarshal.Cast<int, float>(t.Ints).CopyTo(destination);
        else t.Floats.CopyTo(destination);
    }

    /// <summary>Throws ArgumentException naming the input when a tensor does not have the declared dtype and shape.</summary>
    public static void CheckInput(Tensor? input, string name, DType dtype, int[] shape)
    {
        if (input is null) throw new ArgumentNullException(name);
        if (input.DType != dtype || !input.Shape.SequenceEqual(shape))
        {
            throw new ArgumentException($"input '{name}' is {input.DType}[{string.Join(", ", input.ShapeArray())}], the model expects {dtype}[{string.Join(", ", shape)}]", name);
        }
    }

    /// <summary>
    /// The size of a dynamic axis (<c>[Input(..., DynamicAxis = axis)]</c>) in an input tensor, after checking its
    /// dtype, its other dimensions against <paramref name="shape"/> (the declared shape) and 1 &lt;= size &lt;= the bound.
    /// </summary>
    public static int DynamicSize(Tensor? input, string name, DType dtype, int[] shape, int axis)
    {
        if (input is null) throw new ArgumentNullException(name);
        var actual = input.Shape;
        bool ok = input.DType == dtype && actual.Length == shape.Length;
        for (int d = 0; ok && d < shape.Length; d++) ok = d == axis ? actual[d] >= 1 && actual[d] <= shape[d] : actual[d] == shape[d];
        if (!ok)
        {
            throw new ArgumentException($"input '{name}' is {input.DType}[{string.Join(", ", input.ShapeArray())}], the model expects {dtype}[{Describe(shape, axis)}]", name);
        }

        return actual[axis];
    }

    /// <summary>
    /// The dynamic size an input span of <paramref name="length"/> elements holds: its declared shape has
    /// <paramref name="perUnit"/> elements per unit of the dynamic axis, which takes 1 to <paramref name="bound"/> units.
    /// </summary>
    public static int DynamicSize(int length, string name, int perUnit, int bound)
    {
        if (length % perUnit != 0 || length / perUnit < 1 || length / perUnit > bound)
        {
            throw new ArgumentException($"input '{name}' must have {perUnit} x n elements for a dynamic size n from 1 to {bound}, got {length}", name);
        }

        return length / perUnit;
    }

    private static string Describe(int[] shape, int axis)
    {
        var dims = new string[shape.Length];
        for (int d = 0; d < shape.Length; d++) dims[d] = d == axis ? "1.." + shape[d] : shape[d].ToString(System.Globalization.CultureInfo.InvariantCulture);
        return string.Join(", ", dims);
    }
}
