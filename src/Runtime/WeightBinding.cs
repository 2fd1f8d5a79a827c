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
}
