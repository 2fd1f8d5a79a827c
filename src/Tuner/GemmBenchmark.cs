using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Aot.Runtime.Cpu;
using Aot.Runtime.Tuning;

namespace Aot.Tuner;

/// <summary>How hard to measure.</summary>
/// <param name="Threads">Threads per product (a WorkerPool when above 1), as the app's Compile(threads).</param>
/// <param name="Quick">Few candidates and short samples: a smoke run (and the tests), not a tuning.</param>
internal sealed record TunerSettings(int Threads = 1, bool Quick = false)
{
    /// <summary>Timed samples per candidate; each sample repeats the product for at least <see cref="SampleSeconds"/>.</summary>
    public int Samples => Quick ? 3 : 7;

    public double SampleSeconds => Quick ? 0.0005 : 0.004;

    /// <summary>A candidate must beat the cost model's blocks by this fraction in the final, interleaved comparison,
    /// or the cost model's blocks are kept (differences below it are noise on a busy machine).</summary>
    public double MinGain => 0.03;
}

/// <summary>One measured (kc, mc) pair: median microseconds per product.</summary>
internal sealed record Candidate(int Kc, int Mc, double MedianUs);

/// <summary>
/// The outcome for one kernel: the blocks to write (<see cref="Kc"/>, <see cref="Mc"/>), and the final comparison of
/// the cost model's blocks with the best candidate, measured interleaved (<see cref="DefaultUs"/>, <see cref="BestUs"/>).
/// </summary>
internal sealed record KernelResult(TunableKernel Kernel, int Kc, int Mc, double DefaultUs, double BestUs, int BestKc, int BestMc, IReadOnlyList<Candidate> Candidates)
{
    public bool Changed => Kc != Kernel.Kc || Mc != Kernel.Mc;

    /// <summary>Microseconds per inference with the chosen blocks (a conv runs its product once per image and group).</summary>
    public double ChosenUs => Changed ? BestUs : DefaultUs;
}

/// <summary>
/// Benchmarks Sgemm.Multiply with candidate cache blocks on random data of a kernel's exact shape: kc over powers of
/// two and their 1.5x steps up to k (and k itself), mc over multiples of the 6-row tile up to m, searched one block at
/// a time (kc with the cost model's mc, then mc, then kc again), each candidate the median of several samples. The
/// best is then timed again against the cost model's choice, interleaved, and kept only if it wins by
/// <see cref="TunerSettings.MinGain"/>.
/// </summary>
internal sealed class GemmBenchmark : IDisposable
{
    private readonly TunerSettings _settings;
    private readonly WorkerPool? _pool;

    public GemmBenchmark(TunerSettings settings)
    {
        _settings = settings;
        _pool = settings.Threads > 1 ? new WorkerPool(settings.Threads) : null;
    }

    public void Dispose() => _pool?.Dispose();

    public static IReadOnlyList<int> KcCandidates(int k, int costModel, bool quick)
    {
        var steps = quick ? new[] { 64, 256 } : new[] { 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048 };
        return steps.Where(v => v < k).Append(k).Append(Math.Min(costModel, k)).Distinct().OrderBy(v => v).ToArray();
    }

    public static IReadOnlyList<int> McCandidates(int m, int costModel, bool quick)
    {
        const int tile = GemmLayout.TileRows;
        int all = (m + tile - 1) / tile * tile;
        var steps = quick ? new[] { 6, 48 } : new[] { 6, 12, 24, 48, 72, 96, 144, 192, 288, 384, 576, 768 };
        return steps.Where(v => v < all).Append(all).Append(Math.Min(Math.Max(tile, costModel), all)).Distinct().OrderBy(v => v).ToArray();
    }

    public KernelResult Tune(TunableKernel kernel)
    {
        var problem = new Problem(kernel.M, kernel.N, kernel.K, seed: kernel.M * 31 + kernel.N * 17 + kernel.K);
        var measured = new Dictionary<(int, int), Candidate>();
        Candidate Measure(int kc, int mc)
        {
            if (!measured.TryGetValue((kc, mc), out var c)) measured[(kc, mc)] = c = new Candidate(kc, mc, Time(problem, kc, mc));
            return c;
        }

        Time(problem, kernel.Kc, kernel.Mc); // warm caches and the code
        var best = Measure(kernel.Kc, kernel.Mc);
        var kcs = KcCandidates(kernel.K, kernel.Kc, _settings.Quick);
        var mcs = McCandidates(kernel.M, kernel.Mc, _settings.Quick);
        foreach (var pass in _settings.Quick ? new[] { "kc", "mc" } : new[] { "kc", "mc", "kc" })
        {
            var tried = pass == "kc" ? kcs.Select(kc => Measure(kc, best.Mc)) : mcs.Select(mc => Measure(best.Kc, mc));
            best = tried.Append(best).OrderBy(c => c.MedianUs).First();
        }

        // The final word: cost model vs best, interleaved so drifting machine load hits both alike.
        var (defaultUs, bestUs) = (best.Kc == kernel.Kc && best.Mc == kernel.Mc)
            ? (best.MedianUs, best.MedianUs)
            : Compare(problem, (kernel.Kc, kernel.Mc), (best.Kc, best.Mc));
        bool adopt = bestUs < defaultUs * (1 - _settings.MinGain);
        return new KernelResult(kernel, adopt ? best.Kc : kernel.Kc, adopt ? best.Mc : kernel.Mc, defaultUs, bestUs, best.Kc, best.Mc,
            measured.Values.OrderBy(c => c.Kc).ThenBy(c => c.Mc).ToArray());
    }

    private (double A, double B) Compare(Problem problem, (int Kc, int Mc) a, (int Kc, int Mc) b)
    {
        int rounds = _settings.Quick ? 2 : 5;
        var ta = new double[rounds];
        var tb = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            ta[r] = Time(problem, a.Kc, a.Mc);
            tb[r] = Time(problem, b.Kc, b.Mc);
        }

        return (Median(ta), Median(tb));
    }

    /// <summary>Median over the samples of the mean time per product, in microseconds.</summary>
    private double Time(Problem p, int kc, int mc)
    {
        // Calibrate the repetitions per sample on one call (rounded up), so short products are not timer noise.
        long start = Stopwatch.GetTimestamp();
        p.Run(kc, mc, _pool);
        double once = Math.Max(Stopwatch.GetElapsedTime(start).TotalSeconds, 1e-7);
        int reps = Math.Max(1, (int)Math.Ceiling(_settings.SampleSeconds / once));
        var samples = new double[_settings.Samples];
        for (int s = 0; s < samples.Length; s++)
        {
            start = Stopwatch.GetTimestamp();
            for (int r = 0; r < reps; r++) p.Run(kc, mc, _pool);
            samples[s] = Stopwatch.GetElapsedTime(start).TotalMicroseconds / reps;
        }

        return Median(samples);
    }

    private static double Median(double[] values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }

    /// <summary>A, packed B and C of one shape, filled once with uniform random values in [-1, 1).</summary>
    private sealed class Problem
    {
        private readonly int _m, _n, _k;
        private readonly float[] _a, _packed, _c;

        public Problem(int m, int n, int k, int seed)
        {
            (_m, _n, _k) = (m, n, k);
            var random = new Random(seed);
            _a = Fill(random, m * k);
            var b = Fill(random, k * n);
            _packed = new float[GemmLayout.PackedLength(k, n)];
            Sgemm.PackB(b, k, n, transposed: false, _packed);
            _c = new float[m * n];
        }

        public void Run(int kc, int mc, WorkerPool? pool) =>
            Sgemm.Multiply(_m, _n, _k, _a, _k, _packed, _c, _n, 1f, accumulate: false, kc, mc, pool);

        private static float[] Fill(Random random, int count)
        {
            var values = new float[count];
            for (int i = 0; i < count; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
            return values;
        }
    }
}
