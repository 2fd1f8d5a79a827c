using Aot.Dsl;
using Aot.Generator.IR;
using static Aot.Tests.Shared.CaseKit;
using static Generator.Tests.Backend.Kernel;

namespace Generator.Tests.Backend;

public class ElementwiseKernelTests
{
    [Fact]
    public void Binary_ops_match_the_reference_with_broadcasting()
    {
        Check(SharedCases.BinaryElementwise());
    }

    [Fact]
    public void Unary_ops_match_the_reference()
    {
        Check(SharedCases.UnaryElementwise());
    }

    [Fact]
    public void Comparisons_Not_and_Where_match_the_reference()
    {
        Check(SharedCases.Selection());
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
