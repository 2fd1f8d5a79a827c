using Aot.Runtime.Cpu;

namespace Runtime.Tests.Cpu;

/// <summary>The packed GEMM against a double-precision triple loop, over tile edges and every flag.</summary>
public class SgemmTests
{
    private const double Atol = 1e-4, Rtol = 1e-4;

    [Theory]
    [InlineData(1, 1, 1, false)]
    [InlineData(3, 17, 33, false)]
    [InlineData(6, 32, 8, false)]
    [InlineData(7, 33, 65, true)]
    [InlineData(33, 64, 17, true)]
    [InlineData(100, 95, 300, false)]
    [InlineData(13, 130, 600, true)]
    public void MatchesReference(int m, int n, int k, bool transposedB)
    {
        var random = new Random(m * 1000 + n * 10 + k);
        int lda = k + 3, ldc = n + 5; // strided rows, to catch stride mix-ups
        var a = Fill(random, m * lda);
        var b = Fill(random, k * n);
        var packed = new float[GemmLayout.PackedLength(k, n)];
        Sgemm.PackB(b, k, n, transposedB, packed);

        foreach (var (kc, mc) in new[] { (k, 120), (7, 6), (64, 12) })
        {
            foreach (var accumulate in new[] { false, true })
            {
                var c = Fill(random, m * ldc);
                var before = (float[])c.Clone();
                Sgemm.Multiply(m, n, k, a, lda, packed, c, ldc, alpha: 0.5f, accumulate, kc, mc);
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        double sum = 0;
                        for (int p = 0; p < k; p++) sum += (double)a[i * lda + p] * (transposedB ? b[j * k + p] : b[p * n + j]);
                        double expected = 0.5 * sum + (accumulate ? before[i * ldc + j] : 0);
                        Assert.True(Math.Abs(c[i * ldc + j] - expected) <= Atol + Rtol * Math.Abs(expected),
                            $"C[{i},{j}] = {c[i * ldc + j]}, expected {expected} (kc {kc}, mc {mc}, accumulate {accumulate})");
                    }

                    // Padding between rows of C is never touched.
                    for (int j = n; j < ldc && i < m - 1; j++) Assert.Equal(before[i * ldc + j], c[i * ldc + j]);
                }
            }
        }
    }

    [Fact]
    public void PackingZeroPadsThePartialPanel()
    {
        var b = Enumerable.Range(1, 2 * 3).Select(v => (float)v).ToArray(); // [2, 3]
        var packed = new float[GemmLayout.PackedLength(2, 3)];
        Array.Fill(packed, float.NaN);
        Sgemm.PackB(b, 2, 3, transposed: false, packed);
        Assert.Equal(new float[] { 1, 2, 3 }, packed.Take(3));
        Assert.All(packed.Skip(3).Take(29), v => Assert.Equal(0f, v));
        Assert.Equal(new float[] { 4, 5, 6 }, packed.Skip(32).Take(3));
    }

    [Fact]
    public void TooSmallOperandsAreRejected()
    {
        var packed = new float[GemmLayout.PackedLength(4, 4)];
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(4, 4, 4, new float[15], 4, packed, new float[16], 4, 1f, false, 4, 6));
        Assert.Throws<ArgumentException>(() => Sgemm.PackB(new float[15], 4, 4, false, packed));
    }

    private static float[] Fill(Random random, int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
}

public class ParallelSgemmTests
{
    [Theory]
    [InlineData(64, 200, 100, 2)]
    [InlineData(7, 1000, 64, 3)]
    [InlineData(130, 33, 600, 2)]
    public void ParallelResultIsBitIdenticalToSerial(int m, int n, int k, int threads)
    {
        var random = new Random(3);
        var a = Enumerable.Range(0, m * k).Select(_ => (float)random.NextDouble()).ToArray();
        var b = Enumerable.Range(0, k * n).Select(_ => (float)random.NextDouble()).ToArray();
        var packed = new float[GemmLayout.PackedLength(k, n)];
        Sgemm.PackB(b, k, n, false, packed);
        var serial = new float[m * n];
        var parallel = new float[m * n];
        Sgemm.Multiply(m, n, k, a, k, packed, serial, n, 1f, false, 128, 60);
        using var pool = new WorkerPool(threads);
        for (int repeat = 0; repeat < 20; repeat++)
        {
            Array.Clear(parallel);
            Sgemm.Multiply(m, n, k, a, k, packed, parallel, n, 1f, false, 128, 60, pool);
            Assert.Equal(serial, parallel);
        }
    }

    [Fact]
    public void EveryTaskRunsExactlyOnceAndFailuresSurface()
    {
        using var pool = new WorkerPool(2);
        var job = new CountingJob(1000);
        for (int round = 0; round < 50; round++) pool.Run(job, 1000);
        Assert.All(job.Counts, c => Assert.Equal(50, c));

        var failing = new FailingJob();
        var error = Assert.Throws<AggregateException>(() => pool.Run(failing, 10));
        Assert.IsType<InvalidOperationException>(error.InnerException);
        pool.Run(job, 1000); // the pool still works afterwards
    }

    [Fact]
    public void ParallelCallsAllocateNothing()
    {
        int m = 64, n = 256, k = 128;
        var a = new float[m * k];
        var packed = new float[GemmLayout.PackedLength(k, n)];
        var c = new float[m * n];
        using var pool = new WorkerPool(2);
        Sgemm.Multiply(m, n, k, a, k, packed, c, n, 1f, false, 128, 60, pool);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) Sgemm.Multiply(m, n, k, a, k, packed, c, n, 1f, false, 128, 60, pool);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    private sealed class CountingJob(int size) : IParallelJob
    {
        public int[] Counts { get; } = new int[size];

        public void Execute(int task) => Interlocked.Increment(ref Counts[task]);
    }

    private sealed class FailingJob : IParallelJob
    {
        public void Execute(int task)
        {
            if (task == 7) throw new InvalidOperationException("task 7");
        }
    }
}
