using Aot.Dsl;
using Aot.Generator.IR;
using static Aot.Tests.Shared.CaseKit;
using static Gpu.Tests.Cases;

namespace Gpu.Tests;

/// <summary>Whole models on the GPU backend: the samples/Mlp shape, a convolutional net, a transformer-like block, and
/// a chain of nearly every op (arena reuse, Reshape aliases, Int32 values, load-time values), against the eager
/// reference.</summary>
[Collection(GpuCollection.Name)]
public class ModelGpuTests
{
    private readonly GpuFixture _gpu;

    public ModelGpuTests(GpuFixture gpu) => _gpu = gpu;

    private static Tensor Linear(Tensor x, IReadOnlyList<Tensor> w, ref int next) => Ops.Linear(x, w[next++], w[next++]);

    [Fact]
    public void The_Mlp_sample_shape_matches_the_reference()
    {
        foreach (int batch in new[] { 1, 3 })
        {
            var (graph, net) = PtxTests.Mlp(batch);
            var x = Rand(batch, 0f, 1f, batch, 784);
            int i = 0;
            var h = Ops.Relu(Linear(x, net, ref i));
            h = Ops.Relu(Linear(h, net, ref i));
            var expected = Ops.Softmax(Linear(h, net, ref i), 1);
            var compiled = GpuCompiledGraphs.Compile(new[] { graph });
            Assert.Null(Compare(expected, compiled.Run(0, net, new[] { x }, _gpu.Accelerator), Tolerance.Accumulation));
        }
    }

    [Fact]
    public void A_conv_net_and_a_transformer_block_match_the_reference()
    {
        var (convGraph, convWeights) = PtxTests.ConvNet();
        var image = Rand(7, 2, 3, 32, 32);
        int i = 0;
        var c = Ops.Conv2d(image, convWeights[i++], convWeights[i++], 1, 1);
        c = Ops.Relu(Ops.Add(Ops.Mul(c, 0.5f), 0.1f));
        c = Ops.MaxPool2d(c, 2, 2);
        c = Ops.Conv2d(c, convWeights[i++], convWeights[i++], 2, 1, 1, 16);
        c = Ops.Conv2d(c, convWeights[i++], convWeights[i++]);
        c = Ops.Gelu(c, GeluMode.Tanh);
        c = Ops.AvgPool2d(c, 3, 1, 1, countIncludePad: false);
        c = Ops.Reshape(Ops.GlobalAvgPool(c), 2, 32);
        var convExpected = Linear(c, convWeights, ref i);

        var (blockGraph, blockWeights) = PtxTests.TransformerBlock();
        var x = Rand(8, 32, 32);
        var tokens = Tensor.FromArray(new[] { 5, -1, 17 }, 3);
        var blockExpected = Block(x, tokens, blockWeights);

        var compiled = GpuCompiledGraphs.Compile(new[] { convGraph, blockGraph });
        Assert.Null(Compare(convExpected, compiled.Run(0, convWeights, new[] { image }, _gpu.Accelerator), Tolerance.Accumulation));
        Assert.Null(Compare(blockExpected, compiled.Run(1, blockWeights, new[] { x, tokens }, _gpu.Accelerator), Tolerance.Accumulation));
    }

    /// <summary>The eager form of <see cref="PtxTests.TransformerBlock"/>.</summary>
    private static Tensor Block(Tensor x, Tensor tokens, IReadOnlyList<Tensor> w)
    {
        const int batch = 2, seq = 16, d = 32, heads = 4, dh = 8;
        int i = 0;
        Tensor Ln(Tensor v) => Ops.LayerNorm(v, w[i++], w[i++]);
        Tensor Heads(Tensor v) => Ops.Transpose(Ops.Reshape(v, batch, seq, heads, dh), 0, 2, 1, 3);
        var h = Ln(x);
        var q = Heads(Linear(h, w, ref i));
        var k = Heads(Linear(h, w, ref i));
        var v = Heads(Linear(h, w, ref i));
        var p = Ops.Softmax(Ops.Mul(Ops.MatMul(q, Ops.Transpose(k, 0, 1, 3, 2)), 1f / MathF.Sqrt(dh)), 3);
        var merged = Ops.Reshape(Ops.Transpose(Ops.MatMul(p, v), 0, 2, 1, 3), batch * seq, d);
        var x1 = Ops.Add(x, Linear(merged, w, ref i));
        var f = Ops.Gelu(Linear(Ln(x1), w, ref i), GeluMode.Erf);
        var y = Ops.Add(x1, Linear(f, w, ref i));
        var both = Ops.Concat(new[] { Ops.Sub(y, Ops.ReduceMean(y, 1, keepDims: true)), Ops.Sub(y, Ops.ReduceMax(y, 0, keepDims: true)) }, 1);
        return Ops.ReduceSum(Ops.Gather(Ops.Slice(both, 1, 1, 60, 3), tokens), 1);
    }

    [Fact]
    public void A_chain_of_most_ops_matches_the_reference()
    {
        var chain = ChainModel.Build();
        var compiled = GpuCompiledGraphs.Compile(new[] { chain.Graph });
        var actual = compiled.Run(0, chain.Weights, new[] { chain.X, chain.Indices }, _gpu.Accelerator);
        Assert.Null(Compare(chain.Expected, actual, Tolerance.Accumulation));
    }

    /// <summary>Values computed from weights only (a transposed weight, a constant) are computed once by the
    /// constructor, not on every run.</summary>
    [Fact]
    public void Weight_only_values_are_computed_once_when_the_model_is_compiled()
    {
        var w = Rand(1, 5, 17);
        var x = Rand(2, 3, 17);
        var g = new GraphBuilder("G");
        int X = g.AddInput("x", TypeOf(x));
        int W = g.AddWeight("w", TypeOf(w));
        Assert.Null(g.TryAdd(OpKind.Transpose, new[] { W }, Attrs(Attr.OfInts(AttrNames.Perm, 1, 0)), out int wt).Error);
        Assert.Null(g.TryAdd(OpKind.MatMul, new[] { X, wt }, Aot.Generator.IR.Attrs.None, out int y).Error);
        g.AddOutput(y);
        var compiled = GpuCompiledGraphs.Compile(new[] { g.Build() });
        Assert.Equal(1, (int)compiled.GetType("M0+GpuCompiled").GetField("LaunchCount")!.GetValue(null)!);
        Assert.Null(Compare(Ops.MatMul(x, Ops.Transpose(w, 1, 0)), compiled.Run(0, new[] { w }, new[] { x }, _gpu.Accelerator), Tolerance.Accumulation));
    }

    /// <summary>The device-view overload enqueues only; after Synchronize its result equals the host-span overload's.
    /// Wrong lengths, a missing weight and use after Dispose are reported.</summary>
    [Fact]
    public void Device_views_host_spans_and_argument_checks()
    {
        const string driver = """
            namespace T
            {
                public static class Driver
                {
                    public static float[] OnDevice(global::T.M0.GpuCompiled model, global::ILGPU.Runtime.Accelerator accelerator, float[] x)
                    {
                        using var input = accelerator.Allocate1D<float>(x.Length);
                        using var output = accelerator.Allocate1D<float>(10);
                        global::Aot.Runtime.Gpu.GpuRuntime.CopyIn<float>(accelerator.DefaultStream, input.View, x);
                        model.Run(input.View, output.View);
                        model.Synchronize();
                        var y = new float[10];
                        global::Aot.Runtime.Gpu.GpuRuntime.CopyOut<float>(accelerator.DefaultStream, output.View, y);
                        return y;
                    }

                    public static float[] OnHost(global::T.M0.GpuCompiled model, float[] x)
                    {
                        var y = new float[10];
                        model.Run(x, y);
                        return y;
                    }

                    public static void WrongLength(global::T.M0.GpuCompiled model) => model.Run(new float[783], new float[10]);

                    public static void WrongView(global::T.M0.GpuCompiled model, global::ILGPU.Runtime.Accelerator accelerator)
                    {
                        using var input = accelerator.Allocate1D<float>(784);
                        using var output = accelerator.Allocate1D<float>(11);
                        model.Run(input.View, output.View);
                    }
                }
            }
            """;
        var (graph, weights) = PtxTests.Mlp(1);
        var compiled = GpuCompiledGraphs.Compile(new[] { graph }, driver);
        var d = compiled.GetType("Driver");
        var x = Rand(3, 0f, 1f, 784).Floats.ToArray();
        var model = compiled.Instantiate(0, weights, _gpu.Accelerator);
        object? Call(string name, params object[] args) => GpuCompiledGraphs.Unwrap(() => d.GetMethod(name)!.Invoke(null, args));
        var host = (float[])Call("OnHost", model, x)!;
        var device = (float[])Call("OnDevice", model, _gpu.Accelerator, x)!;
        Assert.Equal(host, device);
        Assert.Equal(1f, host.Sum(), 4);

        var e = Assert.Throws<ArgumentException>(() => Call("WrongLength", model));
        Assert.Contains("784", e.Message);
        e = Assert.Throws<ArgumentException>(() => Call("WrongView", model, _gpu.Accelerator));
        Assert.Contains("output", e.Message);
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Call("OnHost", model, x));

        var missing = weights.ToArray();
        missing[2] = Rand(4, 3, 3); // wrong shape
        Assert.Throws<Aot.Runtime.WeightsException>(() => compiled.Instantiate(0, missing, _gpu.Accelerator));
    }
}

/// <summary>A graph chaining nearly every op kind (the GPU twin of the CPU backend's chain test).</summary>
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

        var g = new GraphBuilder("Chain");
        int X = g.AddInput("y", TypeOf(x));      // named like the kernels' parameters on purpose
        int I = g.AddInput("x0", TypeOf(indices));
        var weights = new[] { w1, b1, gamma, beta, convW, convB, w2 };
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
        int p = N(OpKind.MaxPool2d, Pool(2, 1), c);
        int a = N(OpKind.AvgPool2d, Pool(2, 2), p);
        int t = N(OpKind.Transpose, Attrs(Attr.OfInts(AttrNames.Perm, 0, 2, 3, 1)), a);
        int s = N(OpKind.Softmax, Attrs(Attr.OfInt(AttrNames.Axis, 3L)), t);
        int gp = N(OpKind.GlobalAvgPool, none, c);
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
        var es = Ops.Softmax(Ops.Transpose(Ops.AvgPool2d(Ops.MaxPool2d(ec, 2, 1), 2, 2), 0, 2, 3, 1), 3);
        var egr = Ops.Reshape(Ops.GlobalAvgPool(ec), 4);
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
