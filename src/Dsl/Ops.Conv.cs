using System;

namespace Aot.Dsl;

// Eager reference: NCHW convolution, transposed convolution and pooling. Sums accumulate in double.
public static partial class Ops
{
    private enum PoolKind
    {
        Max,
        AvgIncludePad,
        AvgExcludePad,
    }

    private static void RequireNchw(string op, Tensor t, string name, string layout)
    {
        if (t.Rank != 4) throw new ArgumentException($"{op}: {name} must be {layout}, got {ShapeMath.Format(t.Shape)}");
    }

    /// <summary>floor((extent - window) / stride) + 1, or 0 when the window does not fit at all.</summary>
    private static int OutputExtent(long extent, long window, int stride) => extent < window ? 0 : (int)((extent - window) / stride + 1);

    /// <summary>Conv2d with a stride, padding and dilation per axis (the square overload passes the same on both).</summary>
    private static Tensor EagerConv2d(Tensor x, Tensor weight, Tensor? bias, int strideH, int strideW, int padH, int padW, int dilationH, int dilationW, int groups)
    {
        const string op = "Conv2d";
        ShapeMath.RequireFloat32(op, x, "input");
        ShapeMath.RequireFloat32(op, weight, "weight");
        if (bias is not null) ShapeMath.RequireFloat32(op, bias, "bias");
        RequireNchw(op, x, "input", "[N, C, H, W]");
        RequireNchw(op, weight, "weight", "[K, C/groups, R, S]");
        RequireConvGeometry(op, strideH, strideW, padH, padW, dilationH, dilationW);

        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int k = weight.Shape[0], cg = weight.Shape[1], r = weight.Shape[2], s = weight.Shape[3];
        if (groups < 1 || c % groups != 0 || k % groups != 0)
        {
            throw new ArgumentException($"{op}: groups {groups} must divide the input channels {c} and the output channels {k}");
        }

        if ((long)cg * groups != c)
        {
            throw new ArgumentException(
                $"{op}: weight {ShapeMath.Format(weight.Shape)} expects {(long)cg * groups} input channels ({cg} per group, groups {groups}), the input {ShapeMath.Format(x.Shape)} has {c}");
        }

        if (r < 1 || s < 1) throw new ArgumentException($"{op}: kernel must be at least 1x1, got weight {ShapeMath.Format(weight.Shape)}");
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != k))
        {
            throw new ArgumentException($"{op}: bias has shape {ShapeMath.Format(bias.Shape)}, expected [{k}]");
        }

        int oh = OutputExtent(h + 2L * padH, (long)dilationH * (r - 1) + 1, strideH);
        int ow = OutputExtent(w + 2L * padW, (long)dilationW * (s - 1) + 1, strideW);
        if (oh == 0 || ow == 0)
        {
            throw new ArgumentException(
                $"{op}: output would be empty: input {ShapeMath.Format(x.Shape)}, kernel {r}x{s}, stride {strideH}x{strideW}, padding {padH}x{padW}, dilation {dilationH}x{dilationW}");
        }

        var result = Tensor.Zeros(n, k, oh, ow);
        ReadOnlySpan<float> input = x.Floats, filter = weight.Floats;
        ReadOnlySpan<float> bb = bias is null ? default : bias.Floats;
        var output = result.Floats;
        int kPerGroup = k / groups;
        for (int b = 0; b < n; b++)
        {
            for (int kk = 0; kk < k; kk++)
            {
                int firstChannel = kk / kPerGroup * cg;
                for (int y = 0; y < oh; y++)
                {
                    for (int z = 0; z < ow; z++)
                    {
                        double sum = bias is null ? 0.0 : bb[kk];
                        for (int ci = 0; ci < cg; ci++)
                        {
                            for (int ri = 0; ri < r; ri++)
                            {
                                int iy = y * strideH - padH + ri * dilationH;
                                if (iy < 0 || iy >= h) continue;
                                for (int si = 0; si < s; si++)
                                {
                                    int ix = z * strideW - padW + si * dilationW;
                                    if (ix < 0 || ix >= w) continue;
                                    sum += (double)input[((b * c + firstChannel + ci) * h + iy) * w + ix] * filter[((kk * cg + ci) * r + ri) * s + si];
                                }
                            }
                        }

                        output[((b * k + kk) * oh + y) * ow + z] = (float)sum;
                    }
                }
            }
        }

        return result;
    }

    /// <summary>Checks the per-axis convolution geometry shared by Conv2d and ConvTranspose2d.</summary>
    private static void RequireConvGeometry(string op, int strideH, int strideW, int padH, int padW, int dilationH, int dilationW)
    {
        if (strideH < 1 || strideW < 1) throw new ArgumentException($"{op}: stride must be positive, got {strideH}x{strideW}");
        if (padH < 0 || padW < 0) throw new ArgumentException($"{op}: padding must be non-negative, got {padH}x{padW}");
        if (dilationH < 1 || dilationW < 1) throw new ArgumentException($"{op}: dilation must be positive, got {dilationH}x{dilationW}");
    }

    /// <summary>ConvTranspose2d with a stride, padding, output padding and dilation per axis.</summary>
    private static Tensor EagerConvTranspose2d(
        Tensor x, Tensor weight, Tensor? bias, int strideH, int strideW, int padH, int padW, int outputPaddingH, int outputPaddingW, int dilationH, int dilationW, int groups)
    {
        const string op = "ConvTranspose2d";
        ShapeMath.RequireFloat32(op, x, "input");
        ShapeMath.RequireFloat32(op, weight, "weight");
        if (bias is not null) ShapeMath.RequireFloat32(op, bias, "bias");
        RequireNchw(op, x, "input", "[N, C, H, W]");
        RequireNchw(op, weight, "weight", "[C, K/groups, R, S]");
        RequireConvGeometry(op, strideH, strideW, padH, padW, dilationH, dilationW);
        if (outputPaddingH < 0 || outputPaddingW < 0) throw new ArgumentException($"{op}: outputPadding must be non-negative, got {outputPaddingH}x{outputPaddingW}");

        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int kg = weight.Shape[1], r = weight.Shape[2], s = weight.Shape[3];
        if (groups < 1 || c % groups != 0) throw new ArgumentException($"{op}: groups {groups} must divide the input channels {c}");
        if (weight.Shape[0] != c)
        {
            throw new ArgumentException($"{op}: weight {ShapeMath.Format(weight.Shape)} expects {weight.Shape[0]} input channels, the input {ShapeMath.Format(x.Shape)} has {c}");
        }

        if (r < 1 || s < 1 || kg < 1) throw new ArgumentException($"{op}: kernel must be at least 1x1 with an output channel, got weight {ShapeMath.Format(weight.Shape)}");
        int k = kg * groups, cg = c / groups;
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != k))
        {
            throw new ArgumentException($"{op}: bias has shape {ShapeMath.Format(bias.Shape)}, expected [{k}]");
        }

        long ohLong = (h - 1L) * strideH - 2L * padH + (long)dilationH * (r - 1) + 1 + outputPaddingH;
        long owLong = (w - 1L) * strideW - 2L * padW + (long)dilationW * (s - 1) + 1 + outputPaddingW;
        if (ohLong <= 0 || owLong <= 0 || h == 0 || w == 0)
        {
            throw new ArgumentException(
                $"{op}: output would be empty: input {ShapeMath.Format(x.Shape)}, kernel {r}x{s}, stride {strideH}x{strideW}, padding {padH}x{padW}, outputPadding {outputPaddingH}x{outputPaddingW}, dilation {dilationH}x{dilationW}");
        }

        int oh = checked((int)ohLong), ow = checked((int)owLong);
        var sums = new double[(long)n * k * oh * ow];
        ReadOnlySpan<float> input = x.Floats, filter = weight.Floats;
        ReadOnlySpan<float> bb = bias is null ? default : bias.Floats;
        // Each input pixel adds weight * x to the outputs its taps reach: (iy * strideH - padH + ri * dilationH, ...).
        for (int b = 0; b < n; b++)
        {
            for (int ci = 0; ci < c; ci++)
            {
                int firstOut = ci / cg * kg;
                for (int ko = 0; ko < kg; ko++)
                {
                    int plane = (b * k + firstOut + ko) * oh;
                    for (int iy = 0; iy < h; iy++)
                    {
                        for (int ix = 0; ix < w; ix++)
                        {
                            double v = input[((b * c + ci) * h + iy) * w + ix];
                            for (int ri = 0; ri < r; ri++)
                            {
                                int oy = iy * strideH - padH + ri * dilationH;
                                if (oy < 0 || oy >= oh) continue;
                                for (int si = 0; si < s; si++)
                                {
                                    int ox = ix * strideW - padW + si * dilationW;
                                    if (ox < 0 || ox >= ow) continue;
                                    sums[(long)(plane + oy) * ow + ox] += v * filter[((ci * kg + ko) * r + ri) * s + si];
                                }
                            }
                        }
                    }
                }
            }
        }

        var result = Tensor.Zeros(n, k, oh, ow);
        var output = result.Floats;
        for (int i = 0; i < sums.Length; i++) output[i] = (float)(bias is null ? sums[i] : sums[i] + bb[i / (oh * ow) % k]);
        return result;
    }

    /// <summary>The pooling mechanism shared by MaxPool2d and AvgPool2d: a kernelH x kernelW window moved by
    /// (strideH, strideW) over the input padded by padH rows and padW columns on each side.</summary>
    private static Tensor Pool2d(string op, Tensor x, int kernelH, int kernelW, int strideH, int strideW, int padH, int padW, PoolKind kind)
    {
        ShapeMath.RequireFloat32(op, x, "input");
        RequireNchw(op, x, "input", "[N, C, H, W]");
        if (kernelH < 1 || kernelW < 1) throw new ArgumentException($"{op}: kernel must be positive, got {kernelH}x{kernelW}");
        if (strideH < 0 || strideW < 0) throw new ArgumentException($"{op}: stride must be positive (or 0 for the kernel size), got {strideH}x{strideW}");
        if (strideH == 0) strideH = kernelH;
        if (strideW == 0) strideW = kernelW;
        if (padH < 0 || padH > kernelH / 2 || padW < 0 || padW > kernelW / 2)
        {
            throw new ArgumentException($"{op}: padding must be between 0 and half the kernel ({kernelH / 2}x{kernelW / 2}), got {padH}x{padW}");
        }

        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int oh = OutputExtent(h + 2L * padH, kernelH, strideH), ow = OutputExtent(w + 2L * padW, kernelW, strideW);
        if (oh == 0 || ow == 0)
        {
            throw new ArgumentException($"{op}: output would be empty: input {ShapeMath.Format(x.Shape)}, kernel {kernelH}x{kernelW}, stride {strideH}x{strideW}, padding {padH}x{padW}");
        }

        var result = Tensor.Zeros(n, c, oh, ow);
        ReadOnlySpan<float> input = x.Floats;
        var output = result.Floats;
        for (int plane = 0; plane < n * c; plane++)
        {
            for (int y = 0; y < oh; y++)
            {
                for (int z = 0; z < ow; z++)
                {
                    // Padding never wins a max and adds nothing to a sum; padding <= kernel/2 keeps every window non-empty.
                    double acc = kind == PoolKind.Max ? double.NegativeInfinity : 0.0;
                    int inBounds = 0;
                    for (int ri = 0; ri < kernelH; ri++)
                    {
                        int iy = y * strideH - padH + ri;
                        if (iy < 0 || iy >= h) continue;
                        for (int si = 0; si < kernelW; si++)
                        {
                            int ix = z * strideW - padW + si;
                            if (ix < 0 || ix >= w) continue;
                            double v = input[(plane * h + iy) * w + ix];
                            inBounds++;
                            if (kind != PoolKind.Max) acc += v;
                            else if (v > acc || double.IsNaN(v)) acc = v;
                        }
                    }

                    output[(plane * oh + y) * ow + z] = (float)(kind switch
                    {
                        PoolKind.Max => acc,
                        PoolKind.AvgIncludePad => acc / ((double)kernelH * kernelW),
                        _ => acc / inBounds,
                    });
                }
            }
        }

        return result;
    }

    private static Tensor EagerGlobalAvgPool(Tensor x)
    {
        const string op = "GlobalAvgPool";
        ShapeMath.RequireFloat32(op, x, "input");
        RequireNchw(op, x, "input", "[N, C, H, W]");
        if (x.Shape[2] == 0 || x.Shape[3] == 0) throw new ArgumentException($"{op}: input {ShapeMath.Format(x.Shape)} has an empty spatial extent");
        return Reduce(op, x, new[] { 2, 3 }, keepDims: true, ReduceKind.Mean);
    }

    private static Tensor EagerResize(Tensor x, int height, int width, ResizeMode mode, ResizeCoordinates coordinates, ResizeNearest nearest, float scaleHeight, float scaleWidth)
    {
        const string op = "Resize";
        ShapeMath.RequireFloat32(op, x, "input");
        RequireNchw(op, x, "input", "[N, C, H, W]");
        int inH = x.Shape[2], inW = x.Shape[3];
        if (height < 1 || width < 1) throw new ArgumentException($"{op}: the output size {height} x {width} must be positive");
        if (inH == 0 || inW == 0) throw new ArgumentException($"{op}: input {ShapeMath.Format(x.Shape)} has an empty spatial extent");
        if (!(scaleHeight >= 0f) || !(scaleWidth >= 0f) || float.IsInfinity(scaleHeight) || float.IsInfinity(scaleWidth))
        {
            throw new ArgumentException($"{op}: scales {scaleHeight} and {scaleWidth} must be positive and finite (or 0: the size ratio)");
        }

        float sh = scaleHeight > 0f ? scaleHeight : (float)height / inH, sw = scaleWidth > 0f ? scaleWidth : (float)width / inW;
        int planes = x.Shape[0] * x.Shape[1];
        var result = Tensor.Zeros(x.Shape[0], x.Shape[1], height, width);
        float[] input = x.Floats.ToArray();
        var output = result.Floats;
        for (int p = 0; p < planes; p++)
        {
            for (int oh = 0; oh < height; oh++)
            {
                float yh = ResizeMath.SourceCoordinate(oh, sh, inH, height, (int)coordinates);
                for (int ow = 0; ow < width; ow++)
                {
                    float yw = ResizeMath.SourceCoordinate(ow, sw, inW, width, (int)coordinates);
                    float At(int h, int w) => input[(p * inH + h) * inW + w];
                    double v;
                    if (mode == ResizeMode.Nearest)
                    {
                        v = At(ResizeMath.Nearest(yh, inH, (int)nearest), ResizeMath.Nearest(yw, inW, (int)nearest));
                    }
                    else
                    {
                        int h0 = ResizeMath.LinearLow(yh, inH), h1 = ResizeMath.LinearHigh(yh, inH), w0 = ResizeMath.LinearLow(yw, inW), w1 = ResizeMath.LinearHigh(yw, inW);
                        double a = ResizeMath.LinearWeight(yh, inH), b = ResizeMath.LinearWeight(yw, inW);
                        v = (1 - a) * ((1 - b) * At(h0, w0) + b * At(h0, w1)) + a * ((1 - b) * At(h1, w0) + b * At(h1, w1));
                    }

                    output[(p * height + oh) * width + ow] = (float)v;
                }
            }
        }

        return result;
    }
}
