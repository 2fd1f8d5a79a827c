using Aot.Dsl;
using static Aot.Dsl.Tests.TestUtil;

namespace Aot.Dsl.Tests;

public class ElementwiseUnaryTests
{
    [Fact]
    public void Relu_ClampsNegatives()
    {
        AssertTensor(Ops.Relu(T(F(-1, 0, 2.5f, -0.001f), 2, 2)), new[] { 2, 2 }, F(0, 0, 2.5f, 0));
    }

    [Fact]
    public void Sigmoid_KnownValues()
    {
        AssertTensor(Ops.Sigmoid(T(F(0, MathF.Log(3), 2, 100, -100), 5)), new[] { 5 }, F(0.5f, 0.75f, 0.8807970779778823f, 1, 3.7200760e-44f), 1e-6f);
    }

    [Fact]
    public void Tanh_KnownValues()
    {
        AssertTensor(Ops.Tanh(T(F(0, 0.5f, -0.5f, 50), 4)), new[] { 4 }, F(0, 0.46211715726000974f, -0.46211715726000974f, 1), 1e-7f);
    }

    [Fact]
    public void ExpLog_KnownValues()
    {
        AssertTensor(Ops.Exp(T(F(0, 1, -1), 3)), new[] { 3 }, F(1, 2.718281828459045f, 0.36787944117144233f), 1e-7f);
        AssertTensor(Ops.Log(T(F(1, 2.718281828459045f, 0, -1), 4)), new[] { 4 }, F(0, 1, float.NegativeInfinity, float.NaN), 1e-7f);
    }

    [Fact]
    public void SqrtRsqrt_KnownValues()
    {
        AssertTensor(Ops.Sqrt(T(F(4, 2, 0), 3)), new[] { 3 }, F(2, 1.4142135623730951f, 0), 1e-7f);
        AssertTensor(Ops.Rsqrt(T(F(4, 0.25f, 0), 3)), new[] { 3 }, F(0.5f, 2, float.PositiveInfinity));
    }

    [Fact]
    public void NegAbs()
    {
        AssertTensor(Ops.Neg(T(F(1, -2, 0), 3)), new[] { 3 }, F(-1, 2, 0));
        AssertTensor(Ops.Abs(T(F(1, -2, -0.5f), 3)), new[] { 3 }, F(1, 2, 0.5f));
    }

    [Fact]
    public void Unary_KeepsRank0AndEmptyShapes()
    {
        AssertTensor(Ops.Exp(Tensor.Scalar(0)), Array.Empty<int>(), F(1));
        var empty = Ops.Relu(Tensor.Zeros(2, 0, 3));
        Assert.Equal(new[] { 2, 0, 3 }, empty.ShapeArray());
    }

    [Fact]
    public void Unary_ReturnsFreshTensor()
    {
        var x = T(F(1, 2), 2);
        var r = Ops.Abs(x);
        Assert.NotSame(x, r);
        r.Floats[0] = 9;
        Assert.Equal(1f, x.Floats[0]);
    }

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(1e-20, 1.1283791670955125e-20)]
    [InlineData(1e-10, 1.1283791670955126e-10)]
    [InlineData(0.1, 0.1124629160182849)]
    [InlineData(0.3, 0.3286267594591274)]
    [InlineData(0.46875, 0.49261347321793797)]
    [InlineData(0.5, 0.5204998778130465)]
    [InlineData(0.75, 0.7111556336535151)]
    [InlineData(1.0, 0.8427007929497149)]
    [InlineData(1.5, 0.9661051464753108)]
    [InlineData(2.0, 0.9953222650189527)]
    [InlineData(3.0, 0.9999779095030014)]
    [InlineData(3.9, 0.9999999652077514)]
    [InlineData(4.0, 0.9999999845827421)]
    [InlineData(4.5, 0.9999999998033839)]
    [InlineData(5.0, 0.9999999999984626)]
    [InlineData(6.0, 1.0)]
    [InlineData(30.0, 1.0)]
    [InlineData(-0.3, -0.3286267594591274)]
    [InlineData(-1.0, -0.8427007929497149)]
    [InlineData(-2.5, -0.999593047982555)]
    [InlineData(-5.0, -0.9999999999984626)]
    public void ErfD_MatchesKnownValues(double x, double expected)
    {
        double actual = Ops.ErfD(x);
        Assert.True(Math.Abs(actual - expected) <= 1e-12 * Math.Max(Math.Abs(expected), 1e-300) || Math.Abs(actual - expected) <= 1e-15,
            $"erf({x}) = {actual:R}, expected {expected:R}");
    }

    [Theory]
    [InlineData(0.1, 0.8875370839817152)]
    [InlineData(0.5, 0.4795001221869535)]
    [InlineData(1.0, 0.15729920705028513)]
    [InlineData(2.0, 0.004677734981047265)]
    [InlineData(3.0, 2.2090496998585438e-05)]
    [InlineData(4.5, 1.9661604415428873e-10)]
    [InlineData(5.0, 1.5374597944280351e-12)]
    [InlineData(6.0, 2.1519736712498916e-17)]
    [InlineData(10.0, 2.088487583762545e-45)]
    [InlineData(-1.0, 1.842700792949715)]
    [InlineData(-5.0, 1.9999999999984626)]
    public void ErfcD_IsAccurateInTheTail(double x, double expected)
    {
        double actual = Ops.ErfcD(x);
        Assert.True(Math.Abs(actual - expected) <= 1e-13 * Math.Abs(expected), $"erfc({x}) = {actual:R}, expected {expected:R}");
    }

    [Fact]
    public void ErfD_IsOddAndSaturates()
    {
        for (double x = 0; x < 8; x += 0.37)
        {
            Assert.Equal(-Ops.ErfD(x), Ops.ErfD(-x));
            Assert.Equal(1.0, Ops.ErfD(x) + Ops.ErfcD(x), 15);
        }

        Assert.Equal(1.0, Ops.ErfD(double.PositiveInfinity));
        Assert.Equal(-1.0, Ops.ErfD(double.NegativeInfinity));
        Assert.True(double.IsNaN(Ops.ErfD(double.NaN)));
    }

    [Fact]
    public void Erf_Op_RoundsTheDoubleResult()
    {
        AssertTensor(Ops.Erf(T(F(0, 0.5f, -1, 3), 4)), new[] { 4 },
            F(0, (float)0.5204998778130465, (float)-0.8427007929497149, (float)0.9999779095030014));
    }

    [Fact]
    public void Gelu_ErfForm_KnownValues()
    {
        var x = T(F(-10, -5, -3, -1, -0.5f, 0, 0.5f, 1, 2, 3), 10);
        var expected = F(-7.619853024160593e-23f, -1.4332578593959731e-06f, -0.004049694094890287f, -0.15865525393145707f,
            -0.15426876936299344f, 0, 0.34573123063700656f, 0.8413447460685429f, 1.9544997361036416f, 2.99595030590511f);
        var r = Ops.Gelu(x);
        Assert.Equal(new[] { 10 }, r.ShapeArray());
        Assert.Equal(r.Floats.ToArray(), Ops.Gelu(x, GeluMode.Erf).Floats.ToArray());
        for (int i = 0; i < expected.Length; i++)
        {
            float actual = r.Floats[i];
            Assert.True(Math.Abs(actual - expected[i]) <= 1e-6f * Math.Abs(expected[i]), $"gelu({x.Floats[i]}) = {actual:R}, expected {expected[i]:R}");
        }
    }

    [Fact]
    public void Gelu_TanhForm_KnownValues()
    {
        var x = T(F(-5, -3, -1, -0.5f, 0, 0.5f, 1, 2, 3), 9);
        var expected = F(-2.2917961972623857e-07f, -0.0036373920817729943f, -0.15880800939172324f, -0.15428599017485606f, 0,
            0.34571400982514394f, 0.8411919906082768f, 1.954597694087775f, 2.996362607918227f);
        var r = Ops.Gelu(x, GeluMode.Tanh);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(r.Floats[i] - expected[i]) <= 2e-6f * Math.Abs(expected[i]), $"gelu_tanh({x.Floats[i]}) = {r.Floats[i]:R}, expected {expected[i]:R}");
        }
    }

    [Fact]
    public void Gelu_FormsDiffer()
    {
        var x = T(F(1), 1);
        Assert.NotEqual(Ops.Gelu(x, GeluMode.Erf).Floats[0], Ops.Gelu(x, GeluMode.Tanh).Floats[0]);
    }

    [Fact]
    public void Gelu_UnknownMode_Throws()
    {
        Throws<ArgumentOutOfRangeException>(() => Ops.Gelu(T(F(1), 1), (GeluMode)7), "Gelu");
    }

    [Fact]
    public void NonFloat_Throws()
    {
        Throws<ArgumentException>(() => Ops.Relu(I(new[] { 1 }, 1)), "Relu", "Int32");
        Throws<ArgumentException>(() => Ops.Erf(I(new[] { 1 }, 1)), "Erf", "Int32");
    }
}
