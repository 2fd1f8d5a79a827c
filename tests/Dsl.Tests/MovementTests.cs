using Aot.Dsl;
using static Aot.Dsl.Tests.TestUtil;

namespace Aot.Dsl.Tests;

public class ReshapeTests
{
    [Fact]
    public void Reshape_KeepsRowMajorOrder()
    {
        AssertTensor(Ops.Reshape(Iota(2, 3), 3, 2), new[] { 3, 2 }, F(0, 1, 2, 3, 4, 5));
        AssertTensor(Ops.Reshape(Iota(2, 3), 6), new[] { 6 }, F(0, 1, 2, 3, 4, 5));
    }

    [Fact]
    public void Reshape_InfersMinusOne()
    {
        Assert.Equal(new[] { 2, 3, 2 }, Ops.Reshape(Iota(3, 4), 2, -1, 2).ShapeArray());
        Assert.Equal(new[] { 12 }, Ops.Reshape(Iota(3, 4), -1).ShapeArray());
        Assert.Equal(new[] { 5, 0 }, Ops.Reshape(Tensor.Zeros(0, 10), 5, 0).ShapeArray());
    }

    [Fact]
    public void Reshape_Rank0AndInt32()
    {
        AssertTensor(Ops.Reshape(Tensor.Scalar(7), 1, 1), new[] { 1, 1 }, F(7));
        AssertTensor(Ops.Reshape(T(F(7), 1)), Array.Empty<int>(), F(7));
        AssertInts(Ops.Reshape(I(new[] { 1, 2, 3, 4 }, 4), 2, 2), new[] { 2, 2 }, new[] { 1, 2, 3, 4 });
    }

    [Fact]
    public void Reshape_ReturnsACopy()
    {
        var x = Iota(2, 2);
        var r = Ops.Reshape(x, 4);
        r.Floats[0] = 100;
        Assert.Equal(0f, x.Floats[0]);
    }

    [Fact]
    public void Reshape_Errors()
    {
        Throws<ArgumentException>(() => Ops.Reshape(Tensor.Zeros(2, 3), 4, 2), "Reshape: cannot reshape [2, 3] (6 elements) to [4, 2] (8 elements)");
        Throws<ArgumentException>(() => Ops.Reshape(Tensor.Zeros(2, 3), 4, -1), "Reshape: cannot reshape [2, 3] (6 elements) to [4, -1]");
        Throws<ArgumentException>(() => Ops.Reshape(Tensor.Zeros(2, 3), -1, -1), "Reshape: only one dimension can be -1, got [-1, -1]");
        Throws<ArgumentException>(() => Ops.Reshape(Tensor.Zeros(2, 3), -2, -3), "Reshape: dimension -2 in [-2, -3] is negative");
        Throws<ArgumentException>(() => Ops.Reshape(Tensor.Zeros(0, 3), 0, -1), "Reshape", "[0, -1]");
    }
}

public class TransposeTests
{
    [Fact]
    public void Transpose_2D()
    {
        AssertTensor(Ops.Transpose(T(F(1, 2, 3, 4, 5, 6), 2, 3), 1, 0), new[] { 3, 2 }, F(1, 4, 2, 5, 3, 6));
    }

    [Fact]
    public void Transpose_EmptyPermReversesAxes()
    {
        var x = Iota(2, 3, 4);
        var r = Ops.Transpose(x);
        Assert.Equal(new[] { 4, 3, 2 }, r.ShapeArray());
        for (int i = 0; i < 2; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                for (int k = 0; k < 4; k++) Assert.Equal(x.Floats[(i * 3 + j) * 4 + k], r.Floats[(k * 3 + j) * 2 + i]);
            }
        }

        AssertTensor(Ops.Transpose(T(F(1, 2, 3), 3)), new[] { 3 }, F(1, 2, 3));
        AssertTensor(Ops.Transpose(Tensor.Scalar(5)), Array.Empty<int>(), F(5));
    }

    [Fact]
    public void Transpose_GeneralPermutation()
    {
        // x[i, j, k] = 12i + 4j + k; perm [1, 2, 0] gives out[j, k, i].
        var r = Ops.Transpose(Iota(2, 3, 4), 1, 2, 0);
        Assert.Equal(new[] { 3, 4, 2 }, r.ShapeArray());
        Assert.Equal(12f + 4 * 2 + 3, r.Floats[(2 * 4 + 3) * 2 + 1]);
        Assert.Equal(4f * 1 + 2, r.Floats[(1 * 4 + 2) * 2 + 0]);
    }

    [Fact]
    public void Transpose_Int32()
    {
        AssertInts(Ops.Transpose(I(new[] { 1, 2, 3, 4, 5, 6 }, 3, 2), 1, 0), new[] { 2, 3 }, new[] { 1, 3, 5, 2, 4, 6 });
    }

    [Fact]
    public void Transpose_Errors()
    {
        Throws<ArgumentException>(() => Ops.Transpose(Tensor.Zeros(2, 3), 0, 0), "Transpose: [0, 0] is not a permutation of the 2 axes of [2, 3]");
        Throws<ArgumentException>(() => Ops.Transpose(Tensor.Zeros(2, 3), 0), "Transpose: [0] is not a permutation of the 2 axes of [2, 3]");
        Throws<ArgumentException>(() => Ops.Transpose(Tensor.Zeros(2, 3), 0, 2), "Transpose: [0, 2] is not a permutation");
    }
}

public class ConcatTests
{
    [Fact]
    public void Concat_Axis0()
    {
        AssertTensor(Ops.Concat(new[] { T(F(1, 2), 1, 2), T(F(3, 4, 5, 6), 2, 2) }, 0), new[] { 3, 2 }, F(1, 2, 3, 4, 5, 6));
    }

    [Fact]
    public void Concat_InnerAxis()
    {
        AssertTensor(Ops.Concat(new[] { T(F(1, 2), 2, 1), T(F(3, 4, 5, 6), 2, 2) }, 1), new[] { 2, 3 }, F(1, 3, 4, 2, 5, 6));
        AssertTensor(Ops.Concat(new[] { T(F(1, 2), 2, 1), T(F(3, 4, 5, 6), 2, 2), T(F(7, 8), 2, 1) }, -1), new[] { 2, 4 }, F(1, 3, 4, 7, 2, 5, 6, 8));
    }

    [Fact]
    public void Concat_SingleEmptyAndInt32()
    {
        AssertTensor(Ops.Concat(new[] { T(F(1, 2), 2) }, 0), new[] { 2 }, F(1, 2));
        AssertTensor(Ops.Concat(new[] { Tensor.Zeros(0, 2), T(F(1, 2), 1, 2) }, 0), new[] { 1, 2 }, F(1, 2));
        AssertInts(Ops.Concat(new[] { I(new[] { 1 }, 1), I(new[] { 2, 3 }, 2) }, 0), new[] { 3 }, new[] { 1, 2, 3 });
    }

    [Fact]
    public void Concat_Errors()
    {
        Throws<ArgumentException>(() => Ops.Concat(new[] { Tensor.Zeros(2, 3), Tensor.Zeros(3, 3) }, 1),
            "Concat: input 1 has shape [3, 3], which differs from input 0 [2, 3] outside axis 1");
        Throws<ArgumentException>(() => Ops.Concat(new[] { Tensor.Zeros(2, 3), Tensor.Zeros(6) }, 0), "Concat: input 1 has shape [6]");
        Throws<ArgumentException>(() => Ops.Concat(new[] { Tensor.Zeros(2), I(new[] { 1 }, 1) }, 0), "Concat: input 1 has dtype Int32, input 0 has Float32");
        Throws<ArgumentException>(() => Ops.Concat(Array.Empty<Tensor>(), 0), "Concat: needs at least one input");
        Throws<ArgumentOutOfRangeException>(() => Ops.Concat(new[] { Tensor.Zeros(2) }, 1), "Concat: axis 1 is out of range for rank 1");
    }
}

public class SliceTests
{
    private static Tensor Ten => Iota(10);

    [Theory]
    [InlineData(1, 7, 2, new float[] { 1, 3, 5 })]
    [InlineData(-3, 10, 1, new float[] { 7, 8, 9 })]
    [InlineData(-100, 3, 1, new float[] { 0, 1, 2 })]
    [InlineData(0, 100, 3, new float[] { 0, 3, 6, 9 })]
    [InlineData(2, -2, 1, new float[] { 2, 3, 4, 5, 6, 7 })]
    [InlineData(5, 2, 1, new float[0])]
    [InlineData(10, 20, 1, new float[0])]
    [InlineData(2, int.MaxValue, int.MaxValue, new float[] { 2 })]
    [InlineData(0, 10, 4, new float[] { 0, 4, 8 })]
    public void Slice_PythonSemantics(int start, int end, int step, float[] expected)
    {
        AssertTensor(Ops.Slice(Ten, 0, start, end, step), new[] { expected.Length }, expected);
    }

    [Fact]
    public void Slice_InnerAxis()
    {
        var x = Iota(2, 5);
        AssertTensor(Ops.Slice(x, 1, 1, 4), new[] { 2, 3 }, F(1, 2, 3, 6, 7, 8));
        AssertTensor(Ops.Slice(x, -1, 0, 5, 2), new[] { 2, 3 }, F(0, 2, 4, 5, 7, 9));
        AssertTensor(Ops.Slice(x, 0, 1, 2), new[] { 1, 5 }, F(5, 6, 7, 8, 9));
        Assert.Equal(new[] { 2, 0 }, Ops.Slice(x, 1, 3, 3).ShapeArray());
    }

    [Fact]
    public void Slice_Int32()
    {
        AssertInts(Ops.Slice(I(new[] { 5, 6, 7, 8 }, 4), 0, 1, 3), new[] { 2 }, new[] { 6, 7 });
    }

    [Fact]
    public void Slice_Errors()
    {
        Throws<ArgumentException>(() => Ops.Slice(Ten, 0, 0, 5, 0), "Slice", "step", "0");
        Throws<ArgumentException>(() => Ops.Slice(Ten, 0, 5, 0, -1), "Slice", "step", "-1");
        Throws<ArgumentOutOfRangeException>(() => Ops.Slice(Ten, 1, 0, 5), "Slice: axis 1 is out of range for rank 1");
    }
}

public class SelectTests
{
    [Fact]
    public void Select_DropsFirstAxis()
    {
        var x = Iota(3, 2);
        AssertTensor(Ops.Select(x, 1), new[] { 2 }, F(2, 3));
        AssertTensor(Ops.Select(x, -1), new[] { 2 }, F(4, 5));
        AssertTensor(x[0], new[] { 2 }, F(0, 1));
        AssertTensor(Ops.Select(T(F(4, 5, 6), 3), 2), Array.Empty<int>(), F(6));
        AssertTensor(Ops.Select(Iota(2, 2, 2), 1), new[] { 2, 2 }, F(4, 5, 6, 7));
        AssertInts(Ops.Select(I(new[] { 1, 2, 3, 4 }, 2, 2), 1), new[] { 2 }, new[] { 3, 4 });
    }

    [Fact]
    public void Select_Errors()
    {
        Throws<ArgumentOutOfRangeException>(() => Ops.Select(Iota(3, 2), 3), "Select: index 3 is out of range for dimension 3");
        Throws<ArgumentOutOfRangeException>(() => Ops.Select(Iota(3, 2), -4), "Select: index -4", "[3, 2]");
        Throws<ArgumentException>(() => Ops.Select(Tensor.Scalar(1), 0), "Select", "rank-0");
    }
}

public class GatherTests
{
    private static Tensor Data42 => Iota(4, 2);

    [Fact]
    public void Gather_Axis0_RowsWithNegativeIndices()
    {
        AssertTensor(Ops.Gather(Data42, I(new[] { 3, -4, 1 }, 3)), new[] { 3, 2 }, F(6, 7, 0, 1, 2, 3));
    }

    [Fact]
    public void Gather_IndicesShapeIsInserted()
    {
        var r = Ops.Gather(Data42, I(new[] { 0, 1, 3, 3 }, 2, 2));
        AssertTensor(r, new[] { 2, 2, 2 }, F(0, 1, 2, 3, 6, 7, 6, 7));
        AssertTensor(Ops.Gather(Data42, I(new[] { 2 })), new[] { 2 }, F(4, 5));
    }

    [Fact]
    public void Gather_InnerAxis()
    {
        var x = Iota(2, 3);
        AssertTensor(Ops.Gather(x, I(new[] { 2, 0 }, 2), axis: 1), new[] { 2, 2 }, F(2, 0, 5, 3));
        AssertTensor(Ops.Gather(x, I(new[] { -1 }, 1, 1), axis: -1), new[] { 2, 1, 1 }, F(2, 5));
    }

    [Fact]
    public void Gather_Int32Data()
    {
        AssertInts(Ops.Gather(I(new[] { 10, 20, 30 }, 3), I(new[] { 2, 2, 0 }, 3)), new[] { 3 }, new[] { 30, 30, 10 });
    }

    [Fact]
    public void Gather_Float32IndicesHoldingIntegers()
    {
        // Integer ONNX inputs are imported as Float32 tensors holding integers: they index like Int32 ones.
        AssertTensor(Ops.Gather(Data42, T(F(3, -4, 1), 3)), new[] { 3, 2 }, F(6, 7, 0, 1, 2, 3));
        AssertTensor(Ops.Gather(Data42, T(F(0, 1, 3, 3), 2, 2)), new[] { 2, 2, 2 }, F(0, 1, 2, 3, 6, 7, 6, 7));
        Throws<ArgumentException>(() => Ops.Gather(Data42, T(F(0.5f), 1)), "Gather: index 0.5", "is not an integer");
        Throws<ArgumentException>(() => Ops.Gather(Data42, T(F(float.NaN), 1)), "Gather: index NaN", "is not an integer");
        Throws<ArgumentOutOfRangeException>(() => Ops.Gather(Data42, T(F(4), 1)), "Gather: index 4 is out of range for dimension 4");
        Throws<ArgumentOutOfRangeException>(() => Ops.Gather(Data42, T(F(-5), 1)), "index -5", "dimension 4");
        Throws<ArgumentOutOfRangeException>(() => Ops.Gather(Data42, T(F(3e9f), 1)), "out of range for dimension 4");
    }

    [Fact]
    public void Gather_Errors()
    {
        Throws<ArgumentOutOfRangeException>(() => Ops.Gather(Data42, I(new[] { 0, 4 }, 2)), "Gather: index 4 is out of range for dimension 4");
        Throws<ArgumentOutOfRangeException>(() => Ops.Gather(Data42, I(new[] { -5 }, 1)), "index -5", "dimension 4");
        Throws<ArgumentOutOfRangeException>(() => Ops.Gather(Data42, I(new[] { 0 }, 1), 2), "Gather: axis 2 is out of range for rank 2");
    }
}
