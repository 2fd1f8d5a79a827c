using System;
using Aot.Dsl;

namespace Aot.Runtime;

/// <summary>A tensor's entry in a weights file header: its name, element type and shape (outermost first).</summary>
public readonly record struct TensorSpec(string Name, DType DType, int[] Shape)
{
    /// <summary>Value equality, including the shape's elements.</summary>
    public bool Equals(TensorSpec other) =>
        string.Equals(Name, other.Name, StringComparison.Ordinal)
        && DType == other.DType
        && Shape.AsSpan().SequenceEqual(other.Shape);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Name is null ? 0 : Name.GetHashCode(StringComparison.Ordinal));
        hash.Add(DType);
        foreach (var d in Shape.AsSpan()) hash.Add(d);
        return hash.ToHashCode();
    }

    public override string ToString() =>
        $"{Name}: {SafeTensorsFile.DTypeName(DType)} {SafeTensorsFile.FormatShape(Shape)}";
}
