using System;

namespace Aot.Runtime.Cpu;

/// <summary>Resize of NCHW planes (ONNX Resize on H and W), called by generated code; the per-axis source indices
/// come from <see cref="ResizeMath"/>, as in the eager reference and the GPU kernel.</summary>
public static class ResizeKernels
{
    /// <summary>
    /// y[p, oh, ow] for <paramref name="planes"/> planes of inH x inW -> outH x outW: mode 0 nearest, 1 bilinear;
    /// coordinates and nearest are <see cref="ResizeMath"/>'s mode numbers; scaleH, scaleW the coordinate scales.
    /// The per-axis indices and weights are computed once per call.
    /// </summary>
    public static void Resize(ReadOnlySpan<float> x, Span<float> y, int planes, int inH, int inW, int outH, int outW, int mode, int coordinates, int nearest, float scaleH, float scaleW)
    {
        if (x.Length < (long)planes * inH * inW) throw new ArgumentException($"x needs {planes * inH * inW} elements, has {x.Length}", nameof(x));
        if (y.Length < (long)planes * outH * outW) throw new ArgumentException($"y needs {planes * outH * outW} elements, has {y.Length}", nameof(y));
        var (h0, h1, hw) = Taps(inH, outH, scaleH, mode, coordinates, nearest);
        var (w0, w1, ww) = Taps(inW, outW, scaleW, mode, coordinates, nearest);
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * inH * inW, inH * inW);
            for (int oh = 0; oh < outH; oh++)
            {
                var top = plane.Slice(h0[oh] * inW, inW);
                var row = y.Slice((p * outH + oh) * outW, outW);
                if (mode == 0)
                {
                    for (int ow = 0; ow < outW; ow++) row[ow] = top[w0[ow]];
                    continue;
                }

                var bottom = plane.Slice(h1[oh] * inW, inW);
                float a = hw[oh];
                for (int ow = 0; ow < outW; ow++)
                {
                    float b = ww[ow];
                    float upper = top[w0[ow]] + (top[w1[ow]] - top[w0[ow]]) * b;
                    float lower = bottom[w0[ow]] + (bottom[w1[ow]] - bottom[w0[ow]]) * b;
                    row[ow] = upper + (lower - upper) * a;
                }
            }
        }
    }

    /// <summary>Per output index of one axis: the input index (nearest) or the two linear taps and the second's weight.</summary>
    private static (int[] Low, int[] High, float[] Weight) Taps(int inLength, int outLength, float scale, int mode, int coordinates, int nearest)
    {
        var low = new int[outLength];
        var high = new int[outLength];
        var weight = new float[outLength];
        for (int o = 0; o < outLength; o++)
        {
            float c = ResizeMath.SourceCoordinate(o, scale, inLength, outLength, coordinates);
            if (mode == 0)
            {
                low[o] = ResizeMath.Nearest(c, inLength, nearest);
            }
            else
            {
                low[o] = ResizeMath.LinearLow(c, inLength);
                high[o] = ResizeMath.LinearHigh(c, inLength);
                weight[o] = ResizeMath.LinearWeight(c, inLength);
            }
        }

        return (low, high, weight);
    }
}
