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

    /// <summary>Every row count of the microkernel (1..6 and more than one tile), full and partial panels, short and
    /// blocked k: each (m, n, k) against the reference, with and without accumulation.</summary>
    public static IEnumerable<object[]> EdgeShapes()
    {
        foreach (int m in new[] { 1, 2, 3, 4, 5, 6, 7, 11, 13 })
        {
            foreach (int n in new[] { 1, 5, 7, 31, 32, 33, 70 })
            {
                foreach (int k in new[] { 1, 5, 7, 31, 33 }) yield return new object[] { m, n, k };
            }
        }
    }

    [Theory]
    [MemberData(nameof(EdgeShapes))]
    public void EdgeTilesMatchReference(int m, int n, int k)
    {
        var random = new Random(m * 7919 + n * 31 + k);
        int lda = k + 1, ldc = n + 3;
        var a = Fill(random, m * lda);
        var b = Fill(random, k * n);
        var packed = new float[GemmLayout.PackedLength(k, n)];
        Sgemm.PackB(b, k, n, transposed: false, packed);
        foreach (var (kc, accumulate) in new[] { (k, false), (3, true), (16, false) })
        {
            var c = Fill(random, m * ldc);
            var before = (float[])c.Clone();
            Sgemm.Multiply(m, n, k, a, lda, packed, c, ldc, alpha: 1.5f, accumulate, kc, mc: 6);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < ldc; j++)
                {
                    if (j >= n)
                    {
                        Assert.Equal(before[i * ldc + j], c[i * ldc + j]); // the masked store never writes past n
                        continue;
                    }

                    double expected = 1.5 * Dot(a, i * lda, b, j, n, k) + (accumulate ? before[i * ldc + j] : 0);
                    Assert.True(Math.Abs(c[i * ldc + j] - expected) <= Atol + Rtol * Math.Abs(expected),
                        $"C[{i},{j}] = {c[i * ldc + j]}, expected {expected} (m {m}, n {n}, k {k}, kc {kc}, accumulate {accumulate})");
                }
            }
        }
    }

    [Theory]
    [InlineData(GemmActivation.None, false)]
    [InlineData(GemmActivation.Relu, false)]
    [InlineData(GemmActivation.Relu, true)]
    [InlineData(GemmActivation.Gelu, false)]
    [InlineData(GemmActivation.GeluTanh, true)]
    [InlineData(GemmActivation.Sigmoid, false)]
    [InlineData(GemmActivation.Tanh, true)]
    public void EpilogueMatchesReference(GemmActivation activation, bool residualAfter)
    {
        foreach (var (m, n, k) in new[] { (1, 10, 33), (5, 33, 7), (6, 32, 64), (13, 70, 600), (7, 100, 9) })
        {
            var random = new Random(m + n + k + (int)activation);
            int lda = k + 2, ldc = n + 1, ldr = n + 4;
            var a = Fill(random, m * lda);
            var b = Fill(random, k * n);
            var packed = new float[GemmLayout.PackedLength(k, n)];
            Sgemm.PackB(b, k, n, transposed: false, packed);
            var rowBias = Fill(random, m);
            var colBias = Fill(random, n);
            var residual = Fill(random, m * ldr);
            foreach (var (useRow, useCol, useResidual, accumulate, kc) in new[] { (false, true, false, false, 512), (true, false, true, true, 16), (false, true, true, false, 5), (false, false, false, false, 7) })
            {
                var c = Fill(random, m * ldc);
                var before = (float[])c.Clone();
                var epilogue = new GemmEpilogue
                {
                    RowBias = useRow ? rowBias : default,
                    ColumnBias = useCol ? colBias : default,
                    Residual = useResidual ? residual : default,
                    ResidualStride = ldr,
                    ResidualAfterActivation = residualAfter,
                    Activation = activation,
                };
                Sgemm.Multiply(m, n, k, a, lda, packed, c, ldc, 1f, accumulate, kc, 6, null, epilogue);
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        double t = Dot(a, i * lda, b, j, n, k) + (accumulate ? before[i * ldc + j] : 0);
                        if (useRow) t += rowBias[i];
                        if (useCol) t += colBias[j];
                        if (useResidual && !residualAfter) t += residual[i * ldr + j];
                        t = Activate(t, activation);
                        if (useResidual && residualAfter) t += residual[i * ldr + j];
                        Assert.True(Math.Abs(c[i * ldc + j] - t) <= 1e-4 + 1e-4 * Math.Abs(t),
                            $"C[{i},{j}] = {c[i * ldc + j]}, expected {t} ({activation}, m {m}, n {n}, k {k}, row {useRow}, col {useCol}, residual {useResidual}, kc {kc})");
                    }
                }
            }
        }
    }

    [Fact]
    public void EpilogueWithEmptyK()
    {
        var c = new float[] { 5, 5, 5, 5 };
        Sgemm.Multiply(2, 2, 0, Array.Empty<float>(), 0, Array.Empty<float>(), c, 2, 1f, false, 8, 6, null,
            new GemmEpilogue { ColumnBias = new float[] { 1, -2 }, Activation = GemmActivation.Relu });
        Assert.Equal(new float[] { 1, 0, 1, 0 }, c);
    }

    private static double Dot(float[] a, int aOffset, float[] b, int column, int n, int k)
    {
        double sum = 0;
        for (int p = 0; p < k; p++) sum += (double)a[aOffset + p] * b[p * n + column];
        return sum;
    }

    internal static double Activate(double x, GemmActivation activation) => activation switch
    {
        GemmActivation.Relu => Math.Max(x, 0),
        GemmActivation.Gelu => 0.5 * x * (1 + Erf(x / Math.Sqrt(2))),
        GemmActivation.GeluTanh => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))),
        GemmActivation.Sigmoid => 1 / (1 + Math.Exp(-x)),
        GemmActivation.Tanh => Math.Tanh(x),
        _ => x,
    };

    /// <summary>erf by its Maclaurin series, which converges for every x; below |x| = 3.5 the largest term is about
    /// 2e5, so double rounding costs under 1e-10; beyond, erf is +-1 within 1e-6.</summary>
    private static double Erf(double x)
    {
        if (Math.Abs(x) > 3.5) return Math.Sign(x);
        double sum = 0, term = x;
        for (int n = 0; n < 200; n++)
        {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
        }

        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    /// <summary>
    /// Convolve against a double-precision direct convolution: in place (wide output rows, strides 1 to 3) and packed
    /// (short rows, 1x1 kernels), with padding, dilation, odd sizes, channel counts that fill no tile, cache blocks that
    /// split k and m, accumulation, a bias + ReLU + residual epilogue, every kernel family the machine has, and
    /// 1 and 3 threads (which must write the same bytes).
    /// </summary>
    [Theory]
    [InlineData(1, 6, 28, 28, 5, 5, 1, 1, 2, 2, 1, 1)]
    [InlineData(6, 16, 14, 14, 5, 5, 1, 1, 0, 0, 1, 1)]
    [InlineData(3, 32, 9, 40, 3, 3, 1, 1, 1, 1, 1, 1)]
    [InlineData(2, 7, 11, 13, 3, 2, 2, 3, 1, 2, 1, 1)]
    [InlineData(2, 13, 12, 12, 3, 3, 1, 1, 2, 2, 2, 2)]
    [InlineData(5, 9, 12, 70, 3, 3, 1, 1, 2, 1, 2, 3)]
    [InlineData(4, 8, 7, 70, 1, 7, 1, 1, 0, 3, 1, 1)]
    [InlineData(1, 6, 3, 3, 5, 5, 1, 1, 4, 4, 1, 1)]
    [InlineData(8, 19, 40, 41, 3, 3, 1, 1, 1, 1, 1, 1)]
    [InlineData(17, 33, 33, 64, 3, 3, 2, 1, 1, 1, 1, 1)]
    [InlineData(3, 12, 20, 24, 3, 3, 1, 1, 1, 1, 1, 1)]
    [InlineData(4, 10, 20, 64, 3, 3, 1, 1, 2, 2, 2, 2)]
    [InlineData(3, 8, 30, 63, 3, 3, 2, 2, 1, 1, 1, 1)]
    [InlineData(2, 9, 21, 53, 7, 7, 2, 2, 3, 3, 2, 2)]
    [InlineData(2, 6, 10, 95, 3, 3, 1, 3, 1, 1, 1, 1)]
    public void ConvolveMatchesTheDefinition(int channels, int m, int height, int width, int kh, int kw, int sh, int sw, int padTop, int padLeft, int dh, int dw)
    {
        int outH = (height + 2 * padTop - dh * (kh - 1) - 1) / sh + 1;
        int outW = (width + 2 * padLeft - dw * (kw - 1) - 1) / sw + 1;
        int k = channels * kh * kw, n = outH * outW;
        var random = new Random(channels * 100 + width);
        var image = Fill(random, channels * height * width);
        var weights = Fill(random, m * k);
        var bias = Fill(random, m);
        var residual = Fill(random, m * n);
        var start = Fill(random, m * n);
        using var pool = new WorkerPool(3);
        foreach (var isa in new[] { CpuInstructionSet.Auto, CpuInstructionSet.Avx2, CpuInstructionSet.Vector128 })
        {
            if (!CpuFeatures.IsSupported(isa)) continue;
            foreach (var (kc, mc, accumulate) in new[] { (k, 120, false), (7, 6, true) })
            {
                var epilogue = new GemmEpilogue { RowBias = bias, Residual = residual, ResidualStride = n, Activation = GemmActivation.Relu };
                var c = (float[])start.Clone();
                Sgemm.Convolve(m, weights, image, channels, height, width, kh, kw, sh, sw, padTop, padLeft, dh, dw, outH, outW, c, accumulate, kc, mc, epilogue: epilogue, isa: isa);
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        double sum = accumulate ? start[i * n + j] : 0;
                        int p = 0;
                        for (int ch = 0; ch < channels; ch++)
                        {
                            for (int r = 0; r < kh; r++)
                            {
                                for (int s = 0; s < kw; s++, p++)
                                {
                                    int iy = j / outW * sh - padTop + r * dh, ix = j % outW * sw - padLeft + s * dw;
                                    if (iy >= 0 && iy < height && ix >= 0 && ix < width) sum += (double)weights[i * k + p] * image[(ch * height + iy) * width + ix];
                                }
                            }
                        }

                        double expected = Math.Max(0, sum + bias[i] + residual[i * n + j]);
                        Assert.True(Math.Abs(c[i * n + j] - expected) <= Atol + Rtol * Math.Abs(expected), $"{isa} kc={kc}: C[{i}, {j}] = {c[i * n + j]}, expected {expected}");
                    }
                }

                var parallel = (float[])start.Clone();
                Sgemm.Convolve(m, weights, image, channels, height, width, kh, kw, sh, sw, padTop, padLeft, dh, dw, outH, outW, parallel, accumulate, kc, mc, pool, epilogue, isa);
                Assert.Equal(c, parallel);
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

    /// <summary>MultiplyStrided against the reference for every kind of stride: A with contiguous rows (in place) or
    /// not (copied), B row-major, transposed or neither, C with contiguous rows (in place) or not (through a workspace),
    /// with and without accumulation; elements outside the views are never written.</summary>
    [Theory]
    [InlineData(9, 40, 20, 21, 1, 41, 1, 43, 1)]   // row-major views with padded rows
    [InlineData(9, 40, 20, 1, 9, 1, 20, 40, 1)]    // A and B transposed (Kᵀ read in place)
    [InlineData(7, 33, 17, 3, 21, 50, 3, 1, 7)]    // nothing contiguous: A copied, C written through a workspace
    public void StridedOperandsMatchReference(int m, int n, int k, int aRow, int aCol, int bRow, int bCol, int cRow, int cCol)
    {
        var random = new Random(m + n + k);
        int Extent(int rows, int cols, int rs, int cs) => (rows - 1) * rs + (cols - 1) * cs + 1;
        var a = Fill(random, Extent(m, k, aRow, aCol));
        var b = Fill(random, Extent(k, n, bRow, bCol));
        foreach (bool accumulate in new[] { false, true })
        {
            var c = Fill(random, Extent(m, n, cRow, cCol) + 5);
            var before = (float[])c.Clone();
            Sgemm.MultiplyStrided(m, n, k, a, aRow, aCol, b, bRow, bCol, c, cRow, cCol, 0.5f, accumulate, kc: 8, mc: 6);
            var inView = new bool[c.Length];
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double sum = 0;
                    for (int p = 0; p < k; p++) sum += (double)a[i * aRow + p * aCol] * b[p * bRow + j * bCol];
                    int at = i * cRow + j * cCol;
                    inView[at] = true;
                    double expected = 0.5 * sum + (accumulate ? before[at] : 0);
                    Assert.True(Math.Abs(c[at] - expected) <= Atol + Rtol * Math.Abs(expected), $"C[{i},{j}] = {c[at]}, expected {expected} (accumulate {accumulate})");
                }
            }

            for (int e = 0; e < c.Length; e++)
            {
                if (!inView[e]) Assert.Equal(before[e], c[e]);
            }
        }

        Assert.Throws<ArgumentException>(() => Sgemm.MultiplyStrided(m, n, k, a.AsSpan(1), aRow, aCol, b, bRow, bCol, new float[Extent(m, n, cRow, cCol)], cRow, cCol, 1f, false, 8, 6));
    }

    [Fact]
    public void TooSmallOperandsAreRejected()
    {
        var packed = new float[GemmLayout.PackedLength(4, 4)];
        Assert.Throws<ArgumentException>(() => Sgemm.Multiply(4, 4, 4, new float[15], 4, packed, new float[16], 4, 1f, false, 4, 6));
        Assert.Throws<ArgumentException>(() => Sgemm.PackB(new float[15], 4, 4, false, packed));
    }

    internal static float[] Fill(Random random, int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
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

    [Theory]
    [InlineData(1, 784, 512, 2)]
    [InlineData(5, 300, 70, 2)]
    [InlineData(64, 330, 100, 3)]
    public void ParallelEpilogueIsBitIdenticalToSerial(int m, int n, int k, int threads)
    {
        var random = new Random(5);
        var a = Enumerable.Range(0, m * k).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        var b = Enumerable.Range(0, k * n).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        var bias = Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        var residual = Enumerable.Range(0, m * n).Select(_ => (float)random.NextDouble()).ToArray();
        var packed = new float[GemmLayout.PackedLength(k, n)];
        Sgemm.PackB(b, k, n, false, packed);
        var epilogue = new GemmEpilogue { ColumnBias = bias, Residual = residual, ResidualStride = n, Activation = GemmActivation.Gelu };
        var serial = new float[m * n];
        var parallel = new float[m * n];
        Sgemm.Multiply(m, n, k, a, k, packed, serial, n, 1f, false, 128, 60, null, epilogue);
        using var pool = new WorkerPool(threads);
        for (int repeat = 0; repeat < 10; repeat++)
        {
            Array.Clear(parallel);
            Sgemm.Multiply(m, n, k, a, k, packed, parallel, n, 1f, false, 128, 60, pool, epilogue);
            Assert.Equal(serial, parallel);
        }
    }

    [Fact]
    public void CallsWithAnEpilogueAllocateNothing()
    {
        int m = 3, n = 300, k = 200;
        var a = new float[m * k];
        var packed = new float[GemmLayout.PackedLength(k, n)];
        var bias = new float[n];
        var c = new float[m * n];
        using var pool = new WorkerPool(2);
        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) Run();
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());

        void Run() => Sgemm.Multiply(m, n, k, a, k, packed, c, n, 1f, false, 128, 60, pool, new GemmEpilogue { ColumnBias = bias, Activation = GemmActivation.Sigmoid });
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
    public void BackToBackRunsWithReusedJobsRunEachTaskOnce()
    {
        // Many short runs alternating two job objects: a worker that wakes late must never run a task of a finished
        // run or of the next one twice.
        using var pool = new WorkerPool(3);
        var jobs = new[] { new CountingJob(64), new CountingJob(64) };
        var random = new Random(7);
        for (int run = 0; run < 20_000; run++)
        {
            var job = jobs[run % 2];
            int tasks = random.Next(2, 64);
            Array.Clear(job.Counts);
            pool.Run(job, tasks);
            for (int t = 0; t < 64; t++) Assert.Equal(t < tasks ? 1 : 0, job.Counts[t]);
        }
    }

    /// <summary>Thread i starts with its own share of the tasks (the caller with the first): 3 threads, 6 tasks, and the
    /// first task of each share waits until all three have started one, so no thread can run out of work and take
    /// another's share before each has claimed its own first task.</summary>
    [Fact]
    public void EachThreadStartsWithItsOwnShare()
    {
        using var pool = new WorkerPool(3);
        int caller = Environment.CurrentManagedThreadId;
        for (int run = 0; run < 20; run++)
        {
            var job = new ShareStartJob(tasks: 6, threads: 3);
            pool.Run(job, 6);
            Assert.Equal(new[] { 0, 2, 4 }, Enumerable.Range(0, 6).Where(t => job.Order[t] < 3).ToArray()); // the first three started
            Assert.Equal(caller, job.Threads[0]);
            Assert.NotEqual(caller, job.Threads[2]);
            Assert.NotEqual(caller, job.Threads[4]);
            Assert.NotEqual(job.Threads[2], job.Threads[4]);
        }
    }

    private sealed class ShareStartJob(int tasks, int threads) : IParallelJob
    {
        private int _started, _next;

        public int[] Threads { get; } = new int[tasks];

        /// <summary>The position of each task in the order tasks started.</summary>
        public int[] Order { get; } = new int[tasks];

        public void Execute(int task)
        {
            Order[task] = Interlocked.Increment(ref _next) - 1;
            Threads[task] = Environment.CurrentManagedThreadId;
            if (task % (tasks / threads) != 0) return;
            Interlocked.Increment(ref _started);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (Volatile.Read(ref _started) < threads)
            {
                if (clock.Elapsed.TotalSeconds > 30) throw new TimeoutException("a pool thread never started its share");
                Thread.Yield();
            }
        }
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
