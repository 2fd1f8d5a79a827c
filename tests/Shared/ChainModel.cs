// Shared by Generator.Tests (CPU backend) and Gpu.Tests (GPU backend): linked into both projects.
using Aot.Dsl;
using Aot.Generator.IR;
using static Aot.Tests.Shared.CaseKit;

namespace Aot.Tests.Shared;

/// <summary>
/// A graph chaining nearly every op kind (intermediates in the arena, a Reshape alias, weights, constants, Int32
/// indices) with its eager result, built side by side; both backend suites run it end to end. The inputs are named
/// y and x0 on purpose: they become parameters of the generated Run and must not clash with the kernels' locals.
/// </summary>
internal sealed class ChainModel
{
    public Graph Graph = null!;
    public Tensor[] Weights = null!;
    public Tensor X = null!;
    public Tensor Indices = null!;
    public Tensor Expected = null!;

    public static ChainModel Build()
    {
        var x = Rand(1, 3, 17);
        var indices = Tensor.FromArray(new[] { 5, -6 }, 2);
        var w1 = Rand(2, 33, 17);
        var b1 = Rand(3, 33);
        var gamma = Rand(4, 0.5f, 1.5f, 33);
        var beta = Rand(5, 33);
        var convW = Rand(6, 4, 3, 3, 3);
        var convB = Rand(7, 4);
        var w2 = Rand(8, 4, 5);
        var upW = Rand(9, 4, 2, 3, 3);
        var upB = Rand(10, 4);

        var g = new GraphBuilder("Chain");
        int X = g.AddInput("y", TypeOf(x));
        int I = g.AddInput("x0", TypeOf(indices));
        var weights = new[] { w1, b1, gamma, beta, convW, convB, w2, upW, upB };
        var W = weights.Select((t, i) => g.AddWeight("weight" + i, TypeOf(t))).ToArray();

        int N(OpKind op, Attrs attrs, params int[] inputs)
        {
            var result = g.TryAdd(op, inputs, attrs, out int id);
            if (result.Error is { } e) throw new InvalidOperationException(op + ": " + e.Message);
            return id;
        }

        int C(float value) => N(OpKind.Constant, Attrs(Attr.OfFloat(AttrNames.Value, value)));
        var none = Aot.Generator.IR.Attrs.None;
        var gemmAttrs = Attrs(Attr.OfFloat(AttrNames.Alpha, 1f), Attr.OfFloat(AttrNames.Beta, 1f), Attr.OfInt(AttrNames.TransA, 0L), Attr.OfInt(AttrNames.TransB, 1L));
        var convAttrs = Attrs(Attr.OfInts(AttrNames.Strides, 1, 1), Attr.OfInts(AttrNames.Pads, 1, 1, 1, 1), Attr.OfInts(AttrNames.Dilations, 1, 1), Attr.OfInt(AttrNames.Group, 1L));
        Attrs Pool(int k, int s) => Attrs(Attr.OfInts(AttrNames.Kernel, k, k), Attr.OfInts(AttrNames.Strides, s, s), Attr.OfInts(AttrNames.Pads, 0, 0, 0, 0), Attr.OfInt(AttrNames.CountIncludePad, 1L));

        int h = N(OpKind.Gemm, gemmAttrs, X, W[0], W[1]);
        h = N(OpKind.Relu, none, h);
        h = N(OpKind.LayerNorm, Attrs(Attr.OfInt(AttrNames.Axis, 1L), Attr.OfFloat(AttrNames.Epsilon, 1e-5f)), h, W[2], W[3]);
        int r = N(OpKind.Reshape, Attrs(Attr.OfInts(AttrNames.Shape, 1, 3, 3, 11)), h);
        int c = N(OpKind.Conv2d, convAttrs, r, W[4], W[5]);
        c = N(OpKind.Gelu, Attrs(Attr.OfInt(AttrNames.Mode, 0L)), c);
        int p = N(OpKind.MaxPool2d, Attrs(Attr.OfInts(AttrNames.Kernel, 1, 2), Attr.OfInts(AttrNames.Strides, 1, 1), Attr.OfInts(AttrNames.Pads, 0, 0, 0, 0)), c);
        int a = N(OpKind.AvgPool2d, Pool(2, 2), p);
        int t = N(OpKind.Transpose, Attrs(Attr.OfInts(AttrNames.Perm, 0, 2, 3, 1)), a);
        int s = N(OpKind.Softmax, Attrs(Attr.OfInt(AttrNames.Axis, 3L)), t);
        int up = N(OpKind.ConvTranspose2d, ConvTransposeAttrs(new[] { 1, 1 }, new[] { 1, 1, 1, 1 }, new[] { 0, 0 }, new[] { 1, 1 }, 2), c, W[7], W[8]);
        int gp = N(OpKind.GlobalAvgPool, none, up);
        int gr = N(OpKind.Reshape, Attrs(Attr.OfInts(AttrNames.Shape, 4)), gp);
        int m = N(OpKind.MatMul, none, s, W[6]);
        m = N(OpKind.Mul, none, m, C(0.5f));
        int mean = N(OpKind.ReduceMean, Attrs(Attr.OfInts(AttrNames.Axes, 3), Attr.OfInt(AttrNames.KeepDims, 1L)), m);
        m = N(OpKind.Sub, none, N(OpKind.Sigmoid, none, m), mean);
        int sl = N(OpKind.Slice, Attrs(Attr.OfInt(AttrNames.Axis, 2L), Attr.OfInt(AttrNames.Start, 0L), Attr.OfInt(AttrNames.End, 5L), Attr.OfInt(AttrNames.Step, 2L)), m);
        int cat = N(OpKind.Concat, Attrs(Attr.OfInt(AttrNames.Axis, 2L)), sl, sl);
        int red = N(OpKind.ReduceSum, Attrs(Attr.OfInts(AttrNames.Axes, 0, 1), Attr.OfInt(AttrNames.KeepDims, 0L)), cat);
        int gat = N(OpKind.Gather, Attrs(Attr.OfInt(AttrNames.Axis, 0L)), red, I);
        int q = N(OpKind.Div, none, N(OpKind.Erf, none, gat), N(OpKind.Add, none, N(OpKind.Exp, none, gat), C(1f)));
        int o = N(OpKind.Max, none, N(OpKind.Tanh, none, gat), q);
        o = N(OpKind.Sub, none, o, N(OpKind.ReduceMax, Attrs(Attr.OfInts(AttrNames.Axes, 0), Attr.OfInt(AttrNames.KeepDims, 0L)), gr));
        int abs = N(OpKind.Abs, none, o);
        int logp = N(OpKind.Log, none, N(OpKind.Add, none, abs, C(1f)));
        int z = N(OpKind.Rsqrt, none, N(OpKind.Add, none, N(OpKind.Sqrt, none, abs), C(1f)));
        int final = N(OpKind.Min, none, N(OpKind.Neg, none, logp), N(OpKind.Pow, none, z, C(2f)));
        g.AddOutput(final);

        var eh = Ops.LayerNorm(Ops.Relu(Ops.Gemm(x, w1, b1, transB: true)), gamma, beta, 1e-5f);
        var ec = Ops.Gelu(Ops.Conv2d(Ops.Reshape(eh, 1, 3, 3, 11), convW, convB, 1, 1));
        var es = Ops.Softmax(Ops.Transpose(Ops.AvgPool2d(Ops.MaxPool2d(ec, 1, 2, 1, 1), 2, 2), 0, 2, 3, 1), 3);
        var egr = Ops.Reshape(Ops.GlobalAvgPool(Ops.ConvTranspose2d(ec, upW, upB, 1, 1, groups: 2)), 4);
        var em = Ops.Mul(Ops.MatMul(es, w2), 0.5f);
        em = Ops.Sub(Ops.Sigmoid(em), Ops.ReduceMean(em, 3, keepDims: true));
        var esl = Ops.Slice(em, 2, 0, 5, 2);
        var egat = Ops.Gather(Ops.ReduceSum(Ops.Concat(new[] { esl, esl }, 2), new[] { 0, 1 }), indices);
        var eo = Ops.Max(Ops.Tanh(egat), Ops.Div(Ops.Erf(egat), Ops.Add(Ops.Exp(egat), 1f)));
        eo = Ops.Sub(eo, Ops.ReduceMax(egr, 0));
        var eabs = Ops.Abs(eo);
        var expected = Ops.Min(Ops.Neg(Ops.Log(Ops.Add(eabs, 1f))), Ops.Pow(Ops.Rsqrt(Ops.Add(Ops.Sqrt(eabs), 1f)), 2f));

        return new ChainModel { Graph = g.Build(), Weights = weights, X = x, Indices = indices, Expected = expected };
    }
}
