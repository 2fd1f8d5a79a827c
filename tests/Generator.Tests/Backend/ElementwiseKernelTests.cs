using Aot.Dsl;
using Aot.Generator.IR;
using static Generator.Tests.Backend.Kernel;

namespace Generator.Tests.Backend;

public class ElementwiseKernelTests
{
    /// <summary>Operand shape pairs: same shape (vector path), row and column broadcasts, both sides broadcasting,
    /// rank-0 scalars on either side, size-1 everything, an empty result, rank 4.</summary>
    private static readonly (int[] A, int[] B)[] BinaryShapes =
    {
        (new[] { 17, 33 }, new[] { 17, 33 }),
        (new[] { 3, 17, 33 }, new[] { 33 }),
        (new[] { 3, 1, 33 }, new[] { 17, 1 }),
        (new int[0], new[] { 3, 17 }),
        (new[] { 33, 1 }, new int[0]),
        (new int[0], new int[0]),
        (new[] { 1 }, new[] { 1 }),
        (new[] { 17 }, new[] { 3, 1 }),
        (new[] { 3, 0, 17 }, new[] { 17 }),
        (new[] { 1, 3, 1, 17 }, new[] { 33, 1, 17, 1 }),
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
        var cases = new List<KernelCase>();
        int seed = 100;
        foreach (var (op, reference, bLow, bHigh, aLow, tolerance) in ops)
        {
            for (int s = 0; s < BinaryShapes.Length; s++)
            {
                var (aShape, bShape) = BinaryShapes[s];
                var a = Rand(seed++, aLow, 2f, aShape);
                var b = Rand(seed++, bLow, bHigh, bShape);
                string name = $"[{string.Join(",", aShape)}] (.) [{string.Join(",", bShape)}]";
                cases.Add(Case(name, op, Aot.Generator.IR.Attrs.None, new[] { a, b }, reference(a, b), tolerance, weightMask: s % 3 == 2 ? 2 : 0));
            }
        }

        Check(cases);
    }

    [Fact]
    public void Unary_ops_match_the_reference()
    {
        var shapes = new[] { new int[0], new[] { 1 }, new[] { 3 }, new[] { 17, 33 }, new[] { 3, 1, 33 }, new[] { 0, 3 } };
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
        var cases = new List<KernelCase>();
        int seed = 200;
        foreach (var (op, mode, reference, low, high, tolerance) in ops)
        {
            var attrs = op == OpKind.Gelu ? Attrs(Attr.OfInt(AttrNames.Mode, (long)mode)) : Aot.Generator.IR.Attrs.None;
            foreach (var shape in shapes)
            {
                var x = Rand(seed++, low, high, shape);
                cases.Add(Case($"mode {mode} [{string.Join(",", shape)}]", op, attrs, new[] { x }, reference(x), tolerance));
            }
        }

        Check(cases);
    }

    [Fact]
    public void Special_values_propagate_like_the_reference()
    {
        // NaN and infinities through the vector paths (17 elements: vector body and scalar tail) of Max, Min, Relu.
        var values = new float[17];
        for (int i = 0; i < values.Length; i++) values[i] = (i % 4) switch { 0 => float.NaN, 1 => float.PositiveInfinity, 2 => float.NegativeInfinity, _ => i - 8 };
        var a = Tensor.FromArray(values, 17);
        var b = Rand(7, 17);
        var c = Tensor.FromArray(values.Reverse().ToArray(), 17);
        Check(new[]
        {
            Case("NaN/inf", OpKind.Max, Aot.Generator.IR.Attrs.None, new[] { a, b }, Ops.Max(a, b), Tolerance.Exact),
            Case("NaN/inf", OpKind.Min, Aot.Generator.IR.Attrs.None, new[] { b, c }, Ops.Min(b, c), Tolerance.Exact),
            Case("NaN/inf", OpKind.Relu, Aot.Generator.IR.Attrs.None, new[] { a }, Ops.Relu(a), Tolerance.Exact),
            Case("NaN/inf", OpKind.Erf, Aot.Generator.IR.Attrs.None, new[] { a }, Ops.Erf(a), Tolerance.Exact),
            Case("NaN/inf", OpKind.Sigmoid, Aot.Generator.IR.Attrs.None, new[] { a }, Ops.Sigmoid(a), Tolerance.Exact),
        });
    }

    [Fact]
    public void Max_Min_and_Relu_order_signed_zeros_bit_for_bit_like_the_reference()
    {
        // The tolerance check cannot see -0 vs +0; compare bits (17 elements: vector body and scalar tail).
        var a = Tensor.FromArray(Enumerable.Range(0, 17).Select(i => i % 2 == 0 ? -0f : 0f).ToArray(), 17);
        var b = Tensor.FromArray(Enumerable.Range(0, 17).Select(i => i % 3 == 0 ? -0f : 0f).ToArray(), 17);
        var cases = new[]
        {
            Case("±0", OpKind.Max, Aot.Generator.IR.Attrs.None, new[] { a, b }, Ops.Max(a, b), Tolerance.Exact),
            Case("±0", OpKind.Min, Aot.Generator.IR.Attrs.None, new[] { a, b }, Ops.Min(a, b), Tolerance.Exact),
            Case("±0", OpKind.Relu, Aot.Generator.IR.Attrs.None, new[] { a }, Ops.Relu(a), Tolerance.Exact),
        };
        using var compiled = CompiledGraphs.Compile(cases.Select(c => c.Graph).ToArray());
        for (int i = 0; i < cases.Length; i++)
        {
            var actual = compiled.Run(i, cases[i].Weights, cases[i].Inputs).Floats.ToArray().Select(BitConverter.SingleToInt32Bits);
            var expected = cases[i].Expected.Floats.ToArray().Select(BitConverter.SingleToInt32Bits);
            Assert.True(expected.SequenceEqual(actual), cases[i].Name + ": signs of zero differ");
        }
    }
}
