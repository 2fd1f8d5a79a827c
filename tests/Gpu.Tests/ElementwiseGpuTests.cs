using Aot.Dsl;
using Aot.Generator.IR;
using static Gpu.Tests.Cases;

namespace Gpu.Tests;

[Collection(GpuCollection.Name)]
public class ElementwiseGpuTests
{
    private readonly GpuFixture _gpu;

    public ElementwiseGpuTests(GpuFixture gpu) => _gpu = gpu;

    /// <summary>Same shape, row and column broadcasts, both sides broadcasting, rank-0 scalars on either side, size 1,
    /// an empty result, rank 4.</summary>
    private static readonly (int[] A, int[] B)[] BinaryShapes =
    {
        (new[] { 17, 33 }, new[] { 17, 33 }),
        (new[] { 3, 17, 33 }, new[] { 33 }),
        (new[] { 3, 1, 33 }, new[] { 17, 1 }),
        (new int[0], new[] { 3, 17 }),
        (new[] { 33, 1 }, new int[0]),
        (new[] { 1 }, new[] { 1 }),
        (new[] { 3, 0, 17 }, new[] { 17 }),
        (new[] { 1, 3, 1, 17 }, new[] { 3, 1, 17, 1 }),
    };

    [Fact]
    public void Binary_ops_match_the_reference_with_broadcasting()
    {
        var ops = new (OpKind Op, Func<Tensor, Tensor, Tensor> Reference, float BLow, float BHigh, float ALow, Tolerance Tolerance)[]
        {
            (OpKind.Add, Ops.Add, -1f, 1f, -1f, Tolerance.Elementwise),
            (OpKind.Sub, Ops.Sub, -1f, 1f, -1f, Tolerance.Elementwise),
            (OpKind.Mul, Ops.Mul, -1f, 1f, -1f, Tolerance.Elementwise),
            (OpKind.Div, Ops.Div, 0.5f, 2f, -1f, Tolerance.Elementwise),
            (OpKind.Max, Ops.Max, -1f, 1f, -1f, Tolerance.Exact),
            (OpKind.Min, Ops.Min, -1f, 1f, -1f, Tolerance.Exact),
            (OpKind.Pow, Ops.Pow, -2f, 2f, 0.5f, Tolerance.Elementwise),
        };
        var cases = new List<GpuCase>();
        int seed = 100;
        foreach (var (op, reference, bLow, bHigh, aLow, tolerance) in ops)
        {
            for (int s = 0; s < BinaryShapes.Length; s++)
            {
                var (aShape, bShape) = BinaryShapes[s];
                var a = Rand(seed++, aLow, 2f, aShape);
                var b = Rand(seed++, bLow, bHigh, bShape);
                cases.Add(Case($"{S(aShape)} (.) {S(bShape)}", op, Aot.Generator.IR.Attrs.None, new[] { a, b }, reference(a, b), tolerance, weightMask: s % 3 == 2 ? 2 : 0));
            }
        }

        Check(_gpu.Accelerator, cases);
    }

    [Fact]
    public void Unary_ops_match_the_reference()
    {
        var shapes = new[] { new int[0], new[] { 3 }, new[] { 17, 33 }, new[] { 0, 3 } };
        var ops = new (OpKind Op, int Mode, Func<Tensor, Tensor> Reference, float Low, float High, Tolerance Tolerance)[]
        {
            (OpKind.Relu, 0, Ops.Relu, -2f, 2f, Tolerance.Exact),
            (OpKind.Neg, 0, Ops.Neg, -2f, 2f, Tolerance.Exact),
            (OpKind.Abs, 0, Ops.Abs, -2f, 2f, Tolerance.Exact),
            (OpKind.Gelu, 0, x => Ops.Gelu(x, GeluMode.Erf), -8f, 8f, Tolerance.Elementwise),
            (OpKind.Gelu, 1, x => Ops.Gelu(x, GeluMode.Tanh), -8f, 8f, Tolerance.Elementwise),
            (OpKind.Sigmoid, 0, Ops.Sigmoid, -12f, 12f, Tolerance.Elementwise),
            (OpKind.Tanh, 0, Ops.Tanh, -6f, 6f, Tolerance.Elementwise),
            (OpKind.Exp, 0, Ops.Exp, -10f, 10f, Tolerance.Elementwise),
            (OpKind.Log, 0, Ops.Log, 0.01f, 10f, Tolerance.Elementwise),
            (OpKind.Sqrt, 0, Ops.Sqrt, 0f, 10f, Tolerance.Elementwise),
            (OpKind.Rsqrt, 0, Ops.Rsqrt, 0.01f, 10f, Tolerance.Elementwise),
            (OpKind.Erf, 0, Ops.Erf, -5f, 5f, Tolerance.Elementwise),
        };
        var cases = new List<GpuCase>();
        int seed = 200;
        foreach (var (op, mode, reference, low, high, tolerance) in ops)
        {
            var attrs = op == OpKind.Gelu ? Attrs(Attr.OfInt(AttrNames.Mode, (long)mode)) : Aot.Generator.IR.Attrs.None;
            foreach (var shape in shapes)
            {
                var x = Rand(seed++, low, high, shape);
                cases.Add(Case($"mode {mode} {S(shape)}", op, attrs, new[] { x }, reference(x), tolerance));
            }
        }

        Check(_gpu.Accelerator, cases);
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
        int X = g.AddInput("x", Cases.TypeOf(x));
        int A = g.AddWeight("a", Cases.TypeOf(a));
        int B = g.AddInput("b", Cases.TypeOf(bb));
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
