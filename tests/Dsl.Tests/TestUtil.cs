using Aot.Dsl;

namespace Aot.Dsl.Tests;

internal static class TestUtil
{
    public static float[] F(params float[] values) => values;

    public static Tensor T(float[] data, params int[] shape) => Tensor.FromArray(data, shape);

    public static Tensor I(int[] data, params int[] shape) => Tensor.FromArray(data, shape);

    /// <summary>0, 1, 2, ... in the given shape.</summary>
    public static Tensor Iota(params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        var s = t.Floats;
        for (int i = 0; i < s.Length; i++) s[i] = i;
        return t;
    }

    /// <summary>Checks dtype, shape and every element within |expected - actual| &lt;= tol * max(1, |expected|). NaN must match NaN.</summary>
    public static void AssertTensor(Tensor actual, int[] shape, float[] expected, float tol = 0f)
    {
        Assert.Equal(DType.Float32, actual.DType);
        Assert.Equal(shape, actual.ShapeArray());
        var values = actual.Floats.ToArray();
        Assert.Equal(expected.Length, values.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i], a = values[i];
            if (float.IsNaN(e))
            {
                Assert.True(float.IsNaN(a), $"element {i}: expected NaN, got {a}");
                continue;
            }

            if (float.IsInfinity(e))
            {
                Assert.True(e == a, $"element {i}: expected {e}, got {a}");
                continue;
            }

            float bound = tol * Math.Max(1f, Math.Abs(e));
            Assert.True(Math.Abs(e - a) <= bound, $"element {i}: expected {e:R}, got {a:R} (tolerance {bound})");
        }
    }

    public static void AssertInts(Tensor actual, int[] shape, int[] expected)
    {
        Assert.Equal(DType.Int32, actual.DType);
        Assert.Equal(shape, actual.ShapeArray());
        Assert.Equal(expected, actual.Ints.ToArray());
    }

    /// <summary>Asserts the exact exception type and that the message contains every fragment.</summary>
    public static TException Throws<TException>(Func<object> action, params string[] fragments)
        where TException : Exception
    {
        var ex = Assert.Throws<TException>(() => action());
        foreach (var fragment in fragments) Assert.Contains(fragment, ex.Message);
        return ex;
    }
}
