using Aot.Runtime.Cpu;

namespace Runtime.Tests.Cpu;

/// <summary>The one-row product against the GEMM it stands in for (Sgemm.Multiply with m = 1) and a double-precision
/// loop: narrow last panels, k not a multiple of the unrolling, alpha, accumulation, every epilogue part, and the
/// threaded split (bit-identical to one thread).</summary>
public class GemvTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(10, 3)]
    [InlineData(33, 7)]
    [InlineData(64, 130)]
    [InlineData(517, 784)]
    public void MatchesTheReferenceAndTheGemm(int n, int k)
    {
        var random = new Random(n * 1000 + k);
        float[] Fill(int count) => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var x = Fill(k);
        var b = Fill(n * k); // [n, k]: a Linear weight
        var packed = new float[GemmLayout.PackedLength(k, n)];
        Sgemm.PackB(b, k, n, transposed: true, packed);
        var bias = Fill(n);
        var residual = Fill(n);
        var start = Fill(n);

        foreach (var (alpha, accumulate) in new[] { (1f, false), (0.5f, true) })
        {
            foreach (var activation in new[] { GemmActivation.None, GemmActivation.Relu, GemmActivation.Gelu })
            {
                var epilogue = new GemmEpilogue { ColumnBias = bias, Residual = residual, ResidualStride = n, Activation = activation };
                var y = (float[])start.Clone();
                Gemv.Multiply(n, k, x, packed, y, alpha, accumulate, null, epilogue);
                var viaGemm = (float[])start.Clone();
                Sgemm.Multiply(1, n, k, x, k, packed, viaGemm, n, alpha, accumulate, kc: k, mc: 6, epilogue: epilogue);
                for (int j = 0; j < n; j++)
                {
                    double sum = 0;
                    for (int p = 0; p < k; p++) sum += (double)x[p] * b[j * k + p];
                    double linear = alpha * sum + (accumulate ? start[j] : 0) + bias[j] + residual[j];
                    if (activation == GemmActivation.Relu)
                    {
                        Assert.Equal(Math.Max(linear, 0), y[j], 1e-4 * (1 + Math.Abs(linear)));
                    }
                    else if (activation == GemmActivation.None)
                    {
                        Assert.Equal(linear, y[j], 1e-4 * (1 + Math.Abs(linear)));
                    }

                    Assert.Equal(viaGemm[j], y[j], 1e-5 * (1 + Math.Abs(viaGemm[j])));
                }
            }
        }
    }

    /// <summary>Each vector width the machine has (as AotInstructionSet fixes it) gives the double-precision result, with
    /// a last panel of 16 columns or fewer (read as a left half) and one wider; one it lacks is refused.</summary>
    [Theory]
    [InlineData(CpuInstructionSet.Vector128, 70)]
    [InlineData(CpuInstructionSet.Avx2, 70)]
    [InlineData(CpuInstructionSet.Avx512, 70)]
    [InlineData(CpuInstructionSet.Vector128, 90)]
    [InlineData(CpuInstructionSet.Avx2, 90)]
    [InlineData(CpuInstructionSet.Avx512, 90)]
    public void EveryInstructionSetMatchesTheReference(CpuInstructionSet isa, int n)
    {
        const int k = 33;
        var random = new Random(11);
        float[] Fill(int count) => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var x = Fill(k);
        var b = Fill(n * k);
        var packed = new float[GemmLayout.PackedLength(k, n)];
        Sgemm.PackB(b, k, n, transposed: true, packed);
        var actual = new float[n];
        if (!CpuFeatures.IsSupported(isa))
        {
            Assert.Throws<PlatformNotSupportedException>(() => Gemv.Multiply(n, k, x, packed, actual, 1f, false, isa: isa));
            return;
        }

        Gemv.Multiply(n, k, x, packed, actual, 1f, false, isa: isa);
        for (int j = 0; j < n; j++)
        {
            double sum = 0;
            for (int p = 0; p < k; p++) sum += (double)x[p] * b[j * k + p];
            Assert.Equal(sum, actual[j], 1e-5 * (1 + Math.Abs(sum)));
        }
    }

    [Fact]
    public void TwoThreadsGiveTheOneThreadBits()
    {
        const int n = 1000, k = 700; // enough multiply-adds to split, 32 panels (the last narrow)
        var random = new Random(7);
        float[] Fill(int count) => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var x = Fill(k);
        var packed = new float[GemmLayout.PackedLength(k, n)];
        Sgemm.PackB(Fill(n * k), k, n, transposed: true, packed);
        var bias = Fill(n);
        var one = new float[n];
        var two = new float[n];
        Gemv.Multiply(n, k, x, packed, one, 1f, false, null, new GemmEpilogue { ColumnBias = bias, Activation = GemmActivation.Relu });
        using var pool = new WorkerPool(2);
        Gemv.Multiply(n, k, x, packed, two, 1f, false, pool, new GemmEpilogue { ColumnBias = bias, Activation = GemmActivation.Relu });
        Assert.Equal(one.Select(BitConverter.SingleToInt32Bits), two.Select(BitConverter.SingleToInt32Bits));
    }
}
