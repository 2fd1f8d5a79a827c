using System;

namespace Aot.Dsl;

/// <summary>
/// Marks a <c>partial</c> class as a model. The class declares its weights with <see cref="WeightAttribute"/>
/// and an instance method <c>Tensor Forward(...)</c> whose parameters carry <see cref="InputAttribute"/>.
/// The source generator compiles <c>Forward</c> ahead of time into a nested <c>Compiled</c> class; calling
/// <c>Forward</c> directly runs the eager reference implementation.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ModelAttribute : Attribute
{
}

/// <summary>A model parameter with a static shape, loaded from a weights file.</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, Inherited = false)]
public sealed class WeightAttribute : Attribute
{
    public WeightAttribute(params int[] shape) => Shape = shape;

    public int[] Shape { get; }

    public DType DType { get; set; } = DType.Float32;

    /// <summary>The tensor's name in the weights file; defaults to the member's name.</summary>
    public string? Name { get; set; }
}

/// <summary>A model input with a static shape, on a parameter of <c>Forward</c>.</summary>
[AttributeUsage(AttributeTargets.Parameter, Inherited = false)]
public sealed class InputAttribute : Attribute
{
    public InputAttribute(params int[] shape) => Shape = shape;

    public int[] Shape { get; }

    public DType DType { get; set; } = DType.Float32;

    /// <summary>
    /// An axis whose size varies at run time, from 1 up to <c>Shape[DynamicAxis]</c> (the bound), e.g. a sequence
    /// length: one compiled model then runs every size up to the bound, with its memory sized for the bound. Every
    /// input with a dynamic axis shares the same size at run time (and must declare the same bound). Forward must
    /// not depend on the bound itself (reshape with -1). -1 (the default): every axis is static.
    /// </summary>
    public int DynamicAxis { get; set; } = -1;
}
