using Aot.Dsl;
using static Aot.Dsl.Tests.TestUtil;

namespace Aot.Dsl.Tests;

public class MatMulTests
{
    private static Tensor A23 => T(F(1, 2, 3, 4, 5, 6), 2, 3);
    private static Tensor B32 => T(F(7, 8, 9, 10, 11, 12), 3, 2);

    [Fact]
    public void MatMul_2D()
    {
        AssertTensor(Ops.MatMul(A23, B32), new[] { 2, 2 }, F(58, 64, 139, 154));
    }

    [Fact]
    public void MatMul_OddSizes()
    {
        // [1, 3] @ [3, 1] and [3, 1] @ [1, 3].
        AssertTensor(Ops.MatMul(T(F(1, 2, 3), 1, 3), T(F(4, 5, 6), 3, 1)), new[] { 1, 1 }, F(32));
        AssertTensor(Ops.MatMul(T(F(1, 2, 3), 3, 1), T(F(4, 5, 6), 1, 3)), new[] { 3, 3 }, F(4, 5, 6, 8, 10, 12, 12, 15, 18));
    }

    [Fact]
    public void MatMul_VectorVector_GivesRank0()
    {
        AssertTensor(Ops.MatMul(T(F(1, 2, 3), 3), T(F(4, 5, 6), 3)), Array.Empty<int>(), F(32));
    }

    [Fact]
    public void MatMul_VectorMatrix_DropsPromotedAxis()
    {
        AssertTensor(Ops.MatMul(T(F(1, 2), 2), A23), new[] { 3 }, F(9, 12, 15));
        AssertTensor(Ops.MatMul(A23, T(F(1, 0, -1), 3)), new[] { 2 }, F(-2, -2));
    }

    [Fact]
    public void MatMul_BatchTimesMatrix()
    {
        var a = T(F(1, 0, 0, 1, 2, 0, 0, 2), 2, 2, 2);
        var b = T(F(1, 2, 3, 4), 2, 2);
        AssertTensor(Ops.MatMul(a, b), new[] { 2, 2, 2 }, F(1, 2, 3, 4, 2, 4, 6, 8));
        AssertTensor(Ops.MatMul(b, a), new[] { 2, 2, 2 }, F(1, 2, 3, 4, 2, 4, 6, 8));
    }

    [Fact]
    public void MatMul_BatchDimensionsBroadcast()
    {
        // a[i] = [[i + 1, 1]] (shape [2, 1, 1, 2]); b[j] = [[j], [1]] (shape [3, 2, 1]); out[i, j] = (i + 1) j + 1.
        var a = T(F(1, 1, 2, 1), 2, 1, 1, 2);
        var b = T(F(0, 1, 1, 1, 2, 1), 3, 2, 1);
        AssertTensor(Ops.MatMul(a, b), new[] { 2, 3, 1, 1 }, F(1, 2, 3, 1, 3, 5));
    }

    [Fact]
    public void MatMul_VectorTimesBatch()
    {
        var b = Iota(2, 2, 3);
        AssertTensor(Ops.MatMul(T(F(1, 1), 2), b), new[] { 2, 3 }, F(3, 5, 7, 15, 17, 19));
        AssertTensor(Ops.MatMul(b, T(F(1, 0, 2), 3)), new[] { 2, 2 }, F(4, 13, 22, 31));
    }

    [Fact]
    public void MatMul_EmptyInnerDimension_GivesZeros()
    {
        AssertTensor(Ops.MatMul(Tensor.Zeros(2, 0), Tensor.Zeros(0, 3)), new[] { 2, 3 }, new float[6]);
    }

    [Fact]
    public void MatMul_AccumulatesInDouble()
    {
        AssertTensor(Ops.MatMul(T(F(1e8f, 1, 1, -1e8f), 4), T(F(1, 1, 1, 1), 4)), Array.Empty<int>(), F(2));
    }

    [Fact]
    public void MatMul_Errors()
    {
        Throws<ArgumentException>(() => Ops.MatMul(Tensor.Zeros(2, 3), Tensor.Zeros(4, 5)), "MatMul: inner dimensions differ: [2, 3] @ [4, 5] (3 != 4)");
        Throws<ArgumentException>(() => Ops.MatMul(Tensor.Zeros(3), Tensor.Zeros(4)), "MatMul: inner dimensions differ: [3] @ [4] (3 != 4)");
        Throws<ArgumentException>(() => Ops.MatMul(Tensor.Scalar(1), Tensor.Zeros(3)), "MatMul: operands must have rank >= 1, got [] @ [3]");
        Throws<ArgumentException>(() => Ops.MatMul(Tensor.Zeros(2, 1, 2), Tensor.Zeros(3, 2, 2)),
            "MatMul: batch dimensions of [2, 1, 2] and [3, 2, 2] are not broadcastable");
        Throws<ArgumentException>(() => Ops.MatMul(I(new[] { 1 }, 1), Tensor.Zeros(1)), "MatMul", "Int32");
    }
}

public class LinearTests
{
    private static Tensor X => T(F(1, 2, 3, 4, 5, 6), 2, 3);
    private static Tensor W => T(F(1, 0, -1, 0.5f, 0.5f, 0.5f), 2, 3);

    [Fact]
    public void Linear_WithBias()
    {
        AssertTensor(Ops.Linear(X, W, T(F(10, 20), 2)), new[] { 2, 2 }, F(8, 23, 8, 27.5f));
    }

    [Fact]
    public void Linear_WithoutBias_Rank1AndRank3()
    {
        AssertTensor(Ops.Linear(T(F(1, 2, 3), 3), W), new[] { 2 }, F(-2, 3));
        AssertTensor(Ops.Linear(T(F(1, 2, 3, 4, 5, 6), 2, 1, 3), W), new[] { 2, 1, 2 }, F(-2, 3, -2, 7.5f));
    }

    [Fact]
    public void Linear_Errors()
    {
        Throws<ArgumentException>(() => Ops.Linear(Tensor.Zeros(2, 4), W), "Linear: input features differ: input [2, 4], weight [2, 3] (4 != 3)");
        Throws<ArgumentException>(() => Ops.Linear(X, W, Tensor.Zeros(3)), "Linear: bias has shape [3], expected [2]");
        Throws<ArgumentException>(() => Ops.Linear(X, Tensor.Zeros(3)), "Linear: weight must be [out, in], got [3]");
        Throws<ArgumentException>(() => Ops.Linear(Tensor.Scalar(1), W), "Linear", "rank");
    }
}

public class GemmTests
{
    private static Tensor A23 => T(F(1, 2, 3, 4, 5, 6), 2, 3);
    private static Tensor B32 => T(F(7, 8, 9, 10, 11, 12), 3, 2);

    [Fact]
    public void Gemm_NoBias_IsMatMul()
    {
        AssertTensor(Ops.Gemm(A23, B32), new[] { 2, 2 }, F(58, 64, 139, 154));
    }

    [Fact]
    public void Gemm_AlphaBetaAndRowBias()
    {
        AssertTensor(Ops.Gemm(A23, B32, T(F(1, 2), 2), alpha: 2, beta: 0.5f), new[] { 2, 2 }, F(116.5f, 129, 278.5f, 309));
    }

    [Fact]
    public void Gemm_BiasShapes()
    {
        AssertTensor(Ops.Gemm(A23, B32, Tensor.Scalar(1)), new[] { 2, 2 }, F(59, 65, 140, 155));
        AssertTensor(Ops.Gemm(A23, B32, T(F(1, 2), 2, 1)), new[] { 2, 2 }, F(59, 65, 141, 156));
        AssertTensor(Ops.Gemm(A23, B32, T(F(1, 2, 3, 4), 2, 2)), new[] { 2, 2 }, F(59, 66, 142, 158));
        AssertTensor(Ops.Gemm(A23, B32, T(F(1, 2), 1, 2)), new[] { 2, 2 }, F(59, 66, 140, 156));
    }

    [Fact]
    public void Gemm_Transposes()
    {
        var aT = T(F(1, 4, 2, 5, 3, 6), 3, 2);   // A23 transposed
        var bT = T(F(7, 9, 11, 8, 10, 12), 2, 3); // B32 transposed
        AssertTensor(Ops.Gemm(aT, B32, transA: true), new[] { 2, 2 }, F(58, 64, 139, 154));
        AssertTensor(Ops.Gemm(A23, bT, transB: true), new[] { 2, 2 }, F(58, 64, 139, 154));
        AssertTensor(Ops.Gemm(aT, bT, transA: true, transB: true), new[] { 2, 2 }, F(58, 64, 139, 154));
        // Non-square result with transA: op(a) is [3, 2].
        AssertTensor(Ops.Gemm(A23, T(F(1, 0, 0, 1), 2, 2), transA: true), new[] { 3, 2 }, F(1, 4, 2, 5, 3, 6));
    }

    [Fact]
    public void Gemm_Errors()
    {
        Throws<ArgumentException>(() => Ops.Gemm(Tensor.Zeros(1, 2, 3), B32), "Gemm: A must be 2-D, got [1, 2, 3]");
        Throws<ArgumentException>(() => Ops.Gemm(A23, Tensor.Zeros(3)), "Gemm: B must be 2-D, got [3]");
        Throws<ArgumentException>(() => Ops.Gemm(Tensor.Zeros(3, 2), Tensor.Zeros(4, 5), transA: true), "Gemm: inner dimensions differ: [3, 2]^T @ [4, 5] (3 != 4)");
        Throws<ArgumentException>(() => Ops.Gemm(A23, B32, Tensor.Zeros(3)), "Gemm: bias of shape [3] does not broadcast to the output [2, 2]");
        Throws<ArgumentException>(() => Ops.Gemm(A23, B32, Tensor.Zeros(1, 2, 2)), "Gemm: bias of shape [1, 2, 2] does not broadcast");
    }
}
