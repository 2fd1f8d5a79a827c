// Linked as source into Aot.Dsl (internal: the eager Resize) and Aot.Runtime (public: the CPU kernel and the GPU kernels,
// which ILGPU compiles from this IL), so every implementation maps output pixels to input pixels with the same float
// arithmetic (ONNX Runtime's). Only arithmetic, comparisons and conversions: every ILGPU backend compiles it.
#if AOT_RUNTIME
namespace Aot.Runtime;
#else
namespace Aot.Dsl;
#endif

/// <summary>Resize along one axis: where output index o reads the input (coordinate transformation, nearest rounding,
/// linear taps). Modes are the integer values of <c>ResizeCoordinates</c> and <c>ResizeNearest</c>.</summary>
#if AOT_RUNTIME
public
#else
internal
#endif
static class ResizeMath
{
    /// <summary>The input coordinate of output index <paramref name="o"/> (ONNX coordinate_transformation_mode):
    /// 0 half_pixel, 1 pytorch_half_pixel, 2 align_corners, 3 asymmetric, 4 tf_half_pixel_for_nn,
    /// 5 half_pixel_symmetric.</summary>
    public static float SourceCoordinate(int o, float scale, int inLength, int outLength, int coordinates)
    {
        if (coordinates == 5)
        {
            // half_pixel shifted so that the output is centered on the input when the scale is not the size ratio.
            float adjustment = outLength / (scale * inLength);
            float offset = inLength / 2f * (1f - adjustment);
            return offset + (o + 0.5f) / scale - 0.5f;
        }

        if (coordinates == 1) return outLength > 1 ? (o + 0.5f) / scale - 0.5f : 0f;
        if (coordinates == 2) return outLength == 1 ? 0f : o * (float)(inLength - 1) / (outLength - 1);
        if (coordinates == 3) return o / scale;
        if (coordinates == 4) return (o + 0.5f) / scale;
        return (o + 0.5f) / scale - 0.5f;
    }

    /// <summary>The nearest input index of coordinate <paramref name="x"/>, clamped to the axis (ONNX nearest_mode):
    /// 0 round_prefer_floor, 1 round_prefer_ceil, 2 floor, 3 ceil.</summary>
    public static int Nearest(float x, int inLength, int nearest)
    {
        int f = Floor(x);
        float fraction = x - f;
        int i = nearest == 2 ? f
            : nearest == 3 ? (fraction > 0f ? f + 1 : f)
            : fraction > 0.5f ? f + 1
            : fraction < 0.5f ? f
            : nearest == 1 ? f + 1 : f;
        return Clamp(i, inLength);
    }

    /// <summary>The two input indices around coordinate <paramref name="x"/> (clamped to the axis) and the weight of the
    /// second: the linear tap.</summary>
    public static int LinearLow(float x, int inLength) => Clamp(Floor(Within(x, inLength)), inLength);

    public static int LinearHigh(float x, int inLength) => Clamp(Floor(Within(x, inLength)) + 1, inLength);

    public static float LinearWeight(float x, int inLength)
    {
        float c = Within(x, inLength);
        return c - Floor(c);
    }

    private static float Within(float x, int inLength) => x < 0f ? 0f : x > inLength - 1 ? inLength - 1 : x;

    private static int Floor(float x)
    {
        int t = (int)x;
        return x < t ? t - 1 : t;
    }

    private static int Clamp(int i, int inLength) => i < 0 ? 0 : i > inLength - 1 ? inLength - 1 : i;
}
