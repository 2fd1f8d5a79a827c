namespace Aot.Dsl;

/// <summary>How <see cref="Ops.Resize"/> computes an output pixel.</summary>
public enum ResizeMode
{
    /// <summary>The input pixel nearest to the output pixel's source coordinate (see <see cref="ResizeNearest"/>).</summary>
    Nearest = 0,

    /// <summary>Bilinear interpolation of the four input pixels around the source coordinate (clamped at the border).</summary>
    Linear = 1,
}

/// <summary>Where output index o of an axis of length out reads an input axis of length in, scale s (ONNX's
/// coordinate_transformation_mode).</summary>
public enum ResizeCoordinates
{
    /// <summary>(o + 0.5) / s - 0.5.</summary>
    HalfPixel = 0,

    /// <summary>(o + 0.5) / s - 0.5, or 0 when out is 1.</summary>
    PytorchHalfPixel = 1,

    /// <summary>o * (in - 1) / (out - 1), or 0 when out is 1.</summary>
    AlignCorners = 2,

    /// <summary>o / s.</summary>
    Asymmetric = 3,

    /// <summary>(o + 0.5) / s.</summary>
    TfHalfPixelForNn = 4,

    /// <summary>(o + 0.5) / s - 0.5 + in / 2 * (1 - out / (s * in)): half_pixel centered when s is not out / in.</summary>
    HalfPixelSymmetric = 5,
}

/// <summary>How <see cref="ResizeMode.Nearest"/> rounds a source coordinate (ONNX's nearest_mode).</summary>
public enum ResizeNearest
{
    /// <summary>Round to nearest, halves down.</summary>
    RoundPreferFloor = 0,

    /// <summary>Round to nearest, halves up.</summary>
    RoundPreferCeil = 1,

    Floor = 2,
    Ceil = 3,
}
