using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Benchmarks;

/// <summary>
/// This machine's ceilings, measured in the same run as the models: peak FP32 FMA throughput (independent FMA chains
/// on registers) and STREAM-triad bandwidth (a[i] = b[i] + s*c[i] over 3 arrays of 64 MiB, far above the L3), each
/// with 1..N threads. Thread counts are the ones the benchmark records use.
/// </summary>
internal static class Machine
{
    /// <summary>Independent accumulators: 12 covers FMA latency (4 cycles) x throughput (2 x 256-bit, or 1 x 512-bit
    /// per cycle on Zen 4; 2 x 512-bit on Intel server cores) with room to spare, and fits in 16 (AVX2) or 32 registers.</summary>
    private const int Chains = 12;

    public sealed record Peak(int Threads, double Gflops512, double Gflops256)
    {
        public double Best => Math.Max(Gflops512, Gflops256);
    }

    public sealed record Triad(int Threads, double GBps);

    /// <summary>Best-of-<paramref name="repeats"/> FMA throughput with <paramref name="threads"/> threads, each running
    /// <paramref name="seconds"/> of work.</summary>
    public static Peak MeasurePeak(int threads, double seconds, int repeats)
    {
        // Calibrate: iterations per second of one thread's loop.
        FmaLoop256(1_000_000);
        long start = Stopwatch.GetTimestamp();
        FmaLoop256(4_000_000);
        double perIteration = Stopwatch.GetElapsedTime(start).TotalSeconds / 4_000_000;
        long iterations = Math.Max(1_000_000, (long)(seconds / perIteration));

        double best512 = 0, best256 = 0;
        for (int r = 0; r < repeats; r++)
        {
            if (Avx512F.IsSupported)
            {
                double t = Parallel(threads, _ => FmaLoop512(iterations / 2));
                best512 = Math.Max(best512, threads * (iterations / 2) * Chains * 16 * 2 / t / 1e9);
            }

            if (Fma.IsSupported)
            {
                double t = Parallel(threads, _ => FmaLoop256(iterations));
                best256 = Math.Max(best256, threads * iterations * Chains * 8 * 2 / t / 1e9);
            }
        }

        return new Peak(threads, best512, best256);
    }

    private static volatile float s_sink;

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void FmaLoop512(long iterations)
    {
        // acc = acc * m + a converges to a / (1 - m): finite, never denormal, and every FMA depends on the previous one
        // of its own chain only.
        var m = Vector512.Create(0.999f);
        var a = Vector512.Create(0.001f);
        Vector512<float> c0 = Vector512.Create(0.1f), c1 = Vector512.Create(0.2f), c2 = Vector512.Create(0.3f), c3 = Vector512.Create(0.4f);
        Vector512<float> c4 = Vector512.Create(0.5f), c5 = Vector512.Create(0.6f), c6 = Vector512.Create(0.7f), c7 = Vector512.Create(0.8f);
        Vector512<float> c8 = Vector512.Create(0.9f), c9 = Vector512.Create(1.0f), c10 = Vector512.Create(1.1f), c11 = Vector512.Create(1.2f);
        for (long i = 0; i < iterations; i++)
        {
            c0 = Avx512F.FusedMultiplyAdd(c0, m, a);
            c1 = Avx512F.FusedMultiplyAdd(c1, m, a);
            c2 = Avx512F.FusedMultiplyAdd(c2, m, a);
            c3 = Avx512F.FusedMultiplyAdd(c3, m, a);
            c4 = Avx512F.FusedMultiplyAdd(c4, m, a);
            c5 = Avx512F.FusedMultiplyAdd(c5, m, a);
            c6 = Avx512F.FusedMultiplyAdd(c6, m, a);
            c7 = Avx512F.FusedMultiplyAdd(c7, m, a);
            c8 = Avx512F.FusedMultiplyAdd(c8, m, a);
            c9 = Avx512F.FusedMultiplyAdd(c9, m, a);
            c10 = Avx512F.FusedMultiplyAdd(c10, m, a);
            c11 = Avx512F.FusedMultiplyAdd(c11, m, a);
        }

        s_sink = Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void FmaLoop256(long iterations)
    {
        var m = Vector256.Create(0.999f);
        var a = Vector256.Create(0.001f);
        Vector256<float> c0 = Vector256.Create(0.1f), c1 = Vector256.Create(0.2f), c2 = Vector256.Create(0.3f), c3 = Vector256.Create(0.4f);
        Vector256<float> c4 = Vector256.Create(0.5f), c5 = Vector256.Create(0.6f), c6 = Vector256.Create(0.7f), c7 = Vector256.Create(0.8f);
        Vector256<float> c8 = Vector256.Create(0.9f), c9 = Vector256.Create(1.0f), c10 = Vector256.Create(1.1f), c11 = Vector256.Create(1.2f);
        for (long i = 0; i < iterations; i++)
        {
            c0 = Fma.MultiplyAdd(c0, m, a);
            c1 = Fma.MultiplyAdd(c1, m, a);
            c2 = Fma.MultiplyAdd(c2, m, a);
            c3 = Fma.MultiplyAdd(c3, m, a);
            c4 = Fma.MultiplyAdd(c4, m, a);
            c5 = Fma.MultiplyAdd(c5, m, a);
            c6 = Fma.MultiplyAdd(c6, m, a);
            c7 = Fma.MultiplyAdd(c7, m, a);
            c8 = Fma.MultiplyAdd(c8, m, a);
            c9 = Fma.MultiplyAdd(c9, m, a);
            c10 = Fma.MultiplyAdd(c10, m, a);
            c11 = Fma.MultiplyAdd(c11, m, a);
        }

        s_sink = Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    // ---- STREAM triad ----------------------------------------------------------------------------------------

    /// <summary>Floats per triad array: 64 MiB each, 192 MiB in all (the L3 here is 32 MiB).</summary>
    public const int TriadLength = 16 * 1024 * 1024;

    /// <summary>Best-of-<paramref name="passes"/> triad bandwidth (bytes counted as STREAM does: 2 reads + 1 write per element).</summary>
    public static Triad MeasureTriad(int threads, int passes)
    {
        var a = GC.AllocateUninitializedArray<float>(TriadLength, pinned: true);
        var b = GC.AllocateUninitializedArray<float>(TriadLength, pinned: true);
        var c = GC.AllocateUninitializedArray<float>(TriadLength, pinned: true);
        // First touch from the threads that will use each half (matters on multi-socket machines only).
        Parallel(threads, t =>
        {
            var (lo, hi) = Range(t, threads);
            a.AsSpan(lo, hi - lo).Fill(0f);
            b.AsSpan(lo, hi - lo).Fill(1f);
            c.AsSpan(lo, hi - lo).Fill(2f);
        });

        double best = double.MaxValue;
        for (int p = 0; p < passes; p++)
        {
            best = Math.Min(best, Parallel(threads, t =>
            {
                var (lo, hi) = Range(t, threads);
                TriadKernel(a.AsSpan(lo, hi - lo), b.AsSpan(lo, hi - lo), c.AsSpan(lo, hi - lo), 3f);
            }));
        }

        if (a[TriadLength - 1] != 7f) throw new InvalidOperationException("triad computed a wrong value");
        return new Triad(threads, 3.0 * TriadLength * sizeof(float) / best / 1e9);
    }

    public sealed record Read(int Threads, double GBps);

    /// <summary>
    /// Best-of-<paramref name="passes"/> bandwidth of reading <paramref name="bytes"/> that stay in the caches (a
    /// model's weights: past L2, inside L3), cache-line aligned, each thread its own contiguous share, 200 times per
    /// pass: the ceiling for a model that must stream that many bytes per run.
    /// </summary>
    public static Read MeasureRead(int threads, double bytes, int passes)
    {
        const int repeats = 200;
        int floats = (int)(bytes / sizeof(float)) / (64 * threads) * (64 * threads);
        var buffer = GC.AllocateArray<float>(floats + 16, pinned: true);
        int start = (int)((64 - (long)Unsafe.ByteOffset(ref Unsafe.NullRef<float>(), ref buffer[0]) % 64) % 64) / sizeof(float);
        var data = buffer.AsMemory(start, floats);
        data.Span.Fill(1f);
        double best = double.MaxValue;
        for (int p = 0; p < passes; p++)
        {
            best = Math.Min(best, Parallel(threads, t =>
            {
                var share = data.Span.Slice(t * (floats / threads), floats / threads);
                for (int r = 0; r < repeats; r++) ReadKernel(share);
            }));
        }

        return new Read(threads, (double)floats * sizeof(float) * repeats / best / 1e9);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void ReadKernel(ReadOnlySpan<float> data)
    {
        ref float r = ref MemoryMarshal.GetReference(data);
        if (Vector512.IsHardwareAccelerated)
        {
            var s0 = Vector512<float>.Zero;
            var s1 = s0;
            var s2 = s0;
            var s3 = s0;
            for (int i = 0; i <= data.Length - 64; i += 64)
            {
                s0 += Vector512.LoadUnsafe(ref r, (nuint)i);
                s1 += Vector512.LoadUnsafe(ref r, (nuint)(i + 16));
                s2 += Vector512.LoadUnsafe(ref r, (nuint)(i + 32));
                s3 += Vector512.LoadUnsafe(ref r, (nuint)(i + 48));
            }

            s_sink = Vector512.Sum(s0 + s1 + s2 + s3);
            return;
        }

        var t0 = Vector256<float>.Zero;
        var t1 = t0;
        for (int i = 0; i <= data.Length - 16; i += 16)
        {
            t0 += Vector256.LoadUnsafe(ref r, (nuint)i);
            t1 += Vector256.LoadUnsafe(ref r, (nuint)(i + 8));
        }

        s_sink = Vector256.Sum(t0 + t1);
    }

    private static (int Lo, int Hi) Range(int t, int threads)
    {
        // Split on 64-float (256-byte) boundaries so each thread's slice stays vector-aligned.
        int chunk = (TriadLength / threads + 63) & ~63;
        return (Math.Min(TriadLength, t * chunk), Math.Min(TriadLength, (t + 1) * chunk));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TriadKernel(Span<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, float s)
    {
        ref float ra = ref MemoryMarshal.GetReference(a);
        ref float rb = ref MemoryMarshal.GetReference(b);
        ref float rc = ref MemoryMarshal.GetReference(c);
        int n = a.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vs = Vector512.Create(s);
            for (; i <= n - 32; i += 32)
            {
                var r0 = Vector512.LoadUnsafe(ref rb, (nuint)i) + vs * Vector512.LoadUnsafe(ref rc, (nuint)i);
                var r1 = Vector512.LoadUnsafe(ref rb, (nuint)(i + 16)) + vs * Vector512.LoadUnsafe(ref rc, (nuint)(i + 16));
                r0.StoreUnsafe(ref ra, (nuint)i);
                r1.StoreUnsafe(ref ra, (nuint)(i + 16));
            }
        }
        else
        {
            var vs = Vector256.Create(s);
            for (; i <= n - 8; i += 8)
            {
                (Vector256.LoadUnsafe(ref rb, (nuint)i) + vs * Vector256.LoadUnsafe(ref rc, (nuint)i)).StoreUnsafe(ref ra, (nuint)i);
            }
        }

        for (; i < n; i++) Unsafe.Add(ref ra, i) = Unsafe.Add(ref rb, i) + s * Unsafe.Add(ref rc, i);
    }

    /// <summary>Runs body(0..threads-1) on dedicated threads released together by a barrier; returns the seconds from
    /// the release to the last finish.</summary>
    private static double Parallel(int threads, Action<int> body)
    {
        if (threads == 1)
        {
            long t0 = Stopwatch.GetTimestamp();
            body(0);
            return Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }

        using var barrier = new Barrier(threads);
        var starts = new long[threads];
        var ends = new long[threads];
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int id = t;
            workers[t] = new Thread(() =>
            {
                barrier.SignalAndWait();
                starts[id] = Stopwatch.GetTimestamp();
                body(id);
                ends[id] = Stopwatch.GetTimestamp();
            });
            workers[t].Start();
        }

        foreach (var w in workers) w.Join();
        return (ends.Max() - starts.Min()) / (double)Stopwatch.Frequency;
    }

    /// <summary>The CPU's model name (Linux /proc/cpuinfo), or the OS description elsewhere.</summary>
    public static string CpuName()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return RuntimeInformation.OSDescription;
    }
}
