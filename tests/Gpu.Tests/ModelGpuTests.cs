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
