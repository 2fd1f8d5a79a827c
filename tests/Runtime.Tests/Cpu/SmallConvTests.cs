using Aot.Runtime.Cpu;

namespace Runtime.Tests.Cpu;

public class SmallConvTests
{
    /// <summary>SmallConv against a double-precision loop over the taps (zero padding), then MathF.Max ReLU and 2 x 2
    /// pooling, with every instruction set the machine has: channel counts that fill, split and leave partial vectors (1, 5, 6, 16, 21, 40), every tile width
    /// (output widths 7, 10, 17, 28), odd output heights, asymmetric padding, with and without bias.</summary>
    [Theory]
    [InlineData(1, 28, 28, 6, 5, 5, 2, 2, 2, 2, true, true, true)]
    [InlineData(6, 14, 14, 16, 5, 5, 0, 0, 0, 0, true, true, true)]
    [InlineData(3, 9, 11, 21, 3, 3, 1, 0, 0, 2, true, false, false)]
    [InlineData(2, 7, 5, 5, 3, 2, 0, 1, 1, 0, false, true, false)]
    [InlineData(4, 13, 13, 40, 3, 3, 1, 1, 1, 1, true, false, true)]
    [InlineData(3, 6, 17, 1, 1, 1, 0, 0, 0, 0, true, true, true)]
    public void MatchesADirectLoop(int c, int h, int w, int k, int r, int s, int padTop, int padLeft, int padBottom, int padRight, bool bias, bool relu, bool pool)
    {
        foreach (var isa in new[] { CpuInstructionSet.Auto, CpuInstructionSet.Vector128, CpuInstructionSet.Avx2, CpuInstructionSet.Avx512 }.Where(CpuFeatures.IsSupported))
        {
            Check(isa, c, h, w, k, r, s, padTop, padLeft, padBottom, padRight, bias, relu, pool);
        }
    }

    /// <summary>One configuration with the kernels of one instruction set (Vector128: the scalar tile).</summary>
    private static void Check(CpuInstructionSet isa, int c, int h, int w, int k, int r, int s, int padTop, int padLeft, int padBottom, int padRight, bool bias, bool relu, bool pool)
    {
        var random = new Random(c * 7919 + h * 31 + k);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var x = Rand(c * h * w);
        var weights = Rand(k * c * r * s); // [K, C, R, S]
        var b = bias ? Rand(k) : Array.Empty<float>();
        int outH = h + padTop + padBottom - r + 1, outW = w + padLeft + padRight - s + 1;
        var conv = new float[k * outH * outW];
        for (int o = 0; o < k; o++)
        {
            for (int oh = 0; oh < outH; oh++)
            {
                for (int ow = 0; ow < outW; ow++)
                {
                    double sum = bias ? b[o] : 0;
                    for (int ci = 0; ci < c; ci++)
                    {
                        for (int kr = 0; kr < r; kr++)
                        {
                            for (int ks = 0; ks < s; ks++)
                            {
                                int ih = oh + kr - padTop, iw = ow + ks - padLeft;
                                if (ih >= 0 && ih < h && iw >= 0 && iw < w) sum += (double)weights[((o * c + ci) * r + kr) * s + ks] * x[(ci * h + ih) * w + iw];
                            }
                        }
                    }

                    conv[(o * outH + oh) * outW + ow] = relu ? MathF.Max((float)sum, 0f) : (float)sum;
                }
            }
        }

        int yH = pool ? outH / 2 : outH, yW = pool ? outW / 2 : outW;
        var expected = pool ? new float[k * yH * yW] : conv;
        if (pool) PoolKernels.MaxPool2x2(conv, k, outH, outW, expected);

        // The kernel reads the weights as [C, R, S, K].
        var transposed = new float[weights.Length];
        for (int o = 0; o < k; o++)
        {
            for (int tap = 0; tap < c * r * s; tap++) transposed[tap * k + o] = weights[o * c * r * s + tap];
        }

        var y = new float[k * yH * yW];
        SmallConv.Forward(x, c, h, w, transposed, b, k, r, s, padTop, padLeft, outH, outW, relu, pool, y, isa);
        for (int i = 0; i < y.Length; i++) Assert.True(Math.Abs(y[i] - expected[i]) <= 1e-5f * (1 + c * r * s), $"{isa}, element {i}: {y[i]} vs {expected[i]}");
    }
}
