using Aot.Runtime.Cpu;

namespace Runtime.Tests.Cpu;

public class PoolKernelsTests
{
    /// <summary>MaxPool2x2 against MathF.Max over each window: vector rows (16 and more columns), scalar tails, odd
    /// sizes (the last row or column is dropped), NaN and signed zeros; with a pool (planes split between threads once
    /// the input is large enough) the same bits.</summary>
    [Theory]
    [InlineData(1, 2, 2)]
    [InlineData(9, 64, 64)]
    [InlineData(3, 28, 28)]
    [InlineData(2, 7, 35)]
    [InlineData(4, 64, 64)]
    [InlineData(1, 5, 17)]
    public void MatchesMathFMaxPerWindow(int planes, int height, int width)
    {
        var random = new Random(planes * 1000 + height * 10 + width);
        var x = Enumerable.Range(0, planes * height * width).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        if (x.Length > 40)
        {
            x[5] = float.NaN;
            x[17] = -0f;
            x[18] = 0f;
            x[x.Length - 3] = float.NegativeInfinity;
        }

        int outH = height / 2, outW = width / 2;
        var y = new float[planes * outH * outW];
        PoolKernels.MaxPool2x2(x, planes, height, width, y);
        using var pool = new WorkerPool(3);
        var parallel = new float[y.Length];
        PoolKernels.MaxPool2x2(x, planes, height, width, parallel, pool);
        Assert.Equal(y.Select(BitConverter.SingleToInt32Bits), parallel.Select(BitConverter.SingleToInt32Bits));
        for (int p = 0; p < planes; p++)
        {
            for (int oy = 0; oy < outH; oy++)
            {
                for (int ox = 0; ox < outW; ox++)
                {
                    float At(int dy, int dx) => x[(p * height + 2 * oy + dy) * width + 2 * ox + dx];
                    float expected = MathF.Max(MathF.Max(At(0, 0), At(0, 1)), MathF.Max(At(1, 0), At(1, 1)));
                    float actual = y[(p * outH + oy) * outW + ox];
                    Assert.True(expected.Equals(actual) && BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual) || float.IsNaN(expected) && float.IsNaN(actual),
                        $"plane {p} [{oy},{ox}]: {actual} vs {expected}");
                }
            }
        }
    }
}
