using System.Diagnostics;

namespace Benchmarks;

/// <summary>Median, 90th percentile, mean and maximum of one block of timed runs, in microseconds.</summary>
internal readonly record struct Stats(double MedianUs, double P90Us, double MeanUs, double MaxUs, int Iterations)
{
    /// <summary>The median of every round, in order (the kept one is the lowest).</summary>
    public double[] RoundMediansUs { get; init; } = Array.Empty<double>();

    public static Stats Of(double[] samplesUs)
    {
        var sorted = (double[])samplesUs.Clone();
        Array.Sort(sorted);
        int n = sorted.Length;
        double median = n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
        double p90 = sorted[Math.Clamp((int)Math.Ceiling(0.9 * n) - 1, 0, n - 1)];
        return new Stats(median, p90, sorted.Average(), sorted[n - 1], n);
    }
}

/// <summary>How long to measure: the same code serves the full and the quick run.</summary>
internal sealed record TimingPlan(int Rounds, double BlockSeconds, double WarmupSeconds, int MinIterations, int MaxIterations, int PauseMs);

/// <summary>
/// Times two contenders the same way, interleaved: warm-up for both, then rounds of [A block, pause, B block, pause].
/// A block is N back-to-back calls, each timed on its own (Stopwatch timestamps; the timer costs ~20 ns, far below
/// the smallest model). The pause lets the other side's spinning worker threads go to sleep before the next block.
/// Each side keeps the round with the lower median (and that round's p90): the better round is the one least
/// disturbed by the rest of the machine.
/// </summary>
internal static class Harness
{
    public static (Stats A, Stats B, long AllocatedBytesA) Compare(Action a, Action b, TimingPlan plan)
    {
        // Warm-up and a per-call estimate. Our side needs it most: .NET starts methods at tier 0 and recompiles the hot
        // ones fully optimized in the background after ~30 calls and a 100 ms quiet period, so a few hundred
        // milliseconds of calls are needed to reach the steady state; ORT needs its first-run allocations and pools.
        // Pauses everywhere one side follows the other: the previous side's worker threads keep spinning for a while,
        // and on 2 cores a 2-thread block started right after ORT's warm-up ran 10x slower than after a pause.
        double perCallA = WarmUp(a, plan.WarmupSeconds);
        Thread.Sleep(plan.PauseMs);
        double perCallB = WarmUp(b, plan.WarmupSeconds);
        Thread.Sleep(plan.PauseMs);
        int nA = Iterations(perCallA, plan), nB = Iterations(perCallB, plan);
        var samplesA = new double[nA];
        var samplesB = new double[nB];

        Stats bestA = default, bestB = default;
        var mediansA = new double[plan.Rounds];
        var mediansB = new double[plan.Rounds];
        long allocated = 0;
        for (int round = 0; round < plan.Rounds; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            Block(a, samplesA);
            allocated = Math.Max(allocated, GC.GetTotalAllocatedBytes(precise: true) - before);
            Thread.Sleep(plan.PauseMs);
            Block(b, samplesB);
            Thread.Sleep(plan.PauseMs);

            var sa = Stats.Of(samplesA);
            var sb = Stats.Of(samplesB);
            mediansA[round] = sa.MedianUs;
            mediansB[round] = sb.MedianUs;
            if (round == 0 || sa.MedianUs < bestA.MedianUs) bestA = sa;
            if (round == 0 || sb.MedianUs < bestB.MedianUs) bestB = sb;
        }

        return (bestA with { RoundMediansUs = mediansA }, bestB with { RoundMediansUs = mediansB }, allocated);
    }

    private static void Block(Action run, double[] samplesUs)
    {
        double toUs = 1e6 / Stopwatch.Frequency;
        for (int i = 0; i < samplesUs.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            run();
            samplesUs[i] = (Stopwatch.GetTimestamp() - t0) * toUs;
        }
    }

    /// <summary>
    /// Runs at least <paramref name="seconds"/> and at least 30 calls (the tier-up threshold; capped at 2 s), then
    /// sleeps 200 ms so the background JIT can install the optimized code (it waits for a quiet period, and on a
    /// 2-core machine spinning workers would starve it), then runs a few more calls. Returns the fastest of those.
    /// </summary>
    private static double WarmUp(Action run, double seconds)
    {
        var total = Stopwatch.StartNew();
        for (int i = 0; total.Elapsed.TotalSeconds < seconds || (i < 30 && total.Elapsed.TotalSeconds < 2); i++) run();
        Thread.Sleep(200);

        double best = double.MaxValue;
        var after = Stopwatch.StartNew();
        for (int i = 0; i < 5 || after.Elapsed.TotalSeconds < seconds / 4; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            run();
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }

        return best;
    }

    private static int Iterations(double perCallSeconds, TimingPlan plan) =>
        (int)Math.Clamp(plan.BlockSeconds / Math.Max(perCallSeconds, 1e-7), plan.MinIterations, plan.MaxIterations);
}
