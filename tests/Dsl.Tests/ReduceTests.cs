using Aot.Dsl;
using static Aot.Dsl.Tests.TestUtil;

namespace Aot.Dsl.Tests;

public class ReduceTests
{
    private static Tensor X23 => T(F(1, 2, 3, 4, 5, 6), 2, 3);

    [Fact]
    public void ReduceSum_SingleAxis()
    {
        AssertTensor(Ops.ReduceSum(X23, 0), new[] { 3 }, F(5, 7, 9));
        AssertTensor(Ops.ReduceSum(X23, 1), new[] { 2 }, F(6, 15));
        AssertTensor(Ops.ReduceSum(X23, -1, keepDims: true), new[] { 2, 1 }, F(6, 15));
        AssertTensor(Ops.ReduceSum(X23, -2, keepDims: true), new[] { 1, 3 }, F(5, 7, 9));
    }

    [Fact]
    public void ReduceSum_AllAxes_GivesRank0()
    {
        AssertTensor(Ops.ReduceSum(X23, new[] { 0, 1 }), Array.Empty<int>(), F(21));
        AssertTensor(Ops.ReduceSum(X23, new[] { 1, -2 }, keepDims: true), new[] { 1, 1 }, F(21));
        AssertTensor(Ops.ReduceSum(T(F(1, 2, 3), 3), 0), Array.Empty<int>(), F(6));
    }

    [Fact]
    public void ReduceSum_NonAdjacentAxesOfRank3()
    {
        // x[i, j, k] = 12i + 4j + k; summing i and k gives 32j + 60.
        var x = Iota(2, 3, 4);
        AssertTensor(Ops.ReduceSum(x, new[] { 0, 2 }), new[] { 3 }, F(60, 92, 124));
        AssertTensor(Ops.ReduceSum(x, new[] { 2, 0 }, keepDims: true), new[] { 1, 3, 1 }, F(60, 92, 124));
        // summing j: 3 * (12i + k) + 12.
        AssertTensor(Ops.ReduceSum(x, 1), new[] { 2, 4 }, F(12, 15, 18, 21, 48, 51, 54, 57));
    }

    [Fact]
    public void ReduceSum_AccumulatesInDouble()
    {
        // In float, 1e8 + 1 == 1e8, so a float accumulator would return 0.
        var data = new float[10];
        data[0] = 1e8f;
        for (int i = 1; i < 9; i++) data[i] = 1;
        data[9] = -1e8f;
        AssertTensor(Ops.ReduceSum(T(data, 10), 0), Array.Empty<int>(), F(8));
    }

    [Fact]
    public void ReduceSum_OverEmptyAxisIsZero()
    {
        AssertTensor(Ops.ReduceSum(Tensor.Zeros(2, 0), 1), new[] { 2 }, F(0, 0));
    }

    [Fact]
    public void ReduceMean_KnownValues()
    {
        AssertTensor(Ops.ReduceMean(X23, 1), new[] { 2 }, F(2, 5));
        AssertTensor(Ops.ReduceMean(X23, 0, keepDims: true), new[] { 1, 3 }, F(2.5f, 3.5f, 4.5f));
        AssertTensor(Ops.ReduceMean(X23, new[] { 0, 1 }), Array.Empty<int>(), F(3.5f));
        AssertTensor(Ops.ReduceMean(Iota(2, 3, 4), new[] { 0, 2 }), new[] { 3 }, F(7.5f, 11.5f, 15.5f));
    }

    [Fact]
    public void ReduceMax_KnownValues()
    {
        var x = T(F(-1, 7, -3, -4, -5, 9), 2, 3);
        AssertTensor(Ops.ReduceMax(x, 0), new[] { 3 }, F(-1, 7, 9));
        AssertTensor(Ops.ReduceMax(x, 1, keepDims: true), new[] { 2, 1 }, F(7, 9));
        AssertTensor(Ops.ReduceMax(x, new[] { 0, 1 }), Array.Empty<int>(), F(9));
        AssertTensor(Ops.ReduceMax(T(F(-5, -2), 2), 0), Array.Empty<int>(), F(-2));
    }

    [Fact]
    public void ReduceMax_PropagatesNaN()
    {
        AssertTensor(Ops.ReduceMax(T(F(1, float.NaN, 3, 4, 5, 6), 2, 3), 1), new[] { 2 }, F(float.NaN, 6));
    }

    [Fact]
    public void Reduce_AxisOutOfRange_Throws()
    {
        Throws<ArgumentOutOfRangeException>(() => Ops.ReduceSum(X23, 2), "ReduceSum: axis 2 is out of range for rank 2");
        Throws<ArgumentOutOfRangeException>(() => Ops.ReduceMean(X23, -3), "ReduceMean: axis -3 is out of range for rank 2");
        Throws<ArgumentOutOfRangeException>(() => Ops.ReduceMax(Tensor.Scalar(1), 0), "ReduceMax: axis 0 is out of range for rank 0");
    }

    [Fact]
    public void Reduce_DuplicateAxes_Throw()
    {
        Throws<ArgumentException>(() => Ops.ReduceSum(X23, new[] { 0, -2 }), "ReduceSum: axes [0, -2] repeat an axis");
        Throws<ArgumentException>(() => Ops.ReduceMax(X23, new[] { 1, 1 }), "ReduceMax", "[1, 1]");
    }

    [Fact]
    public void Reduce_NoAxes_Throws()
    {
        Throws<ArgumentException>(() => Ops.ReduceSum(X23, Array.Empty<int>()), "ReduceSum", "no axes");
    }

    [Fact]
    public void ReduceMax_OverEmptyAxis_Throws()
    {
        Throws<ArgumentException>(() => Ops.ReduceMax(Tensor.Zeros(2, 0), 1), "ReduceMax", "[2, 0]");
    }

    [Fact]
    public void Reduce_NonFloat_Throws()
    {
        Throws<ArgumentException>(() => Ops.ReduceSum(I(new[] { 1, 2 }, 2), 0), "ReduceSum", "Int32");
    }
}

public class SoftmaxTests
{
    [Fact]
    public void Softmax_LastAxis_KnownValues()
    {
        AssertTensor(Ops.Softmax(T(F(1, 2, 3), 3)), new[] { 3 }, F(0.09003057317038046f, 0.24472847105479767f, 0.6652409557748219f), 1e-7f);
        AssertTensor(Ops.Softmax(T(F(1, 2, 3, 0, 0, 0), 2, 3)), new[] { 2, 3 },
            F(0.09003057317038046f, 0.24472847105479767f, 0.6652409557748219f, 1f / 3, 1f / 3, 1f / 3), 1e-7f);
    }

    [Fact]
    public void Softmax_Axis0()
    {
        AssertTensor(Ops.Softmax(T(F(1, 1, 1, 3), 2, 2), 0), new[] { 2, 2 }, F(0.5f, 0.11920292202211755f, 0.5f, 0.8807970779778823f), 1e-7f);
    }

    [Fact]
    public void Softmax_IsStableForLargeAndInfiniteInputs()
    {
        AssertTensor(Ops.Softmax(T(F(1000, 1000, -1000), 3)), new[] { 3 }, F(0.5f, 0.5f, 0));
        AssertTensor(Ops.Softmax(T(F(float.NegativeInfinity, 0), 2)), new[] { 2 }, F(0, 1));
    }

    [Fact]
    public void Softmax_MiddleAxisSumsToOne()
    {
        var x = Tensor.Random(3, -5, 5, 2, 7, 3);
        var s = Ops.Softmax(x, 1);
        var sums = Ops.ReduceSum(s, 1);
        AssertTensor(sums, new[] { 2, 3 }, F(1, 1, 1, 1, 1, 1), 1e-6f);
        // Each value is exp(x - max) / sum along the axis; check one against a direct computation.
        double denominator = 0;
        for (int t = 0; t < 7; t++) denominator += Math.Exp(x.Floats[(1 * 7 + t) * 3 + 2]);
        Assert.Equal(Math.Exp(x.Floats[(1 * 7 + 4) * 3 + 2]) / denominator, s.Floats[(1 * 7 + 4) * 3 + 2], 6);
    }

    [Fact]
    public void Softmax_AxisOutOfRange_Throws()
    {
        Throws<ArgumentOutOfRangeException>(() => Ops.Softmax(Tensor.Zeros(2, 2), 3), "Softmax: axis 3 is out of range for rank 2");
        Throws<ArgumentOutOfRangeException>(() => Ops.Softmax(Tensor.Zeros(2, 2), -3), "Softmax: axis -3 is out of range for rank 2");
    }
}

public class LayerNormTests
{
    [Fact]
    public void LayerNorm_LastAxis_KnownValues()
    {
        var x = T(F(1, 2, 3, 2, 4, 6), 2, 3);
        var r = Ops.LayerNorm(x, T(F(1, 1, 1), 3), T(F(0, 0, 0), 3), 0f);
        AssertTensor(r, new[] { 2, 3 }, F(-1.2247449f, 0, 1.2247449f, -1.2247449f, 0, 1.2247449f), 1e-6f);
    }

    [Fact]
    public void LayerNorm_DefaultEpsilon_GammaAndBeta()
    {
        var r1 = Ops.LayerNorm(T(F(1, 2, 3), 3), T(F(1, 1, 1), 3), T(F(0, 0, 0), 3));
        AssertTensor(r1, new[] { 3 }, F(-1.2247356859083902f, 0, 1.2247356859083902f), 1e-6f);
        var r2 = Ops.LayerNorm(T(F(2, 4, 6), 1, 3), T(F(1, 2, 3), 3), T(F(0.5f, 0, -1), 3));
        AssertTensor(r2, new[] { 1, 3 }, F(-0.7247425750014138f, 0, 2.6742277250042417f), 1e-6f);
    }

    [Fact]
    public void LayerNorm_OverTwoTrailingAxes()
    {
        var r = Ops.LayerNorm(T(F(1, 2, 3, 4, 10, 10, 12, 12), 2, 2, 2), T(F(1, 1, 1, 1), 2, 2), Tensor.Zeros(2, 2), 0f);
        AssertTensor(r, new[] { 2, 2, 2 },
            F(-1.3416407864998738f, -0.4472135954999579f, 0.4472135954999579f, 1.3416407864998738f, -1, -1, 1, 1), 1e-6f);

        // A constant row normalizes to beta (the epsilon keeps the division finite).
        AssertTensor(Ops.LayerNorm(T(F(5, 5, 5, 5), 1, 4), T(F(1, 1, 1, 1), 4), T(F(0, 1, 2, 3), 4)), new[] { 1, 4 }, F(0, 1, 2, 3));
    }

    [Fact]
    public void LayerNorm_WrongGamma_Throws()
    {
        Throws<ArgumentException>(() => Ops.LayerNorm(Tensor.Zeros(2, 3), Tensor.Zeros(4), Tensor.Zeros(4)),
            "LayerNorm: gamma has shape [4], expected [3] (the trailing dimensions of the input [2, 3])");
        Throws<ArgumentException>(() => Ops.LayerNorm(Tensor.Zeros(2, 3), Tensor.Zeros(3), Tensor.Zeros(2)),
            "LayerNorm: beta has shape [2], expected [3]");
        Throws<ArgumentException>(() => Ops.LayerNorm(Tensor.Zeros(3), Tensor.Zeros(1, 3), Tensor.Zeros(1, 3)), "LayerNorm", "[1, 3]", "[3]");
        Throws<ArgumentException>(() => Ops.LayerNorm(Tensor.Zeros(3), Tensor.Scalar(1), Tensor.Scalar(0)), "LayerNorm", "gamma");
    }
}
