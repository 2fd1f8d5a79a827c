using Aot.Runtime.Cpu;

namespace Runtime.Tests.Cpu;

/// <summary>
/// Sgemm with a fixed instruction set (what generated code passes for AotInstructionSet): each microkernel family the
/// machine supports matches a double-precision reference over tile edges and cache blocks, with an epilogue too;
/// one it lacks is refused with PlatformNotSupportedException instead of faulting in a kernel.
/// </summary>
public class SgemmInstructionSetTests
{
    private const double Atol = 1e-4, Rtol = 1e-4;

    public static TheoryData<CpuInstructionSet> Sets() => new()
    {
        CpuInstructionSet.Auto, CpuInstructionSet.Vector128, CpuInstructionSet.Avx2, CpuInstructionSet.Avx512,
    };

    [Theory]
    [MemberData(nameof(Sets))]
    public void EveryKernelFamilyMatchesTheReference(CpuInstructionSet isa)
    {
        if (!CpuFeatures.IsSupported(isa))
        {
            var e = Assert.Throws<PlatformNotSupportedException>(() => Sgemm.Multiply(1, 1, 1, new float[1], 1, new float[32], new float[1], 1, 1f, false, 1, 6, isa: isa));
            Assert.Contains("AotInstructionSet=", e.Message);
            return;
        }

        using var pool = new WorkerPool(2);
        foreach (var (m, n, k) in new[] { (1, 70, 300), (5, 33, 31), (6, 32, 64), (13, 100, 130) })
        {
            var random = new Random(m * 1000 + n * 10 + k);
            var a = Fill(random, m * k);
            var b = Fill(random, k * n);
            var bias = Fill(random, n);
            var packed = new float[GemmLayout.PackedLength(k, n)];
            Sgemm.PackB(b, k, n, false, packed);
            foreach (var (kc, mc) in new[] { (k, 120), (16, 6) })
            {
                foreach (var threads in new[] { null, pool })
                {
                    var c = new float[m * n];
                    Sgemm.Multiply(m, n, k, a, k, packed, c, n, 1f, false, kc, mc, threads,
                        new GemmEpilogue { ColumnBias = bias, Activation = GemmActivation.Relu }, isa);
                    for (int i = 0; i < m; i++)
                    {
                        for (int j = 0; j < n; j++)
                        {
                            double sum = bias[j];
                            for (int p = 0; p < k; p++) sum += (double)a[i * k + p] * b[p * n + j];
                            double expected = Math.Max(0, sum);
                            Assert.True(Math.Abs(c[i * n + j] - expected) <= Atol + Rtol * Math.Abs(expected),
                                $"{isa}: C[{i},{j}] = {c[i * n + j]}, expected {expected} (m {m}, n {n}, k {k}, kc {kc}, mc {mc})");
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void AutoNeedsNothing()
    {
        Assert.True(CpuFeatures.IsSupported(CpuInstructionSet.Auto));
        CpuFeatures.Require(CpuInstructionSet.Auto);
    }

    private static float[] Fill(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }
}
