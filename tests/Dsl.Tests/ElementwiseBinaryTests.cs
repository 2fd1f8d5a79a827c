using Aot.Dsl;
using static Aot.Dsl.Tests.TestUtil;

namespace Aot.Dsl.Tests;

public class ElementwiseBinaryTests
{
    [Fact]
    public void Add_SameShape()
    {
        AssertTensor(Ops.Add(T(F(1, 2, 3), 3), T(F(10, 20, 30), 3)), new[] { 3 }, F(11, 22, 33));
    }

    [Fact]
    public void Add_BroadcastsTrailingVector()
    {
        var r = Ops.Add(T(F(1, 2, 3, 4, 5, 6), 2, 3), T(F(10, 20, 30), 3));
        AssertTensor(r, new[] { 2, 3 }, F(11, 22, 33, 14, 25, 36));
    }

    [Fact]
    public void Add_BroadcastIsSymmetric()
    {
        var r = Ops.Add(T(F(10, 20, 30), 3), T(F(1, 2, 3, 4, 5, 6), 2, 3));
        AssertTensor(r, new[] { 2, 3 }, F(11, 22, 33, 14, 25, 36));
    }

    [Fact]
    public void Mul_BroadcastsColumnAgainstRow()
    {
        var r = Ops.Mul(T(F(1, 2), 2, 1), T(F(10, 20, 30), 1, 3));
        AssertTensor(r, new[] { 2, 3 }, F(10, 20, 30, 20, 40, 60));
    }

    [Fact]
    public void Sub_BroadcastsMiddleAndLeadingAxes()
    {
        // a [3, 1, 2], b [4, 1] -> [3, 4, 2]; out[i, j, k] = a[i, 0, k] - b[j, 0].
        var a = Iota(3, 1, 2);
        var b = T(F(0, 100, 200, 300), 4, 1);
        var r = Ops.Sub(a, b);
        Assert.Equal(new[] { 3, 4, 2 }, r.ShapeArray());
        Assert.Equal(0f, r.Floats[0]);              // [0,0,0]
        Assert.Equal(1f, r.Floats[1]);              // [0,0,1]
        Assert.Equal(-100f, r.Floats[2]);           // [0,1,0]
        Assert.Equal(5f - 300f, r.Floats[^1]);     // [2,3,1]
        Assert.Equal(4f - 200f, r.Floats[(2 * 4 + 2) * 2]); // [2,2,0]
    }

    [Fact]
    public void Scalar_BroadcastsAgainstAnything()
    {
        AssertTensor(Ops.Mul(T(F(1, 2, 3, 4), 2, 2), Tensor.Scalar(3)), new[] { 2, 2 }, F(3, 6, 9, 12));
        AssertTensor(Ops.Sub(Tensor.Scalar(1), T(F(1, 2, 3), 3)), new[] { 3 }, F(0, -1, -2));
        AssertTensor(Ops.Add(Tensor.Scalar(1.5f), Tensor.Scalar(2)), Array.Empty<int>(), F(3.5f));
    }

    [Fact]
    public void Operators_CallTheOps()
    {
        var a = T(F(1, 2), 2);
        var b = T(F(4, 8), 2);
        AssertTensor(a + b, new[] { 2 }, F(5, 10));
        AssertTensor(a - b, new[] { 2 }, F(-3, -6));
        AssertTensor(a * b, new[] { 2 }, F(4, 16));
        AssertTensor(a / b, new[] { 2 }, F(0.25f, 0.25f));
        AssertTensor(-a, new[] { 2 }, F(-1, -2));
        AssertTensor(a * 2f, new[] { 2 }, F(2, 4));
    }

    [Fact]
    public void Div_FollowsIeee()
    {
        AssertTensor(Ops.Div(T(F(6, -3, 1, -1, 0), 5), T(F(2, 4, 0, 0, 0), 5)), new[] { 5 },
            F(3, -0.75f, float.PositiveInfinity, float.NegativeInfinity, float.NaN));
    }

    [Fact]
    public void MaxMin_Elementwise()
    {
        var x = T(F(1, 5, -2), 3);
        AssertTensor(Ops.Max(x, Tensor.Scalar(0)), new[] { 3 }, F(1, 5, 0));
        AssertTensor(Ops.Min(x, Tensor.Scalar(0)), new[] { 3 }, F(0, 0, -2));
        AssertTensor(Ops.Max(T(F(float.NaN, 1), 2), T(F(1, float.NaN), 2)), new[] { 2 }, F(float.NaN, float.NaN));
    }

    [Fact]
    public void Pow_UsesMathFPow()
    {
        AssertTensor(Ops.Pow(T(F(2, 3, 4, -8, 0), 5), T(F(3, 2, 0.5f, 1f / 3, 0), 5)), new[] { 5 }, F(8, 9, 2, float.NaN, 1), 1e-6f);
        AssertTensor(Ops.Pow(T(F(1, 2, 3), 3), Tensor.Scalar(2)), new[] { 3 }, F(1, 4, 9));
    }

    [Fact]
    public void EmptyDimension_Broadcasts()
    {
        var r = Ops.Add(Tensor.Zeros(0, 3), T(F(1, 2, 3), 3));
        Assert.Equal(new[] { 0, 3 }, r.ShapeArray());
        Assert.Equal(0, r.Length);
    }

    [Fact]
    public void Result_IsAFreshTensor()
    {
        var a = T(F(1, 2), 2);
        var r = Ops.Add(a, Tensor.Scalar(0));
        Assert.NotSame(a, r);
        r.Floats[0] = 42;
        Assert.Equal(1f, a.Floats[0]);
    }

    [Fact]
    public void NotBroadcastable_Throws()
    {
        Throws<ArgumentException>(() => Ops.Add(Tensor.Zeros(2, 3), Tensor.Zeros(4)), "Add: shapes [2, 3] and [4] are not broadcastable");
        Throws<ArgumentException>(() => Ops.Sub(Tensor.Zeros(2, 3), Tensor.Zeros(3, 2)), "Sub: shapes [2, 3] and [3, 2] are not broadcastable");
        Throws<ArgumentException>(() => Ops.Pow(Tensor.Zeros(0), Tensor.Zeros(2)), "Pow: shapes [0] and [2] are not broadcastable");
    }

    [Fact]
    public void NonFloat_Throws()
    {
        Throws<ArgumentException>(() => Ops.Mul(I(new[] { 1, 2 }, 2), T(F(1, 2), 2)), "Mul", "Int32");
        Throws<ArgumentException>(() => Ops.Max(T(F(1, 2), 2), I(new[] { 1, 2 }, 2)), "Max", "Int32");
    }

    [Fact]
    public void Comparisons_GiveMasks_WithBroadcasting()
    {
        var x = T(F(1, 2, 3, float.NaN), 4);
        var two = Tensor.Scalar(2);
        AssertTensor(Ops.Equal(x, two), new[] { 4 }, F(0, 1, 0, 0));
        AssertTensor(Ops.Greater(x, two), new[] { 4 }, F(0, 0, 1, 0));
        AssertTensor(Ops.GreaterOrEqual(x, two), new[] { 4 }, F(0, 1, 1, 0));
        AssertTensor(Ops.Less(x, two), new[] { 4 }, F(1, 0, 0, 0));
        AssertTensor(Ops.LessOrEqual(x, two), new[] { 4 }, F(1, 1, 0, 0));
        AssertTensor(Ops.Greater(T(F(1, 3), 2, 1), T(F(0, 2, 4), 3)), new[] { 2, 3 }, F(1, 0, 0, 1, 1, 0));
        AssertTensor(Ops.Equal(Tensor.Scalar(-0f), Tensor.Scalar(0f)), Array.Empty<int>(), F(1));
    }

    [Fact]
    public void Not_IsOneMinusTheMask()
    {
        AssertTensor(Ops.Not(T(F(1, 0, 1), 3)), new[] { 3 }, F(0, 1, 0));
    }

    [Fact]
    public void Where_SelectsOnNonzero_BroadcastingAllThree()
    {
        var condition = T(F(1, 0, -0f, float.NaN, 0.5f), 5, 1);
        var r = Ops.Where(condition, T(F(10, 20), 2), Tensor.Scalar(-1));
        AssertTensor(r, new[] { 5, 2 }, F(10, 20, -1, -1, -1, -1, 10, 20, 10, 20));
        Throws<ArgumentException>(() => Ops.Where(Tensor.Zeros(2), Tensor.Zeros(3), Tensor.Zeros(1)), "Where: shapes [2] and [3] are not broadcastable");
        Throws<ArgumentException>(() => Ops.Where(Tensor.Zeros(1), Tensor.Zeros(3), Tensor.Zeros(2)), "Where: shapes [1] and [3] and [2] are not broadcastable");
        Throws<ArgumentException>(() => Ops.Where(I(new[] { 1 }, 1), Tensor.Zeros(3), Tensor.Zeros(3)), "Where", "condition");
    }
}
