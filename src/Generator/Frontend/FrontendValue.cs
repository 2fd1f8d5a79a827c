using System.Globalization;

namespace Aot.Generator.Frontend;

internal enum FrontendValueKind
{
    /// <summary>An SSA value of the graph being built.</summary>
    Tensor,
    Int,
    Float,
    Bool,
    IntArray,
    TensorArray,

    /// <summary>The literal null (an omitted optional tensor such as a bias).</summary>
    Null,

    /// <summary>The result of an expression that already produced a diagnostic; uses of it report nothing more.</summary>
    Poison,
}

/// <summary>
/// What a C# expression in a model evaluates to at build time: a tensor (graph value) or a compile-time constant
/// (loop counters, shapes, axes, scalars).
/// </summary>
internal readonly record struct FrontendValue(FrontendValueKind Kind, int TensorId = -1, long Int = 0, double Float = 0, bool Bool = false, int[]? Array = null)
{
    public static readonly FrontendValue Poison = new(FrontendValueKind.Poison);
    public static readonly FrontendValue Null = new(FrontendValueKind.Null);

    public static FrontendValue Tensor(int id) => new(FrontendValueKind.Tensor, TensorId: id);

    public static FrontendValue OfInt(long v) => new(FrontendValueKind.Int, Int: v);

    public static FrontendValue OfFloat(double v) => new(FrontendValueKind.Float, Float: v);

    public static FrontendValue OfBool(bool v) => new(FrontendValueKind.Bool, Bool: v);

    public static FrontendValue Ints(int[] values) => new(FrontendValueKind.IntArray, Array: values);

    public static FrontendValue Tensors(int[] ids) => new(FrontendValueKind.TensorArray, Array: ids);

    public bool IsPoison => Kind == FrontendValueKind.Poison;

    public bool IsNumber => Kind is FrontendValueKind.Int or FrontendValueKind.Float;

    public double AsDouble => Kind == FrontendValueKind.Int ? Int : Float;

    public override string ToString() => Kind switch
    {
        FrontendValueKind.Tensor => "%" + TensorId,
        FrontendValueKind.Int => Int.ToString(CultureInfo.InvariantCulture),
        FrontendValueKind.Float => Float.ToString("R", CultureInfo.InvariantCulture),
        FrontendValueKind.Bool => Bool ? "true" : "false",
        _ => Kind.ToString(),
    };
}
