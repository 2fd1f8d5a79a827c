using Aot.Dsl;
using static Aot.Dsl.Tests.TestUtil;

namespace Aot.Dsl.Tests;

public class Conv2dTests
{
    private static Tensor X33 => T(F(1, 2, 3, 4, 5, 6, 7, 8, 9), 1, 1, 3, 3);

    [Fact]
    public void Conv2d_NoPadding()
    {
        var w = T(F(1, 0, 0, -1), 1, 1, 2, 2);
        AssertTensor(Ops.Conv2d(X33, w), new[] { 1, 1, 2, 2 }, F(-4, -4, -4, -4));
        AssertTensor(Ops.Conv2d(X33, w, T(F(0.5f), 1)), new[] { 1, 1, 2, 2 }, F(-3.5f, -3.5f, -3.5f, -3.5f));
    }

    [Fact]
    public void Conv2d_ZeroPadding()
    {
        var ones = T(F(1, 1, 1, 1, 1, 1, 1, 1, 1), 1, 1, 3, 3);
        AssertTensor(Ops.Conv2d(X33, ones, padding: 1), new[] { 1, 1, 3, 3 }, F(12, 21, 16, 27, 45, 33, 24, 39, 28));
        AssertTensor(Ops.Conv2d(X33, ones, padding: 1, stride: 2), new[] { 1, 1, 2, 2 }, F(12, 16, 24, 28));
    }

    [Fact]
    public void Conv2d_Dilation()
    {
        // x[i, j] = 5i + j; a 2x2 all-ones kernel with dilation 2 sums x[i, j], x[i, j+2], x[i+2, j], x[i+2, j+2].
        var r = Ops.Conv2d(Iota(1, 1, 5, 5), T(F(1, 1, 1, 1), 1, 1, 2, 2), dilation: 2);
        AssertTensor(r, new[] { 1, 1, 3, 3 }, F(24, 28, 32, 44, 48, 52, 64, 68, 72));
    }

    [Fact]
    public void Conv2d_NonSquareKernelAndStride()
    {
        // 1x3 kernel [1, 2, 3] over the 3x3 input, stride 2 -> rows 0 and 2, one column.
        var r = Ops.Conv2d(X33, T(F(1, 2, 3), 1, 1, 1, 3), stride: 2);
        AssertTensor(r, new[] { 1, 1, 2, 1 }, F(14, 50));
    }

    [Fact]
    public void Conv2d_PerAxis_KnownValues()
    {
        // x[i, j] = 5i + j; a 1x1 kernel of 1 with stride (2, 3) picks rows 0, 2, 4 and columns 0, 3.
        AssertTensor(Ops.Conv2d(Iota(1, 1, 5, 5), T(F(1), 1, 1, 1, 1), null, 2, 3, 0, 0, 1, 1), new[] { 1, 1, 3, 2 }, F(0, 3, 10, 13, 20, 23));
        // Over x[i, j] = 4i + j, a 2x2 kernel of ones with dilation (1, 3) sums x[i, j], x[i, j+3], x[i+1, j], x[i+1, j+3]; padding (0, 1) adds zero columns.
        var r = Ops.Conv2d(Iota(1, 1, 3, 4), T(F(1, 1, 1, 1), 1, 1, 2, 2), null, 1, 1, 0, 1, 1, 3);
        AssertTensor(r, new[] { 1, 1, 2, 3 }, F(8, 14, 6, 16, 30, 14));
    }

    [Fact]
    public void Conv2d_PerAxis_MatchesTheNaiveDefinition()
    {
        foreach (var (xShape, wShape, sh, sw, ph, pw, dh, dw, groups) in new[]
        {
            (new[] { 2, 3, 7, 6 }, new[] { 4, 3, 3, 3 }, 2, 1, 1, 0, 1, 2, 1),
            (new[] { 1, 4, 6, 9 }, new[] { 6, 2, 2, 3 }, 1, 3, 0, 2, 2, 1, 2),
            (new[] { 1, 2, 8, 5 }, new[] { 2, 1, 3, 1 }, 3, 2, 2, 1, 3, 1, 2),
            (new[] { 1, 1, 5, 5 }, new[] { 2, 1, 3, 3 }, 2, 2, 1, 1, 1, 1, 1),
        })
        {
            var x = Tensor.Random(1, -1f, 1f, xShape);
            var w = Tensor.Random(2, -1f, 1f, wShape);
            var b = Tensor.Random(3, -1f, 1f, wShape[0]);
            var actual = Ops.Conv2d(x, w, b, sh, sw, ph, pw, dh, dw, groups);
            var (shape, expected) = NaiveConv(x, w, b, sh, sw, ph, pw, dh, dw, groups);
            AssertTensor(actual, shape, expected, 1e-5f);
            if (sh == sw && ph == pw && dh == dw) AssertTensor(Ops.Conv2d(x, w, b, sh, ph, dh, groups), shape, expected, 1e-5f);
        }
    }

    /// <summary>out[n, k, y, z] = b[k] + sum over c, r, s of x[n, c, y*strideH - padH + r*dilationH, z*strideW - padW + s*dilationW] * w[k, c, r, s].</summary>
    private static (int[] Shape, float[] Values) NaiveConv(Tensor x, Tensor w, Tensor b, int sh, int sw, int ph, int pw, int dh, int dw, int groups)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], wd = x.Shape[3], k = w.Shape[0], cg = w.Shape[1], r = w.Shape[2], s = w.Shape[3];
        int oh = (h + 2 * ph - dh * (r - 1) - 1) / sh + 1, ow = (wd + 2 * pw - dw * (s - 1) - 1) / sw + 1;
        var xs = x.Floats.ToArray();
        var ws = w.Floats.ToArray();
        var values = new float[n * k * oh * ow];
        for (int img = 0; img < n; img++)
        for (int ko = 0; ko < k; ko++)
        for (int y = 0; y < oh; y++)
        for (int z = 0; z < ow; z++)
        {
            double sum = b.Floats[ko];
            int first = ko / (k / groups) * cg;
            for (int ci = 0; ci < cg; ci++)
            for (int ri = 0; ri < r; ri++)
            for (int si = 0; si < s; si++)
            {
                int iy = y * sh - ph + ri * dh, ix = z * sw - pw + si * dw;
                if (iy < 0 || ix < 0 || iy >= h || ix >= wd) continue;
                sum += (double)xs[((img * c + first + ci) * h + iy) * wd + ix] * ws[((ko * cg + ci) * r + ri) * s + si];
            }

            values[((img * k + ko) * oh + y) * ow + z] = (float)sum;
        }

        return (new[] { n, k, oh, ow }, values);
    }

    [Fact]
    public void Conv2d_ChannelsAndBatch()
    {
        // x [2, 2, 1, 1], weight [2, 2, 1, 1] is a 1x1 conv: out[n, k] = sum_c w[k, c] x[n, c] + b[k].
        var x = T(F(3, 5, 1, -1), 2, 2, 1, 1);
        var w = T(F(2, 10, 1, 1), 2, 2, 1, 1);
        AssertTensor(Ops.Conv2d(x, w, T(F(0, 100), 2)), new[] { 2, 2, 1, 1 }, F(56, 108, -8, 100));
    }

    [Fact]
    public void Conv2d_Groups()
    {
        // groups 2: output channels 0, 1 see input channel 0 (3); 2, 3 see input channel 1 (5).
        var x = T(F(3, 5), 1, 2, 1, 1);
        var w = T(F(1, 2, 3, 4), 4, 1, 1, 1);
        AssertTensor(Ops.Conv2d(x, w, groups: 2), new[] { 1, 4, 1, 1 }, F(3, 6, 15, 20));

        // depthwise 2x2 on two channels
        var x2 = T(F(1, 2, 3, 4, 10, 20, 30, 40), 1, 2, 2, 2);
        var w2 = T(F(1, 1, 1, 1, 1, 0, 0, -1), 2, 1, 2, 2);
        AssertTensor(Ops.Conv2d(x2, w2, groups: 2), new[] { 1, 2, 1, 1 }, F(10, -30));
    }

    [Fact]
    public void Conv2d_Errors()
    {
        Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(1, 1, 2, 2), Tensor.Zeros(1, 1, 3, 3)),
            "Conv2d: output would be empty: input [1, 1, 2, 2], kernel 3x3, stride 1x1, padding 0x0, dilation 1x1");
        Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(1, 1, 4, 4), Tensor.Zeros(1, 1, 2, 2), dilation: 4), "Conv2d: output would be empty", "dilation 4x4");
        Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(1, 1, 4, 4), Tensor.Zeros(1, 1, 2, 2), null, 1, 1, 0, 0, 1, 4),
            "Conv2d: output would be empty: input [1, 1, 4, 4], kernel 2x2, stride 1x1, padding 0x0, dilation 1x4");
        Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(1, 1, 4, 4), Tensor.Zeros(1, 1, 1, 1), null, 1, 0, 0, 0, 1, 1), "Conv2d: stride must be positive, got 1x0");
        Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(1, 1, 4, 4), Tensor.Zeros(1, 1, 1, 1), null, 1, 1, 0, -1, 1, 1), "Conv2d: padding must be non-negative, got 0x-1");
        Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(1, 1, 4, 4), Tensor.Zeros(1, 1, 1, 1), null, 1, 1, 0, 0, 0, 1), "Conv2d: dilation must be positive, got 0x1");
        Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(1, 3, 4, 4), Tensor.Zeros(4, 1, 1, 1), groups: 2),
            "Conv2d: groups 2 must divide the input channels 3 and the output channels 4");
        Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(1, 4, 4, 4), Tensor.Zeros(4, 1, 1, 1), groups: 2),
            "Conv2d: weight [4, 1, 1, 1] expects 2 input channels (1 per group, groups 2), the input [1, 4, 4, 4] has 4");
        Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(1, 1, 4, 4), Tensor.Zeros(2, 1, 1, 1), Tensor.Zeros(3)), "Conv2d: bias has shape [3], expected [2]");
        Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(1, 4, 4), Tensor.Zeros(2, 1, 1, 1)), "Conv2d: input must be [N, C, H, W], got [1, 4, 4]");
        Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(1, 1, 4, 4), Tensor.Zeros(1, 1, 1)), "Conv2d: weight must be [K, C/groups, R, S], got [1, 1, 1]");
        Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(1, 1, 4, 4), Tensor.Zeros(1, 1, 1, 1), stride: 0), "Conv2d", "stride");
    }
}

public class PoolTests
{
    [Fact]
    public void MaxPool2d_DefaultStrideIsKernel()
    {
        AssertTensor(Ops.MaxPool2d(Iota(1, 1, 4, 4), 2), new[] { 1, 1, 2, 2 }, F(5, 7, 13, 15));
        AssertTensor(Ops.MaxPool2d(Iota(1, 1, 4, 4), 2, stride: 1), new[] { 1, 1, 3, 3 }, F(5, 6, 7, 9, 10, 11, 13, 14, 15));
    }

    [Fact]
    public void MaxPool2d_FloorModeDropsPartialWindows()
    {
        AssertTensor(Ops.MaxPool2d(Iota(1, 1, 5, 5), 2), new[] { 1, 1, 2, 2 }, F(6, 8, 16, 18));
    }

    [Fact]
    public void MaxPool2d_PaddingIsNegativeInfinity()
    {
        var x = T(F(-1, -2, -3, -4, -5, -6, -7, -8, -9), 1, 1, 3, 3);
        AssertTensor(Ops.MaxPool2d(x, 3, stride: 2, padding: 1), new[] { 1, 1, 2, 2 }, F(-1, -2, -4, -5));
    }

    [Fact]
    public void MaxPool2d_PerChannelAndBatch()
    {
        var r = Ops.MaxPool2d(Iota(2, 3, 2, 2), 2);
        AssertTensor(r, new[] { 2, 3, 1, 1 }, F(3, 7, 11, 15, 19, 23));
    }

    [Fact]
    public void AvgPool2d_KnownValues()
    {
        AssertTensor(Ops.AvgPool2d(Iota(1, 1, 4, 4), 2), new[] { 1, 1, 2, 2 }, F(2.5f, 4.5f, 10.5f, 12.5f));
    }

    [Fact]
    public void AvgPool2d_CountIncludePad()
    {
        var x = T(F(1, 2, 3, 4, 5, 6, 7, 8, 9), 1, 1, 3, 3);
        var include = Ops.AvgPool2d(x, 3, stride: 1, padding: 1);
        AssertTensor(include, new[] { 1, 1, 3, 3 }, F(12f / 9, 21f / 9, 16f / 9, 27f / 9, 5, 33f / 9, 24f / 9, 39f / 9, 28f / 9), 1e-6f);
        var exclude = Ops.AvgPool2d(x, 3, stride: 1, padding: 1, countIncludePad: false);
        AssertTensor(exclude, new[] { 1, 1, 3, 3 }, F(3, 3.5f, 4, 4.5f, 5, 5.5f, 6, 6.5f, 7), 1e-6f);
    }

    [Fact]
    public void ConvTranspose2d_KnownValues()
    {
        // 2x2 input, 2x2 kernel of ones, stride 2: every input pixel becomes a 2x2 block.
        var x = T(F(1, 2, 3, 4), 1, 1, 2, 2);
        var ones = T(F(1, 1, 1, 1), 1, 1, 2, 2);
        AssertTensor(Ops.ConvTranspose2d(x, ones, stride: 2), new[] { 1, 1, 4, 4 }, F(1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4));
        // Stride 1: overlapping blocks add up; padding 1 crops the border; outputPadding 1 adds a bias-only row and column.
        AssertTensor(Ops.ConvTranspose2d(x, ones), new[] { 1, 1, 3, 3 }, F(1, 3, 2, 4, 10, 6, 3, 7, 4));
        AssertTensor(Ops.ConvTranspose2d(x, ones, padding: 1), new[] { 1, 1, 1, 1 }, F(10));
        AssertTensor(Ops.ConvTranspose2d(x, ones, T(F(0.5f), 1), stride: 2, padding: 1, outputPadding: 1), new[] { 1, 1, 3, 3 },
            F(1.5f, 2.5f, 2.5f, 3.5f, 4.5f, 4.5f, 3.5f, 4.5f, 4.5f));
    }

    [Fact]
    public void ConvTranspose2d_MatchesTheGatherDefinition()
    {
        foreach (var (xShape, wShape, stride, padding, outputPadding, dilation, groups) in new[]
        {
            (new[] { 2, 3, 4, 5 }, new[] { 3, 2, 3, 3 }, 2, 1, 1, 1, 1),
            (new[] { 1, 4, 3, 3 }, new[] { 4, 3, 2, 3 }, 3, 0, 2, 2, 2),
            (new[] { 1, 3, 5, 4 }, new[] { 3, 1, 4, 4 }, 2, 1, 0, 1, 3),
            (new[] { 1, 2, 4, 4 }, new[] { 2, 2, 3, 3 }, 1, 3, 0, 2, 1),
        })
        {
            var x = Tensor.Random(1, -1f, 1f, xShape);
            var w = Tensor.Random(2, -1f, 1f, wShape);
            var b = Tensor.Random(3, -1f, 1f, wShape[1] * groups);
            var actual = Ops.ConvTranspose2d(x, w, b, stride, padding, outputPadding, dilation, groups);
            var (shape, expected) = NaiveConvTranspose(x, w, b, (stride, stride), (padding, padding), (outputPadding, outputPadding), (dilation, dilation), groups);
            AssertTensor(actual, shape, expected, 1e-5f);
        }
    }

    [Fact]
    public void ConvTranspose2d_PerAxis_MatchesTheGatherDefinition()
    {
        foreach (var (xShape, wShape, stride, padding, outputPadding, dilation, groups) in new[]
        {
            (new[] { 2, 3, 4, 5 }, new[] { 3, 2, 3, 3 }, (2, 1), (1, 0), (1, 0), (1, 1), 1),
            (new[] { 1, 4, 3, 3 }, new[] { 4, 3, 2, 3 }, (1, 3), (0, 1), (0, 2), (2, 1), 2),
            (new[] { 1, 3, 5, 4 }, new[] { 3, 1, 4, 2 }, (3, 2), (2, 0), (1, 1), (1, 3), 3),
        })
        {
            var x = Tensor.Random(1, -1f, 1f, xShape);
            var w = Tensor.Random(2, -1f, 1f, wShape);
            var b = Tensor.Random(3, -1f, 1f, wShape[1] * groups);
            var actual = Ops.ConvTranspose2d(x, w, b, stride.Item1, stride.Item2, padding.Item1, padding.Item2, outputPadding.Item1, outputPadding.Item2, dilation.Item1, dilation.Item2, groups);
            var (shape, expected) = NaiveConvTranspose(x, w, b, stride, padding, outputPadding, dilation, groups);
            AssertTensor(actual, shape, expected, 1e-5f);
        }

        Throws<ArgumentException>(() => Ops.ConvTranspose2d(Tensor.Zeros(1, 1, 3, 3), Tensor.Zeros(1, 1, 2, 2), null, 1, 1, 0, 0, 0, -1), "ConvTranspose2d: outputPadding must be non-negative, got 0x-1");
        Throws<ArgumentException>(() => Ops.ConvTranspose2d(Tensor.Zeros(1, 1, 3, 3), Tensor.Zeros(1, 1, 2, 2), null, 2, 1, 0, 0, 0, 0, 1, 0), "ConvTranspose2d: dilation must be positive, got 1x0");
        Throws<ArgumentException>(() => Ops.ConvTranspose2d(Tensor.Zeros(1, 1, 3, 3), Tensor.Zeros(1, 1, 1, 1), null, 1, 1, 0, 2, 0, 0),
            "ConvTranspose2d: output would be empty: input [1, 1, 3, 3], kernel 1x1, stride 1x1, padding 0x2, outputPadding 0x0, dilation 1x1");
    }

    /// <summary>Each output element as the sum over the taps that reach it: oy = iy*strideH - padH + r*dilationH, likewise ox.</summary>
    private static (int[] Shape, float[] Values) NaiveConvTranspose(
        Tensor x, Tensor w, Tensor b, (int H, int W) stride, (int H, int W) padding, (int H, int W) outputPadding, (int H, int W) dilation, int groups)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], wd = x.Shape[3], kg = w.Shape[1], r = w.Shape[2], s = w.Shape[3];
        int k = kg * groups, cg = c / groups;
        int oh = (h - 1) * stride.H - 2 * padding.H + dilation.H * (r - 1) + 1 + outputPadding.H;
        int ow = (wd - 1) * stride.W - 2 * padding.W + dilation.W * (s - 1) + 1 + outputPadding.W;
        var xs = x.Floats.ToArray();
        var ws = w.Floats.ToArray();
        var values = new float[n * k * oh * ow];
        for (int img = 0; img < n; img++)
        for (int ko = 0; ko < k; ko++)
        for (int y = 0; y < oh; y++)
        for (int z = 0; z < ow; z++)
        {
            double sum = b.Floats[ko];
            int g = ko / kg;
            for (int ci = g * cg; ci < (g + 1) * cg; ci++)
            for (int ri = 0; ri < r; ri++)
            for (int si = 0; si < s; si++)
            {
                int ty = y + padding.H - ri * dilation.H, tz = z + padding.W - si * dilation.W;
                if (ty < 0 || tz < 0 || ty % stride.H != 0 || tz % stride.W != 0 || ty / stride.H >= h || tz / stride.W >= wd) continue;
                sum += (double)xs[((img * c + ci) * h + ty / stride.H) * wd + tz / stride.W] * ws[((ci * kg + ko % kg) * r + ri) * s + si];
            }

            values[((img * k + ko) * oh + y) * ow + z] = (float)sum;
        }

        return (new[] { n, k, oh, ow }, values);
    }

    [Fact]
    public void ConvTranspose2d_Errors()
    {
        var x = Tensor.Zeros(1, 4, 3, 3);
        Throws<ArgumentException>(() => Ops.ConvTranspose2d(x, Tensor.Zeros(3, 2, 3, 3)), "ConvTranspose2d: weight [3, 2, 3, 3] expects 3 input channels, the input [1, 4, 3, 3] has 4");
        Throws<ArgumentException>(() => Ops.ConvTranspose2d(x, Tensor.Zeros(4, 2, 3, 3), groups: 3), "ConvTranspose2d: groups 3 must divide the input channels 4");
        Throws<ArgumentException>(() => Ops.ConvTranspose2d(x, Tensor.Zeros(4, 2, 3, 3), Tensor.Zeros(3)), "ConvTranspose2d: bias has shape [3], expected [2]");
        Throws<ArgumentException>(() => Ops.ConvTranspose2d(x, Tensor.Zeros(4, 2, 1, 1), padding: 2), "ConvTranspose2d: output would be empty");
        Throws<ArgumentException>(() => Ops.ConvTranspose2d(x, Tensor.Zeros(4, 2, 3, 3), stride: 0), "ConvTranspose2d", "stride");
        Throws<ArgumentException>(() => Ops.ConvTranspose2d(x, Tensor.Zeros(4, 2, 3, 3), outputPadding: -1), "ConvTranspose2d", "outputPadding");
        Throws<ArgumentException>(() => Ops.ConvTranspose2d(Tensor.Zeros(4, 3, 3), Tensor.Zeros(4, 2, 3, 3)), "ConvTranspose2d: input must be [N, C, H, W], got [4, 3, 3]");
    }

    [Fact]
    public void RectangularPools_MatchANaiveWindowLoop()
    {
        var x = Iota(2, 3, 5, 8);
        foreach (var (kh, kw, sh, sw, ph, pw) in new[] { (1, 2, 1, 2, 0, 0), (3, 1, 2, 1, 1, 0), (2, 3, 1, 2, 1, 1), (1, 3, 0, 0, 0, 1) })
        {
            Assert.Equal(NaivePool(x, kh, kw, sh, sw, ph, pw, max: true, includePad: true), Ops.MaxPool2d(x, kh, kw, sh, sw, ph, pw).Floats.ToArray());
            foreach (bool include in new[] { true, false })
            {
                var expected = NaivePool(x, kh, kw, sh, sw, ph, pw, max: false, include);
                var actual = Ops.AvgPool2d(x, kh, kw, sh, sw, ph, pw, include).Floats.ToArray();
                for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 5);
            }
        }

        // The square overloads are the rectangular ones with equal sides.
        Assert.Equal(Ops.MaxPool2d(x, 3, 2, 1).Floats.ToArray(), Ops.MaxPool2d(x, 3, 3, 2, 2, 1, 1).Floats.ToArray());
        Assert.Equal(new[] { 2, 3, 5, 4 }, Ops.MaxPool2d(x, 1, 2, 1, 2).ShapeArray());
    }

    /// <summary>Pooling by its definition: every window position, in-bounds elements only.</summary>
    private static float[] NaivePool(Tensor x, int kh, int kw, int sh, int sw, int ph, int pw, bool max, bool includePad)
    {
        if (sh == 0) sh = kh;
        if (sw == 0) sw = kw;
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int oh = (h + 2 * ph - kh) / sh + 1, ow = (w + 2 * pw - kw) / sw + 1;
        var input = x.Floats.ToArray();
        var result = new List<float>();
        for (int plane = 0; plane < n * c; plane++)
        for (int y = 0; y < oh; y++)
        for (int z = 0; z < ow; z++)
        {
            var window = new List<float>();
            for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++)
            {
                int iy = y * sh - ph + i, ix = z * sw - pw + j;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w) window.Add(input[(plane * h + iy) * w + ix]);
            }

            result.Add(max ? window.Max() : (float)(window.Sum(v => (double)v) / (includePad ? kh * kw : window.Count)));
        }

        return result.ToArray();
    }

    [Fact]
    public void GlobalAvgPool_MeanOverSpatialAxes()
    {
        AssertTensor(Ops.GlobalAvgPool(Iota(1, 2, 2, 2)), new[] { 1, 2, 1, 1 }, F(1.5f, 5.5f));
        AssertTensor(Ops.GlobalAvgPool(Iota(2, 1, 1, 3)), new[] { 2, 1, 1, 1 }, F(1, 4));
    }

    [Fact]
    public void Pool_Errors()
    {
        Throws<ArgumentException>(() => Ops.MaxPool2d(Tensor.Zeros(1, 1, 2, 2), 3), "MaxPool2d: output would be empty: input [1, 1, 2, 2], kernel 3x3, stride 3x3, padding 0x0");
        Throws<ArgumentException>(() => Ops.AvgPool2d(Tensor.Zeros(1, 1, 4, 4), 2, padding: 2), "AvgPool2d", "padding", "2");
        Throws<ArgumentException>(() => Ops.MaxPool2d(Tensor.Zeros(1, 1, 4, 4), 0), "MaxPool2d", "kernel");
        Throws<ArgumentException>(() => Ops.MaxPool2d(Tensor.Zeros(1, 1, 4, 4), 2, stride: -1), "MaxPool2d", "stride");
        Throws<ArgumentException>(() => Ops.MaxPool2d(Tensor.Zeros(1, 1, 4, 4), 1, 4, 1, 1, padW: 3), "MaxPool2d: padding must be between 0 and half the kernel (0x2), got 0x3");
        Throws<ArgumentException>(() => Ops.AvgPool2d(Tensor.Zeros(1, 1, 4, 4), 5, 1, 1, 1), "AvgPool2d: output would be empty: input [1, 1, 4, 4], kernel 5x1, stride 1x1, padding 0x0");
        Throws<ArgumentException>(() => Ops.AvgPool2d(Tensor.Zeros(4, 4), 2), "AvgPool2d: input must be [N, C, H, W], got [4, 4]");
        Throws<ArgumentException>(() => Ops.GlobalAvgPool(Tensor.Zeros(1, 4, 4)), "GlobalAvgPool: input must be [N, C, H, W], got [1, 4, 4]");
        Throws<ArgumentException>(() => Ops.GlobalAvgPool(I(new[] { 1 }, 1, 1, 1, 1)), "GlobalAvgPool", "Int32");
    }

    [Fact]
    public void Resize_Nearest_UpsamplesByRepeating_AndRoundsTiesAsAsked()
    {
        var x = T(F(1, 2, 3, 4), 1, 1, 2, 2);
        AssertTensor(Ops.Resize(x, 4, 4), new[] { 1, 1, 4, 4 }, F(1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4));

        // 3 -> 2 with half_pixel: the source coordinates are 0.25 and 1.75; with asymmetric, 0 and 1.5 (a tie).
        var row = T(F(10, 20, 30), 1, 1, 1, 3);
        AssertTensor(Ops.Resize(row, 1, 2), new[] { 1, 1, 1, 2 }, F(10, 30));
        AssertTensor(Ops.Resize(row, 1, 2, coordinates: ResizeCoordinates.Asymmetric), new[] { 1, 1, 1, 2 }, F(10, 20));
        AssertTensor(Ops.Resize(row, 1, 2, coordinates: ResizeCoordinates.Asymmetric, nearest: ResizeNearest.RoundPreferCeil), new[] { 1, 1, 1, 2 }, F(10, 30));
        AssertTensor(Ops.Resize(row, 1, 2, coordinates: ResizeCoordinates.Asymmetric, nearest: ResizeNearest.Ceil), new[] { 1, 1, 1, 2 }, F(10, 30));
        AssertTensor(Ops.Resize(row, 1, 2, coordinates: ResizeCoordinates.HalfPixel, nearest: ResizeNearest.Floor), new[] { 1, 1, 1, 2 }, F(10, 20));
    }

    [Fact]
    public void Resize_Linear_InterpolatesAndClampsAtTheBorder()
    {
        var row = T(F(0, 10), 1, 1, 1, 2);
        // half_pixel 2 -> 4: coordinates -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
        AssertTensor(Ops.Resize(row, 1, 4, ResizeMode.Linear), new[] { 1, 1, 1, 4 }, F(0, 2.5f, 7.5f, 10));
        // align_corners 2 -> 3: 0, 0.5, 1.
        AssertTensor(Ops.Resize(row, 1, 3, ResizeMode.Linear, ResizeCoordinates.AlignCorners), new[] { 1, 1, 1, 3 }, F(0, 5, 10));
        // An explicit scale that differs from the size ratio: asymmetric, scale 4 on 2 -> 3: 0, 0.25, 0.5.
        AssertTensor(Ops.Resize(row, 1, 3, ResizeMode.Linear, ResizeCoordinates.Asymmetric, scaleHeight: 1f, scaleWidth: 4f), new[] { 1, 1, 1, 3 }, F(0, 2.5f, 5));
    }

    [Fact]
    public void Resize_RejectsBadArguments()
    {
        Throws<ArgumentException>(() => Ops.Resize(Tensor.Zeros(2, 2), 4, 4), "Resize", "[N, C, H, W]");
        Throws<ArgumentException>(() => Ops.Resize(Tensor.Zeros(1, 1, 2, 2), 0, 4), "Resize: the output size 0 x 4 must be positive");
        Throws<ArgumentException>(() => Ops.Resize(Tensor.Zeros(1, 1, 2, 2), 4, 4, scaleHeight: -1f), "Resize: scales -1 and 0");
    }
}
