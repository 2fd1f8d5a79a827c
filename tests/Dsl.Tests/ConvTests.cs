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
            "Conv2d: output would be empty: input [1, 1, 2, 2], kernel 3x3, stride 1, padding 0, dilation 1");
        Throws<ArgumentException>(() => Ops.Conv2d(Tensor.Zeros(1, 1, 4, 4), Tensor.Zeros(1, 1, 2, 2), dilation: 4), "Conv2d: output would be empty", "dilation 4");
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
    public void GlobalAvgPool_MeanOverSpatialAxes()
    {
        AssertTensor(Ops.GlobalAvgPool(Iota(1, 2, 2, 2)), new[] { 1, 2, 1, 1 }, F(1.5f, 5.5f));
        AssertTensor(Ops.GlobalAvgPool(Iota(2, 1, 1, 3)), new[] { 2, 1, 1, 1 }, F(1, 4));
    }

    [Fact]
    public void Pool_Errors()
    {
        Throws<ArgumentException>(() => Ops.MaxPool2d(Tensor.Zeros(1, 1, 2, 2), 3), "MaxPool2d: output would be empty: input [1, 1, 2, 2], kernel 3x3, stride 3, padding 0");
        Throws<ArgumentException>(() => Ops.AvgPool2d(Tensor.Zeros(1, 1, 4, 4), 2, padding: 2), "AvgPool2d", "padding", "2");
        Throws<ArgumentException>(() => Ops.MaxPool2d(Tensor.Zeros(1, 1, 4, 4), 0), "MaxPool2d", "kernel");
        Throws<ArgumentException>(() => Ops.MaxPool2d(Tensor.Zeros(1, 1, 4, 4), 2, stride: -1), "MaxPool2d", "stride");
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
