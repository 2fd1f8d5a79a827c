using Aot.Dsl;
using Aot.Generator.Backends.Gpu;
using Aot.Generator.IR;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using static Aot.Tests.Shared.CaseKit;
using static Gpu.Tests.Cases;

namespace Gpu.Tests;

[Collection(GpuCollection.Name)]
public class ElementwiseGpuTests
{
    private readonly GpuFixture _gpu;

    public ElementwiseGpuTests(GpuFixture gpu) => _gpu = gpu;

    [Fact]
    public void Binary_ops_match_the_reference_with_broadcasting()
    {
        Check(_gpu.Accelerator, SharedCases.BinaryElementwise());
    }

    [Fact]
    public void Unary_ops_match_the_reference()
    {
        Check(_gpu.Accelerator, SharedCases.UnaryElementwise());
    }

    [Fact]
    public void Comparisons_Not_and_Where_match_the_reference()
    {
        Check(_gpu.Accelerator, SharedCases.Selection());
    }

    [Fact]
    public void Special_values_and_signed_zeros_behave_like_the_reference()
    {
        var values = new float[17];
        for (int i = 0; i < values.Length; i++) values[i] = (i % 4) switch { 0 => float.NaN, 1 => float.PositiveInfinity, 2 => float.NegativeInfinity, _ => i - 8 };
        var a = Tensor.FromArray(values, 17);
        var b = Rand(7, 17);
        var c = Tensor.FromArray(values.Reverse().ToArray(), 17);
        var none = Aot.Generator.IR.Attrs.None;
        Check(_gpu.Accelerator, new[]
        {
            Case("NaN/inf", OpKind.Max, none, new[] { a, b }, Ops.Max(a, b), Tolerance.Exact),
            Case("NaN/inf", OpKind.Min, none, new[] { b, c }, Ops.Min(b, c), Tolerance.Exact),
            Case("NaN/inf", OpKind.Relu, none, new[] { a }, Ops.Relu(a), Tolerance.Exact),
            Case("NaN/inf", OpKind.Erf, none, new[] { a }, Ops.Erf(a), Tolerance.Exact),
            Case("NaN/inf", OpKind.Sigmoid, none, new[] { a }, Ops.Sigmoid(a), Tolerance.Exact),
            Case("NaN/inf", OpKind.Tanh, none, new[] { a }, Ops.Tanh(a), Tolerance.Exact),
            Case("NaN/inf", OpKind.Exp, none, new[] { a }, Ops.Exp(a), Tolerance.Exact),
        });

        // The tolerance check cannot see -0 vs +0: compare bits.
        var z1 = Tensor.FromArray(Enumerable.Range(0, 17).Select(i => i % 2 == 0 ? -0f : 0f).ToArray(), 17);
        var z2 = Tensor.FromArray(Enumerable.Range(0, 17).Select(i => i % 3 == 0 ? -0f : 0f).ToArray(), 17);
        var cases = new[]
        {
            Case("±0", OpKind.Max, none, new[] { z1, z2 }, Ops.Max(z1, z2), Tolerance.Exact),
            Case("±0", OpKind.Min, none, new[] { z1, z2 }, Ops.Min(z1, z2), Tolerance.Exact),
            Case("±0", OpKind.Relu, none, new[] { z1 }, Ops.Relu(z1), Tolerance.Exact),
        };
        var compiled = GpuCompiledGraphs.Compile(cases.Select(x => x.Graph).ToArray());
        for (int i = 0; i < cases.Length; i++)
        {
            var actual = compiled.Run(i, cases[i].Weights, cases[i].Inputs, _gpu.Accelerator).Floats.ToArray().Select(BitConverter.SingleToInt32Bits);
            var expected = cases[i].Expected.Floats.ToArray().Select(BitConverter.SingleToInt32Bits);
            Assert.True(expected.SequenceEqual(actual), cases[i].Name + ": signs of zero differ");
        }
    }

    /// <summary>
    /// A DAG of elementwise ops that FuseElementwise turns into one Fused node (a value used twice, scalar constants,
    /// broadcast operands, transcendental functions): one kernel computing the body per element in registers.
    /// </summary>
    [Fact]
    public void A_fused_chain_matches_the_reference_in_one_kernel()
    {
        var x = Rand(1, -2f, 2f, 3, 17, 33);
        var a = Rand(2, 33);
        var bb = Rand(3, 17, 1);
        var g = new GraphBuilder("Chain");
        int X = g.AddInput("x", CaseKit.TypeOf(x));
        int A = g.AddWeight("a", CaseKit.TypeOf(a));
        int B = g.AddInput("b", CaseKit.TypeOf(bb));
        int N(OpKind op, Attrs attrs, params int[] inputs)
        {
            var r = g.TryAdd(op, inputs, attrs, out int id);
            if (r.Error is { } e) throw new InvalidOperationException(e.Message);
            return id;
        }

        var none = Aot.Generator.IR.Attrs.None;
        int C(float v) => N(OpKind.Constant, Attrs(Attr.OfFloat(AttrNames.Value, v)));
        int t = N(OpKind.Add, none, N(OpKind.Mul, none, X, A), B);                 // x*a + b (broadcasts)
        int r1 = N(OpKind.Relu, none, t);
        int s = N(OpKind.Sigmoid, none, X);
        int u = N(OpKind.Mul, none, r1, s);                                          // relu(x*a+b) * sigmoid(x)
        int v = N(OpKind.Gelu, Attrs(Attr.OfInt(AttrNames.Mode, 0L)), t);            // t used twice
        int w = N(OpKind.Div, none, N(OpKind.Tanh, none, v), N(OpKind.Add, none, N(OpKind.Exp, none, N(OpKind.Neg, none, N(OpKind.Abs, none, u))), C(1f)));
        int o = N(OpKind.Sub, none, N(OpKind.Max, none, w, N(OpKind.Erf, none, u)), N(OpKind.Pow, none, N(OpKind.Add, none, N(OpKind.Abs, none, t), C(0.5f)), C(1.5f)));
        g.AddOutput(o);
        var graph = g.Build();

        var et = Ops.Add(Ops.Mul(x, a), bb);
        var eu = Ops.Mul(Ops.Relu(et), Ops.Sigmoid(x));
        var ev = Ops.Gelu(et, GeluMode.Erf);
        var ew = Ops.Div(Ops.Tanh(ev), Ops.Add(Ops.Exp(Ops.Neg(Ops.Abs(eu))), 1f));
        var expected = Ops.Sub(Ops.Max(ew, Ops.Erf(eu)), Ops.Pow(Ops.Add(Ops.Abs(et), 0.5f), 1.5f));

        var compiled = GpuCompiledGraphs.Compile(new[] { graph });
        Assert.Contains("Fused", compiled.Sources[0]);
        Assert.Single(compiled.KernelMethods());
        var actual = compiled.Run(0, new[] { a }, new[] { x, bb }, _gpu.Accelerator);
        Assert.Null(Compare(expected, actual, Tolerance.Elementwise));
    }

    /// <summary>The chain of the GPU benchmark, y = relu(x*a+b)*sigmoid(x)+c, on a shape whose rows are a multiple of 4,
    /// plus a per-row operand: the vectorized kernel reads x (same shape) and a, b, c (row vectors) 128 bits at a time
    /// and the per-row operand once per 4 elements.</summary>
    private static (Graph Graph, Tensor[] Weights, Tensor[] Inputs, Tensor Expected) VectorChain(int rows, int cols)
    {
        var x = Rand(11, -3f, 3f, rows, cols);
        var a = Rand(12, cols);
        var b = Rand(13, cols);
        var c = Rand(14, cols);
        var s = Rand(15, rows, 1);
        var g = new GraphBuilder("VectorChain");
        int X = g.AddInput("x", CaseKit.TypeOf(x));
        int S = g.AddInput("s", CaseKit.TypeOf(s));
        int A = g.AddWeight("a", CaseKit.TypeOf(a));
        int B = g.AddWeight("b", CaseKit.TypeOf(b));
        int Cw = g.AddWeight("c", CaseKit.TypeOf(c));
        int N(OpKind op, params int[] inputs)
        {
            var r = g.TryAdd(op, inputs, Aot.Generator.IR.Attrs.None, out int id);
            if (r.Error is { } e) throw new InvalidOperationException(e.Message);
            return id;
        }

        int y = N(OpKind.Add, N(OpKind.Mul, N(OpKind.Mul, N(OpKind.Relu, N(OpKind.Add, N(OpKind.Mul, X, A), B)), N(OpKind.Sigmoid, X)), S), Cw);
        g.AddOutput(y);
        var expected = Ops.Add(Ops.Mul(Ops.Mul(Ops.Relu(Ops.Add(Ops.Mul(x, a), b)), Ops.Sigmoid(x)), s), c);
        return (g.Build(), new[] { a, b, c }, new[] { x, s }, expected);
    }

    [Fact]
    public void A_chain_with_rows_of_a_multiple_of_4_is_vectorized_and_matches_the_reference()
    {
        // 7 x 36: 63 vectors, more than one grid-stride step for the unrolled loop's tail on the CPU device.
        var (graph, weights, inputs, expected) = VectorChain(7, 36);
        var compiled = GpuCompiledGraphs.Compile(new[] { graph });
        Assert.Contains("vectorized: 4 elements per 128-bit access", compiled.Sources[0]);
        Assert.Contains("IsAligned(input0, 16) && global::Aot.Runtime.Gpu.GpuRuntime.IsAligned(output, 16)", compiled.Sources[0]);
        Assert.Null(Compare(expected, compiled.Run(0, weights, inputs, _gpu.Accelerator), Tolerance.Elementwise));

        // Rows of 34 are not a multiple of 4: the scalar kernel only.
        var odd = VectorChain(3, 34);
        var scalar = GpuCompiledGraphs.Compile(new[] { odd.Graph });
        Assert.DoesNotContain("vectorized", scalar.Sources[0]);
        Assert.Null(Compare(odd.Expected, scalar.Run(0, odd.Weights, odd.Inputs, _gpu.Accelerator), Tolerance.Elementwise));
    }

    /// <summary>Device views of the caller that do not start on a 16-byte boundary take the scalar variant (same results);
    /// aligned ones the vectorized kernel.</summary>
    [Fact]
    public void Unaligned_device_views_take_the_scalar_variant()
    {
        var (graph, weights, inputs, expected) = VectorChain(5, 16);
        var compiled = GpuCompiledGraphs.Compile(new[] { graph });
        var acc = _gpu.Accelerator;
        using var model = compiled.Instantiate(0, weights, acc);
        var run = model.GetType().GetMethod("Run", new[] { typeof(ArrayView<float>), typeof(ArrayView<float>), typeof(ArrayView<float>) })!;
        var sync = model.GetType().GetMethod("Synchronize")!;
        int n = 5 * 16;
        using var xb = acc.Allocate1D<float>(n + 1);
        using var sb = acc.Allocate1D<float>(5);
        using var yb = acc.Allocate1D<float>(n + 1);
        foreach (int shift in new[] { 0, 1 })
        {
            ArrayView<float> x = xb.View.SubView(shift, n);
            ArrayView<float> y = yb.View.SubView(1 - shift, n);
            x.CopyFromCPU(inputs[0].Floats.ToArray());
            sb.View.CopyFromCPU(inputs[1].Floats.ToArray());
            Assert.Equal(shift == 0, Aot.Runtime.Gpu.GpuRuntime.IsAligned(x, 16));
            GpuCompiledGraphs.Unwrap(() => run.Invoke(model, new object[] { x, (ArrayView<float>)sb.View, y }));
            sync.Invoke(model, null);
            var host = new float[n];
            y.CopyToCPU(host);
            var actual = Tensor.FromArray(host, 5, 16);
            Assert.Null(Compare(expected, actual, Tolerance.Elementwise));
        }

        Assert.NotNull(model.GetType().GetField("_k0Scalar", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(model));
    }

    /// <summary>ILGPU's PTX backend turns the vector accesses into 128-bit loads and stores.</summary>
    [Fact]
    public void The_vectorized_kernel_compiles_to_128_bit_loads_and_stores()
    {
        var compiled = GpuCompiledGraphs.Compile(new[] { VectorChain(64, 256).Graph });
        using var backend = new PTXBackend(_gpu.Context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null);
        var kernel = compiled.KernelMethods().Single(m => !m.Name.EndsWith("_Scalar"));
        string ptx = ((PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(kernel), default)).PTXAssembly;
        if (Environment.GetEnvironmentVariable("AOT_PTX_DUMP") is { Length: > 0 } dump) File.WriteAllText(Path.Combine(dump, "VectorChain.ptx"), ptx);
        Assert.Contains("ld.v4.f32", ptx); // ILGPU emits generic-address loads and stores (ld, not ld.global)
        Assert.Contains("st.v4.f32", ptx);
        Assert.DoesNotContain("st.f32", ptx);
    }
}
