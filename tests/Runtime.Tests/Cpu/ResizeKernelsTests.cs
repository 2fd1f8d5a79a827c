using Aot.Dsl;
using Aot.Runtime.Cpu;

namespace Runtime.Tests.Cpu;

/// <summary>The CPU Resize kernel against the eager reference, including widths past its stack limit, and its
/// allocation-free calls.</summary>
public class ResizeKernelsTests
{
    [Theory]
    [InlineData(ResizeMode.Nearest, 7, 9)]
    [InlineData(ResizeMode.Linear, 7, 9)]
    [InlineData(ResizeMode.Nearest, 3, 1500)]
    [InlineData(ResizeMode.Linear, 3, 1500)]
    public void MatchesTheEagerReference(ResizeMode mode, int outH, int outW)
    {
        var x = Tensor.Random(3, -1f, 1f, 2, 3, 4, 600);
        var expected = Ops.Resize(x, outH, outW, mode, ResizeCoordinates.PytorchHalfPixel);
        var y = new float[expected.Length];
        ResizeKernels.Resize(x.Floats, y, 6, 4, 600, outH, outW, (int)mode, (int)ResizeCoordinates.PytorchHalfPixel, 0, (float)outH / 4, (float)outW / 600);
        for (int i = 0; i < y.Length; i++) Assert.True(Math.Abs(y[i] - expected.Floats[i]) <= 1e-6f, $"[{i}]: {y[i]}, expected {expected.Floats[i]}");
    }

    [Fact]
    public void AllocatesNothingForUsualWidths()
    {
        var x = new float[2 * 5 * 7];
        var y = new float[2 * 10 * 14];
        ResizeKernels.Resize(x, y, 2, 5, 7, 10, 14, 1, 0, 0, 2f, 2f); // warm-up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) ResizeKernels.Resize(x, y, 2, 5, 7, 10, 14, 1, 0, 0, 2f, 2f);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
