using Aot.Runtime.Cpu;
using static Runtime.Tests.Cpu.SgemmTests;

namespace Runtime.Tests.Cpu;

/// <summary>Sgemm's Winograd F(2x2, 3x3) convolution against a double-precision direct convolution.</summary>
public class WinogradTests
{
    /// <summary>
    /// Odd output sizes (the last tile row and column half outside), tile rows that runs of 8 and blocks cut anywhere
    /// (35 tiles per row against blocks of 32), asymmetric and no padding, channel counts that fill no register tile;
    /// with no epilogue, bias + residual + ReLU, and GELU; every kernel family the machine has; 1 and 3 threads, which
    /// must write the same bytes. The error is measured against the sum of the products' magnitudes, the scale of the
    /// rounding in any summation order (the transforms add up to 9 inputs, or 16 products, before multiplying).
    /// </summary>
    [Theory]
    [InlineData(16, 16, 13, 11, 1, 1, 1, 1, 32)]
    [InlineData(3, 7, 9, 70, 1, 1, 1, 1, 32)]
    [InlineData(20, 33, 32, 32, 1, 1, 1, 1, 64)]
    [InlineData(5, 6, 17, 19, 2, 0, 0, 1, 96)]
    [InlineData(8, 12, 6, 40, 0, 0, 0, 0, 32)]
    [InlineData(1, 1, 3, 3, 0, 0, 0, 0, 32)]
    public void WinogradConvolveMatchesTheDefinition(int channels, int m, int height, int width, int padTop, int padLeft, int padBottom, int padRight, int tileBlock)
    {
        int outH = height + padTop + padBottom - 2, outW = width + padLeft + padRight - 2, n = outH * outW;
        var random = new Random(channels * 100 + width);
        var image = Fill(random, channels * height * width);
        var weights = Fill(random, m * channels * 9);
        var bias = Fill(random, m);
        var residual = Fill(random, m * n);
        var transformed = new float[GemmLayout.WinogradPoints * m * channels];
        Sgemm.TransformWinogradWeights(weights, m, channels, transformed);

        // The direct sum and the magnitude of its terms, per output element.
        var sums = new double[m * n];
        var magnitudes = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                for (int ch = 0; ch < channels; ch++)
                {
                    for (int r = 0; r < 3; r++)
                    {
                        for (int s = 0; s < 3; s++)
                        {
                            int iy = j / outW - padTop + r, ix = j % outW - padLeft + s;
                            if (iy < 0 || iy >= height || ix < 0 || ix >= width) continue;
                            double term = (double)weights[((i * channels + ch) * 3 + r) * 3 + s] * image[(ch * height + iy) * width + ix];
                            sums[i * n + j] += term;
                            magnitudes[i * n + j] += Math.Abs(term);
                        }
                    }
                }
            }
        }

        using var pool = new WorkerPool(3);
        foreach (var isa in new[] { CpuInstructionSet.Auto, CpuInstructionSet.Avx2, CpuInstructionSet.Vector128 })
        {
            if (!CpuFeatures.IsSupported(isa)) continue;
            foreach (var activation in new[] { GemmActivation.None, GemmActivation.Relu, GemmActivation.Gelu })
            {
                bool linear = activation == GemmActivation.Relu;
                var epilogue = linear
                    ? new GemmEpilogue { RowBias = bias, Residual = residual, ResidualStride = n, Activation = activation }
                    : new GemmEpilogue { Activation = activation };
                var c = new float[m * n];
                Sgemm.WinogradConvolve(m, transformed, image, channels, height, width, padTop, padLeft, outH, outW, c, tileBlock, epilogue: epilogue, isa: isa);
                for (int e = 0; e < m * n; e++)
                {
                    double expected = Activate(sums[e] + (linear ? bias[e / n] + residual[e] : 0), activation);
                    double tolerance = 1e-6 + 4e-6 * (magnitudes[e] + (linear ? Math.Abs(bias[e / n]) + Math.Abs(residual[e]) : 0));
                    Assert.True(Math.Abs(c[e] - expected) <= tolerance, $"{isa} {activation}: y[{e / n}, {e % n}] = {c[e]}, expected {expected} (tolerance {tolerance:E2})");
                }

                var parallel = new float[m * n];
                Sgemm.WinogradConvolve(m, transformed, image, channels, height, width, padTop, padLeft, outH, outW, parallel, tileBlock, pool, epilogue, isa);
                Assert.Equal(c, parallel);
            }
        }
    }

    /// <summary>A filter that only takes the centre tap is G e Gᵀ with G's middle column [0, ½, -½, 0].</summary>
    [Fact]
    public void TheWeightTransformIsGgGt()
    {
        var weights = new float[2 * 9];
        weights[9 + 4] = 2f; // filter (output 0, channel 1): 2 at the centre
        var transformed = new float[GemmLayout.WinogradPoints * 2];
        Sgemm.TransformWinogradWeights(weights, 1, 2, transformed);
        var column = new[] { 0, 0.5, -0.5, 0 };
        for (int xi = 0; xi < GemmLayout.WinogradPoints; xi++)
        {
            Assert.Equal(0f, transformed[xi * 2]);
            Assert.Equal((float)(2 * column[xi / 4] * column[xi % 4]), transformed[xi * 2 + 1]);
        }
    }

    [Fact]
    public void OperandsTooShortAreRejected()
    {
        Assert.Throws<ArgumentException>(() => Sgemm.TransformWinogradWeights(new float[17], 1, 2, new float[32]));
        Assert.Throws<ArgumentException>(() => Sgemm.TransformWinogradWeights(new float[18], 1, 2, new float[31]));
        var u = new float[GemmLayout.WinogradPoints * 4 * 3];
        Assert.Throws<ArgumentException>(() => Sgemm.WinogradConvolve(4, u, new float[3 * 8 * 8 - 1], 3, 8, 8, 1, 1, 8, 8, new float[4 * 64], 32));
        Assert.Throws<ArgumentException>(() => Sgemm.WinogradConvolve(4, u.AsSpan(1), new float[3 * 8 * 8], 3, 8, 8, 1, 1, 8, 8, new float[4 * 64], 32));
        Assert.Throws<ArgumentException>(() => Sgemm.WinogradConvolve(4, u, new float[3 * 8 * 8], 3, 8, 8, 1, 1, 8, 8, new float[4 * 64 - 1], 32));
    }
}
