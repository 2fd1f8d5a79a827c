using System.Text;
using Aot.Generator.IR;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Xunit.Abstractions;
using static Aot.Tests.Shared.CaseKit;
using static Gpu.Tests.Cases;

namespace Gpu.Tests;

/// <summary>
/// Compiles every kernel the GPU backend emits for representative models (an MLP, a convolutional net, a
/// transformer-like block) to PTX for sm_90 with ILGPU's PTX backend, which needs no GPU: a kernel that uses
/// something CUDA cannot run (MathF.Exp without libdevice, an unsupported construct) fails here on every CI run.
/// </summary>
[Collection(GpuCollection.Name)]
public class PtxTests
{
    private readonly GpuFixture _gpu;
    private readonly ITestOutputHelper _output;

    public PtxTests(GpuFixture gpu, ITestOutputHelper output)
    {
        _gpu = gpu;
        _output = output;
    }

    /// <summary>An MLP shaped like samples/Mlp (784 -> 512 -> 512 -> 10, ReLU, softmax), batch 8.</summary>
    internal static (Graph Graph, IReadOnlyList<Aot.Dsl.Tensor> Weights) Mlp(int batch = 8, int hidden = 512)
    {
        var g = new Net("Mlp");
        int x = g.Input("image", batch, 784);
        int h = g.Linear(x, 784, hidden, relu: true);
        h = g.Linear(h, hidden, hidden, relu: true);
        h = g.Linear(h, hidden, 10, relu: false);
        g.Output(g.Op(OpKind.Softmax, Attrs(Attr.OfInt(AttrNames.Axis, 1L)), h));
        return (g.Build(), g.Weights);
    }

    /// <summary>Convolutions (dense with padding, depthwise with stride, pointwise), pooling, a classifier.</summary>
    internal static (Graph Graph, IReadOnlyList<Aot.Dsl.Tensor> Weights) ConvNet()
    {
        var g = new Net("ConvNet");
        int x = g.Input("image", 2, 3, 32, 32);
        int c = g.Conv(x, 3, 16, 3, stride: 1, pad: 1, groups: 1);
        c = g.Op(OpKind.Relu, Aot.Generator.IR.Attrs.None, g.Op(OpKind.Add, Aot.Generator.IR.Attrs.None, g.Op(OpKind.Mul, Aot.Generator.IR.Attrs.None, c, g.Constant(0.5f)), g.Constant(0.1f))); // fused
        c = g.Op(OpKind.MaxPool2d, Attrs(Attr.OfInts(AttrNames.Kernel, 2, 2), Attr.OfInts(AttrNames.Strides, 2, 2), Attr.OfInts(AttrNames.Pads, 0, 0, 0, 0)), c);
        c = g.Conv(c, 16, 16, 3, stride: 2, pad: 1, groups: 16);
        c = g.Conv(c, 16, 32, 1, stride: 1, pad: 0, groups: 1);
        c = g.Op(OpKind.Gelu, Attrs(Attr.OfInt(AttrNames.Mode, 1L)), c);
        c = g.Op(OpKind.AvgPool2d, Attrs(Attr.OfInts(AttrNames.Kernel, 3, 3), Attr.OfInts(AttrNames.Strides, 1, 1), Attr.OfInts(AttrNames.Pads, 1, 1, 1, 1), Attr.OfInt(AttrNames.CountIncludePad, 0L)), c);
        c = g.Op(OpKind.GlobalAvgPool, Aot.Generator.IR.Attrs.None, c);
        c = g.Op(OpKind.Reshape, Attrs(Attr.OfInts(AttrNames.Shape, 2, 32)), c);
        g.Output(g.Linear(c, 32, 10, relu: false));
        return (g.Build(), g.Weights);
    }

    /// <summary>A pre-LayerNorm attention + feed-forward block: LayerNorm, projections, heads via Reshape/Transpose,
    /// batched MatMul, scaled Softmax, Gelu, residual Adds, a ReduceMean/ReduceMax/Concat/Slice/Gather tail.</summary>
    internal static (Graph Graph, IReadOnlyList<Aot.Dsl.Tensor> Weights) TransformerBlock()
    {
        const int batch = 2, seq = 16, d = 32, heads = 4, dh = 8;
        var g = new Net("Block");
        int x = g.Input("x", batch * seq, d);
        int tokens = g.Input("tokens", 3, Aot.Generator.IR.DType.Int32);
        int h = g.LayerNorm(x, d);
        int Heads(int v) => g.Op(OpKind.Transpose, Attrs(Attr.OfInts(AttrNames.Perm, 0, 2, 1, 3)), g.Op(OpKind.Reshape, Attrs(Attr.OfInts(AttrNames.Shape, batch, seq, heads, dh)), v));
        int q = Heads(g.Linear(h, d, d, relu: false));
        int k = Heads(g.Linear(h, d, d, relu: false));
        int v = Heads(g.Linear(h, d, d, relu: false));
        int kt = g.Op(OpKind.Transpose, Attrs(Attr.OfInts(AttrNames.Perm, 0, 1, 3, 2)), k);
        int scores = g.Op(OpKind.Mul, Aot.Generator.IR.Attrs.None, g.Op(OpKind.MatMul, Aot.Generator.IR.Attrs.None, q, kt), g.Constant(1f / MathF.Sqrt(dh)));
        int p = g.Op(OpKind.Softmax, Attrs(Attr.OfInt(AttrNames.Axis, 3L)), scores);
        int ctx = g.Op(OpKind.MatMul, Aot.Generator.IR.Attrs.None, p, v);
        int merged = g.Op(OpKind.Reshape, Attrs(Attr.OfInts(AttrNames.Shape, batch * seq, d)), g.Op(OpKind.Transpose, Attrs(Attr.OfInts(AttrNames.Perm, 0, 2, 1, 3)), ctx));
        int x1 = g.Op(OpKind.Add, Aot.Generator.IR.Attrs.None, x, g.Linear(merged, d, d, relu: false));
        int f = g.Op(OpKind.Gelu, Attrs(Attr.OfInt(AttrNames.Mode, 0L)), g.Linear(g.LayerNorm(x1, d), d, 4 * d, relu: false));
        int y = g.Op(OpKind.Add, Aot.Generator.IR.Attrs.None, x1, g.Linear(f, 4 * d, d, relu: false));
        int mean = g.Op(OpKind.ReduceMean, Attrs(Attr.OfInts(AttrNames.Axes, 1), Attr.OfInt(AttrNames.KeepDims, 1L)), y);
        int max = g.Op(OpKind.ReduceMax, Attrs(Attr.OfInts(AttrNames.Axes, 0), Attr.OfInt(AttrNames.KeepDims, 1L)), y);
        int both = g.Op(OpKind.Concat, Attrs(Attr.OfInt(AttrNames.Axis, 1L)), g.Op(OpKind.Sub, Aot.Generator.IR.Attrs.None, y, mean), g.Op(OpKind.Sub, Aot.Generator.IR.Attrs.None, y, max));
        int sliced = g.Op(OpKind.Slice, Attrs(Attr.OfInt(AttrNames.Axis, 1L), Attr.OfInt(AttrNames.Start, 1L), Attr.OfInt(AttrNames.End, 60L), Attr.OfInt(AttrNames.Step, 3L)), both);
        int rows = g.Op(OpKind.Gather, Attrs(Attr.OfInt(AttrNames.Axis, 0L)), sliced, tokens);
        g.Output(g.Op(OpKind.ReduceSum, Attrs(Attr.OfInts(AttrNames.Axes, 1), Attr.OfInt(AttrNames.KeepDims, 0L)), rows));
        return (g.Build(), g.Weights);
    }

    [Fact]
    public void Every_kernel_of_representative_models_compiles_to_PTX_for_sm_90()
    {
        // The block's Transposes all fold into its matrix products and its activations into their epilogues: a small
        // graph keeps a materialized Transpose and a standalone Relu in the set.
        var movement = new Net("Movement");
        int t = movement.Op(OpKind.Transpose, Attrs(Attr.OfInts(AttrNames.Perm, 1, 0)), movement.Input("x", 24, 20));
        movement.Output(movement.Op(OpKind.Relu, Aot.Generator.IR.Attrs.None, t));
        // Rows as long as attention scores and a transformer width: the warp-per-row Softmax and LayerNorm (shuffles).
        var rows = new Net("Rows");
        rows.Output(rows.Op(OpKind.Softmax, Attrs(Attr.OfInt(AttrNames.Axis, 1L)), rows.LayerNorm(rows.Input("x", 6, 512), 512)));
        // Transposed convolutions: strided with bias, then grouped with stride 1 (both forms of the tap arithmetic).
        var up = new Net("Up");
        int u = up.Op(OpKind.ConvTranspose2d, ConvTransposeAttrs(new[] { 2, 2 }, new[] { 1, 1, 1, 1 }, new[] { 1, 1 }, new[] { 1, 1 }, 1),
            up.Input("x", 1, 4, 8, 8), up.Weight(Rand(1, 4, 6, 3, 3)), up.Weight(Rand(2, 6)));
        up.Output(up.Op(OpKind.ConvTranspose2d, ConvTransposeAttrs(new[] { 1, 1 }, new[] { 0, 0, 0, 0 }, new[] { 0, 0 }, new[] { 2, 2 }, 2), u, up.Weight(Rand(3, 6, 2, 3, 3))));
        // An embedding lookup with Float32 indices (integer ONNX inputs held in floats).
        var embedding = new Net("Embedding");
        embedding.Output(embedding.Op(OpKind.Gather, Attrs(Attr.OfInt(AttrNames.Axis, 0L)), embedding.Input("table", 30, 8), embedding.Input("ids", 2, 5)));
        // Resize (bilinear and nearest, through ResizeMath) and a mask selection (Greater, Where: fused).
        var image = new Net("Image");
        Attrs Resize(int h, int w, long mode) => Attrs(Attr.OfInts(AttrNames.Shape, h, w), Attr.OfInt(AttrNames.Mode, mode), Attr.OfInt(AttrNames.Coordinates, 0L),
            Attr.OfInt(AttrNames.Nearest, 0L), Attr.OfFloat(AttrNames.ScaleH, 2f), Attr.OfFloat(AttrNames.ScaleW, 2f));
        int resized = image.Op(OpKind.Resize, Resize(12, 10, 0L), image.Op(OpKind.Resize, Resize(6, 5, 1L), image.Input("x", 1, 3, 3, 3)));
        image.Output(image.Op(OpKind.Where, Aot.Generator.IR.Attrs.None, image.Op(OpKind.Greater, Aot.Generator.IR.Attrs.None, resized, image.Constant(0f)), resized, image.Op(OpKind.Neg, Aot.Generator.IR.Attrs.None, resized)));
        var compiled = GpuCompiledGraphs.Compile(new[] { Mlp().Graph, ConvNet().Graph, TransformerBlock().Graph, movement.Build(), rows.Build(), embedding.Build(), up.Build(), image.Build() });
        var kernels = compiled.KernelMethods().ToArray();
        Assert.True(kernels.Length >= 25, $"expected the three models to have many kernels, found {kernels.Length}");
        using var backend = new PTXBackend(_gpu.Context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null);
        var failures = new StringBuilder();
        var ops = new HashSet<string>();
        var shuffles = new List<string>();
        foreach (var method in kernels)
        {
            try
            {
                var kernel = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), default);
                string ptx = kernel.PTXAssembly;
                Assert.False(string.IsNullOrEmpty(ptx));
                Assert.Contains(".entry", ptx);
                Assert.DoesNotContain(".local", ptx); // register-blocked accumulators must not spill to local memory arrays
                ops.Add(method.Name.Substring(method.Name.IndexOf('_') + 1));
                if (ptx.Contains("shfl.sync.bfly")) shuffles.Add(method.DeclaringType!.DeclaringType!.Name + "." + method.Name);
                _output.WriteLine($"{method.DeclaringType!.DeclaringType!.Name}.{method.Name}: {ptx.Length} characters of PTX, {Count(ptx, "fma.rn.f32")} fma.rn.f32, {Count(ptx, "bar.sync")} bar.sync");
                if (Environment.GetEnvironmentVariable("AOT_PTX_DUMP") is { Length: > 0 } dump) File.WriteAllText(Path.Combine(dump, method.DeclaringType!.DeclaringType!.Name + "." + method.Name + ".ptx"), ptx);
            }
            catch (Exception e)
            {
                failures.AppendLine($"{method.DeclaringType!.DeclaringType!.Name}.{method.Name}: {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(failures.Length == 0, "kernels that do not compile for CUDA:\n" + failures);
        Assert.Equal(new[] { "M4.K0_LayerNorm", "M4.K1_Softmax" }, shuffles.OrderBy(x => x).ToArray());
        foreach (var op in new[] { "Gemm", "MatMul", "Conv2d", "ConvTranspose2d", "Softmax", "LayerNorm", "ReduceMean", "ReduceMax", "ReduceSum", "MaxPool2d", "AvgPool2d", "GlobalAvgPool", "Transpose", "Concat", "Slice", "Gather", "Fused", "Relu", "Gelu", "Resize" })
        {
            Assert.Contains(op, ops);
        }
    }

    private static int Count(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}

/// <summary>A tiny graph-building helper for the model-shaped tests: Linear layers as Gemm with transB (PyTorch's
/// [out, in] weights), convolutions, LayerNorm, with deterministic random weights.</summary>
internal sealed class Net
{
    private readonly GraphBuilder _g;
    private readonly List<Aot.Dsl.Tensor> _weights = new();
    private int _seed = 1;

    public Net(string name) => _g = new GraphBuilder(name);

    public IReadOnlyList<Aot.Dsl.Tensor> Weights => _weights;

    public int Input(string name, params int[] shape) => _g.AddInput(name, new TensorType(Aot.Generator.IR.DType.Float32, shape));

    public int Input(string name, int length, Aot.Generator.IR.DType dtype) => _g.AddInput(name, new TensorType(dtype, length));

    public int Weight(Aot.Dsl.Tensor value)
    {
        _weights.Add(value);
        return _g.AddWeight("w" + _weights.Count, CaseKit.TypeOf(value));
    }

    public int Op(OpKind op, Attrs attrs, params int[] inputs)
    {
        var r = _g.TryAdd(op, inputs, attrs, out int id);
        if (r.Error is { } e) throw new InvalidOperationException(op + ": " + e.Message);
        return id;
    }

    public int Constant(float value) => Op(OpKind.Constant, Attrs(Attr.OfFloat(AttrNames.Value, value)));

    public int Linear(int x, int inFeatures, int outFeatures, bool relu)
    {
        float scale = 1f / MathF.Sqrt(inFeatures);
        int w = Weight(Rand(_seed++, -scale, scale, outFeatures, inFeatures));
        int b = Weight(Rand(_seed++, -scale, scale, outFeatures));
        int y = Op(OpKind.Gemm, Attrs(Attr.OfFloat(AttrNames.Alpha, 1f), Attr.OfFloat(AttrNames.Beta, 1f), Attr.OfInt(AttrNames.TransA, 0L), Attr.OfInt(AttrNames.TransB, 1L)), x, w, b);
        return relu ? Op(OpKind.Relu, Aot.Generator.IR.Attrs.None, y) : y;
    }

    public int Conv(int x, int cin, int cout, int kernel, int stride, int pad, int groups)
    {
        float scale = 1f / MathF.Sqrt(cin / groups * kernel * kernel);
        int w = Weight(Rand(_seed++, -scale, scale, cout, cin / groups, kernel, kernel));
        int b = Weight(Rand(_seed++, -scale, scale, cout));
        return Op(OpKind.Conv2d, Attrs(Attr.OfInts(AttrNames.Strides, stride, stride), Attr.OfInts(AttrNames.Pads, pad, pad, pad, pad), Attr.OfInts(AttrNames.Dilations, 1, 1), Attr.OfInt(AttrNames.Group, (long)groups)), x, w, b);
    }

    public int LayerNorm(int x, int width)
    {
        int gamma = Weight(Rand(_seed++, 0.5f, 1.5f, width));
        int beta = Weight(Rand(_seed++, -0.5f, 0.5f, width));
        return Op(OpKind.LayerNorm, Attrs(Attr.OfInt(AttrNames.Axis, 1L), Attr.OfFloat(AttrNames.Epsilon, 1e-5f)), x, gamma, beta);
    }

    public void Output(int value) => _g.AddOutput(value);

    public Graph Build() => _g.Build();
}
