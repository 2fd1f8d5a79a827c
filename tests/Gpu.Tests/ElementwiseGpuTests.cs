using Aot.Dsl;
using Aot.Generator.IR;
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
}
