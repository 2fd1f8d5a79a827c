using System;
using System.Collections.Immutable;
using System.Linq;

namespace Aot.Generator.IR;

/// <summary>The static type of an SSA value: element type and shape (outermost dimension first; rank 0 is a scalar).</summary>
internal sealed record TensorType(DType DType, EquatableArray<int> Shape)
{
    public TensorType(DType dtype, params int[] shape)
        : this(dtype, new EquatableArray<int>(ImmutableArray.Create(shape)))
    {
    }

    public int Rank => Shape.Count;

    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Shape) n *= d;
            return n;
        }
    }

    public int[] ShapeArray() => Shape.Items.ToArray();

    /// <summary>"[2, 3]", the form used in diagnostics.</summary>
    public string ShapeText => FormatShape(Shape.Items);

    public static string FormatShape(ImmutableArray<int> shape) => "[" + string.Join(", ", shape) + "]";

    public static string FormatShape(int[] shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>"f32[2,3]", the form used by the IR printer.</summary>
    public override string ToString() => DTypeInfo.ShortName(DType) + "[" + string.Join(",", Shape) + "]";

    public TensorType WithShape(int[] shape) => new(DType, shape);
}
