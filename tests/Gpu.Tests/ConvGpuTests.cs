using Aot.Dsl;
using Aot.Generator.Backends.Gpu;
using Aot.Generator.IR;
using static Gpu.Tests.Cases;

namespace Gpu.Tests;

[Collection(GpuCollection.Name)]
public class ConvGpuTests
{
    private readonly GpuFixture _gpu;

    public ConvGpuTests(GpuFixture gpu) => _gpu = gpu;

    /// <summary>x [N, C, H, W] padded with <paramref name="value"/>: the reference for asymmetric padding.</summary>
    private static Tensor Pad(Tensor x, int top, int left, int bottom, int right, float value)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int ph = h + top + bottom, pw = w + left + right;
        var data = Enumerable.Repeat(value, n * c * ph * pw).ToArray();
        var src = x.Floats;
        for (int p = 0; p < n * c; p++)
        {
            for (int i = 0; i < h; i++)
            {
                for (int j = 0; j < w; j++) data[(p * ph + i + top) * pw + j + left] = src[(p * h + i) * w + j];
            }
        }

        return Tensor.FromArray(data, n, c, ph, pw);
    }

    private static Tensor Subsample(Tensor y, int sh, int sw) => Ops.Slice(Ops.Slice(y, 2, 0, y.Shape[2], sh), 3, 0, y.Shape[3], sw);

    private static Attrs ConvAttrs(int[] strides, int[] pads, int[] dilations, int group) => Attrs(
        Attr.OfInts(AttrNames.Strides, strides), Attr.OfInts(AttrNames.Pads, pads), Attr.OfInts(AttrNames.Dilations, dilations), Attr.OfInt(AttrNames.Group, (long)group));

    [Fact]
    public void Conv2d_matches_the_reference_for_strides_padding_dilation_groups_and_depthwise()
    {
        var cases = new List<GpuCase>();
        int seed = 1000;
        foreach (var (xShape, wShape, bias, stride, pad, dilation, groups) in new[]
        {
            (new[] { 1, 3, 17, 17 }, new[] { 4, 3, 3, 3 }, true, 1, 1, 1, 1),
            (new[] { 2, 3, 17, 33 }, new[] { 3, 3, 3, 3 }, false, 2, 0, 1, 1),
            (new[] { 1, 3, 17, 17 }, new[] { 5, 3, 3, 3 }, true, 1, 2, 2, 1),
            (new[] { 1, 4, 9, 9 }, new[] { 6, 2, 3, 3 }, true, 1, 1, 1, 2),     // groups
            (new[] { 1, 3, 17, 17 }, new[] { 3, 1, 3, 3 }, true, 1, 1, 1, 3),   // depthwise
            (new[] { 2, 3, 17, 17 }, new[] { 6, 1, 3, 3 }, false, 2, 1, 1, 3),  // depthwise, multiplier 2, stride 2
            (new[] { 1, 17, 3, 3 }, new[] { 33, 17, 1, 1 }, true, 1, 0, 1, 1),  // 1x1: a plain GEMM on the planes
            (new[] { 2, 4, 5, 3 }, new[] { 6, 2, 1, 1 }, false, 1, 0, 1, 2),    // grouped 1x1
            (new[] { 1, 3, 3, 17 }, new[] { 2, 3, 1, 3 }, false, 1, 0, 1, 1),   // non-square kernel
            (new[] { 1, 1, 1, 1 }, new[] { 1, 1, 1, 1 }, true, 1, 0, 1, 1),
            (new[] { 1, 3, 33, 33 }, new[] { 3, 3, 5, 5 }, true, 3, 2, 2, 1),
            (new[] { 1, 3, 17, 17 }, new[] { 3, 3, 3, 3 }, false, 1, 3, 1, 1),  // padding wider than a tap reaches
            (new[] { 1, 3, 17, 33 }, new[] { 2, 3, 3, 3 }, true, 2, 0, 2, 1),   // dilation without padding
            (new[] { 1, 2, 5, 5 }, new[] { 2, 2, 1, 1 }, false, 2, 0, 1, 1),    // 1x1 with stride: im2col path
        })
        {
            var x = Rand(seed++, xShape);
            var w = Rand(seed++, wShape);
            var b = bias ? Rand(seed++, wShape[0]) : null;
            var operands = b is null ? new[] { x, w } : new[] { x, w, b };
            var attrs = ConvAttrs(new[] { stride, stride }, new[] { pad, pad, pad, pad }, new[] { dilation, dilation }, groups);
            string name = $"{S(xShape)} * {S(wShape)} bias {bias} stride {stride} pad {pad} dilation {dilation} groups {groups}";
            cases.Add(Case(name, OpKind.Conv2d, attrs, operands, Ops.Conv2d(x, w, b, stride, pad, dilation, groups), Tolerance.Accumulation, weightMask: 6));
        }

        foreach (var (pads, stride) in new[] { (new[] { 0, 1, 2, 1 }, 2), (new[] { 2, 0, 0, 1 }, 1) })
        {
            var x = Rand(seed++, 1, 3, 17, 17);
            var w = Rand(seed++, 4, 3, 3, 3);
            var b = Rand(seed++, 4);
            var expected = Ops.Conv2d(Pad(x, pads[0], pads[1], pads[2], pads[3], 0f), w, b, stride);
            cases.Add(Case($"pads {S(pads)} stride {stride}", OpKind.Conv2d, ConvAttrs(new[] { stride, stride }, pads, new[] { 1, 1 }, 1), new[] { x, w, b }, expected, Tolerance.Accumulation, weightMask: 6));
        }

        foreach (var strides in new[] { new[] { 1, 2 }, new[] { 3, 1 } })
        {
            var x = Rand(seed++, 1, 3, 17, 33);
            var w = Rand(seed++, 3, 3, 3, 3);
            var expected = Subsample(Ops.Conv2d(x, w, null, 1, 1), strides[0], strides[1]);
            cases.Add(Case($"strides {S(strides)}", OpKind.Conv2d, ConvAttrs(strides, new[] { 1, 1, 1, 1 }, new[] { 1, 1 }, 1), new[] { x, w }, expected, Tolerance.Accumulation, weightMask: 2));
        }

        Check(_gpu.Accelerator, cases);
    }

    [Fact]
    public void Conv2d_with_the_large_tile_handles_edges()
    {
        // The 128 x 128 tile on a convolution with 9 output channels and a 15 x 15 output: one partial tile in both
        // directions, K = 3*3*3 = 27 (a partial K step), padding on every side.
        var x = Rand(1100, 2, 3, 15, 15);
        var w = Rand(1101, 9, 3, 3, 3);
        var b = Rand(1102, 9);
        var attrs = ConvAttrs(new[] { 1, 1 }, new[] { 1, 1, 1, 1 }, new[] { 1, 1 }, 1);
        var target = GpuTarget.H100 with { ForcedTile = new GemmTile(128, 128, 8, 8, 8) };
        Check(_gpu.Accelerator, new[] { Case("large tile", OpKind.Conv2d, attrs, new[] { x, w, b }, Ops.Conv2d(x, w, b, 1, 1), Tolerance.Accumulation, weightMask: 6) }, target);
    }

    [Fact]
    public void Pools_match_the_reference_with_padding_and_both_count_include_pad_modes()
    {
        var cases = new List<GpuCase>();
        int seed = 1200;
        foreach (var (shape, kernel, stride, pad) in new[]
        {
            (new[] { 1, 3, 17, 17 }, 3, 2, 1),
            (new[] { 2, 3, 33, 17 }, 2, 2, 0),
            (new[] { 1, 1, 3, 3 }, 3, 1, 1),
            (new[] { 1, 17, 3, 1 }, 1, 1, 0),
            (new[] { 1, 3, 17, 17 }, 5, 3, 2),
        })
        {
            var x = Rand(seed++, -4f, 4f, shape);
            var attrs = Attrs(Attr.OfInts(AttrNames.Kernel, kernel, kernel), Attr.OfInts(AttrNames.Strides, stride, stride), Attr.OfInts(AttrNames.Pads, pad, pad, pad, pad));
            string name = $"{S(shape)} kernel {kernel} stride {stride} pad {pad}";
            cases.Add(Case(name, OpKind.MaxPool2d, attrs, new[] { x }, Ops.MaxPool2d(x, kernel, stride, pad), Tolerance.Exact));
            foreach (bool include in new[] { true, false })
            {
                var avgAttrs = attrs.With(Attr.OfInt(AttrNames.CountIncludePad, include ? 1L : 0L));
                cases.Add(Case(name + $" count_include_pad {include}", OpKind.AvgPool2d, avgAttrs, new[] { x }, Ops.AvgPool2d(x, kernel, stride, pad, include), Tolerance.Accumulation));
            }
        }

        var xa = Rand(seed++, -4f, 4f, 1, 3, 17, 17);
        var padsA = new[] { 1, 0, 0, 1 };
        var attrsA = Attrs(Attr.OfInts(AttrNames.Kernel, 3, 3), Attr.OfInts(AttrNames.Strides, 2, 2), Attr.OfInts(AttrNames.Pads, padsA));
        cases.Add(Case($"pads {S(padsA)}", OpKind.MaxPool2d, attrsA, new[] { xa }, Ops.MaxPool2d(Pad(xa, 1, 0, 0, 1, float.NegativeInfinity), 3, 2), Tolerance.Exact));
        cases.Add(Case($"pads {S(padsA)} count_include_pad", OpKind.AvgPool2d, attrsA.With(Attr.OfInt(AttrNames.CountIncludePad, 1L)), new[] { xa },
            Ops.AvgPool2d(Pad(xa, 1, 0, 0, 1, 0f), 3, 2), Tolerance.Accumulation));

        foreach (var shape in new[] { new[] { 2, 3, 17, 33 }, new[] { 1, 1, 1, 1 }, new[] { 1, 17, 3, 1 } })
        {
            var x = Rand(seed++, shape);
            cases.Add(Case(S(shape), OpKind.GlobalAvgPool, Aot.Generator.IR.Attrs.None, new[] { x }, Ops.GlobalAvgPool(x), Tolerance.Accumulation));
        }

        Check(_gpu.Accelerator, cases);
    }
}
