using System;

namespace Aot.Runtime.Cpu;

/// <summary>Resize of NCHW planes (ONNX Resize on H and W), called by generated code; the per-axis source indices
/// come from <see cref="ResizeMath"/>, as in the eager reference and the GPU kernel.</summary>
public static class ResizeKernels
{
    /// <summary>Output widths up to this keep their column taps on the stack (wider ones allocate them per call).</summary>
    private const int StackColumns = 1024;

    /// <summary>
    /// y[p, oh, ow] for <paramref name="planes"/> planes of inH x inW -> outH x outW: mode 0 nearest, 1 bilinear;
    /// coordinates and nearest are <see cref="ResizeMath"/>'s mode numbers; scaleH, scaleW the coordinate scales.
    /// The column taps are computed once per call, the row taps once per output row.
    /// </summary>
    public static void Resize(ReadOnlySpan<float> x, Span<float> y, int planes, int inH, int inW, int outH, int outW, int mode, int coordinates, int nearest, float scaleH, float scaleW)
    {
        if (x.Length < (long)planes * inH * inW) throw new ArgumentException($"x needs {planes * inH * inW} elements, has {x.Length}", nameof(x));
        if (y.Length < (long)planes * outH * outW) throw new ArgumentException($"y needs {planes * outH * outW} elements, has {y.Length}", nameof(y));
        Span<int> left = outW <= StackColumns ? stackalloc int[outW] : new int[outW];
        Span<int> right = outW <= StackColumns ? stackalloc int[outW] : new int[outW];
        Span<float> weight = outW <= StackColumns ? stackalloc float[outW] : new float[outW];
        for (int ow = 0; ow < outW; ow++)
        {
            float c = ResizeMath.SourceCoordinate(ow, scaleW, inW, outW, coordinates);
            left[ow] = mode == 0 ? ResizeMath.Nearest(c, inW, nearest) : ResizeMath.LinearLow(c, inW);
            right[ow] = ResizeMath.LinearHigh(c, inW);
            weight[ow] = ResizeMath.LinearWeight(c, inW);
        }

        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * inH * inW, inH * inW);
            for (int oh = 0; oh < outH; oh++)
            {
                float c = ResizeMath.SourceCoordinate(oh, scaleH, inH, outH, coordinates);
                var row = y.Slice((p * outH + oh) * outW, outW);
                if (mode == 0)
                {
                    var source = plane.Slice(ResizeMath.Nearest(c, inH, nearest) * inW, inW);
                    for (int ow = 0; ow < outW; ow++) row[ow] = source[left[ow]];
                    continue;
                }

                var top = plane.Slice(ResizeMath.LinearLow(c, inH) * inW, inW);
                var bottom = plane.Slice(ResizeMath.LinearHigh(c, inH) * inW, inW);
                float a = ResizeMath.LinearWeight(c, inH);
                for (int ow = 0; ow < outW; ow++)
                {
                    float b = weight[ow];
                    float upper = top[left[ow]] + (top[right[ow]] - top[left[ow]]) * b;
                    float lower = bottom[left[ow]] + (bottom[right[ow]] - bottom[left[ow]]) * b;
                    row[ow] = upper + (lower - upper) * a;
                }
            }
        }
    }
}
