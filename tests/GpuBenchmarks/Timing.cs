using System.Diagnostics;
using ILGPU.Runtime;

namespace GpuBenchmarks;

/// <summary>Order statistics of a set of per-iteration times, in milliseconds.</summary>
internal sealed record Stats(double Median, double P90, double Min, double Mean, int Count)
{
    public static Stats Of(IReadOnlyList<double> samples)
    {
        var sorted = samples.Where(s => !double.IsNaN(s)).OrderBy(s => s).ToArray();
        if (sorted.Length == 0) return new Stats(double.NaN, double.NaN, double.NaN, double.NaN, 0);
        int n = sorted.Length;
        double median = n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
        double p90 = sorted[Math.Clamp((int)Math.Ceiling(0.9 * n) - 1, 0, n - 1)];
        return new Stats(median, p90, sorted[0], sorted.Average(), n);
    }
}

/// <summary>
/// How one workload was timed. Each timed iteration is: profiling marker, enqueue one run on device views, profiling
/// marker, Synchronize. <see cref="Device"/> is the time between the two markers (CUDA events on the default stream,
/// the same thing torch.cuda.Event measures); <see cref="Wall"/> is the host's view of enqueue + Synchronize (launch and
/// synchronization overhead included). <see cref="PipelinedMs"/> is the mean of back-to-back runs with one
/// synchronization at the end. <see cref="Primary"/> is what the tables report: the device time when the markers are
/// available and consistent with the wall time, else the wall time.
/// </summary>
internal sealed record Timing(Stats Device, Stats Wall, double PipelinedMs, int WarmupRuns, string Method, string? Note)
{
    public Stats Primary => Method == "events" ? Device : Wall;
}

internal sealed class TimingOptions
{
    public int Warmup { get; init; } = 3;
    public double MinWarmupSeconds { get; init; } = 0.25;
    public double BudgetSeconds { get; init; } = 3;
    public int? Iterations { get; init; }
    public int MinIterations { get; init; } = 10;
    public int MaxIterations { get; init; } = 200;
}

internal static class Timer
{
    private static double Ms(long startTimestamp) => Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds;

    /// <summary>Times <paramref name="enqueue"/> (which must only enqueue work) followed by <paramref name="synchronize"/>.</summary>
    public static Timing Measure(Accelerator accelerator, Action enqueue, Action synchronize, TimingOptions options)
    {
        // Warm-up: at least options.Warmup runs and MinWarmupSeconds, which also estimates the time of one run.
        long warmStart = Stopwatch.GetTimestamp();
        int warm = 0;
        while (warm < options.Warmup || (Stopwatch.GetElapsedTime(warmStart).TotalSeconds < options.MinWarmupSeconds && warm < 10_000))
        {
            enqueue();
            synchronize();
            warm++;
        }

        double perRunSeconds = warm == 0 ? 0 : Stopwatch.GetElapsedTime(warmStart).TotalSeconds / warm;
        int n = options.Iterations ?? (perRunSeconds <= 0
            ? options.MaxIterations
            : (int)Math.Clamp(options.BudgetSeconds / perRunSeconds, options.MinIterations, options.MaxIterations));

        bool markers = true;
        string? note = null;
        var device = new double[n];
        var wall = new double[n];
        var stream = accelerator.DefaultStream;
        for (int i = 0; i < n; i++)
        {
            ProfilingMarker? start = null, end = null;
            try
            {
                if (markers)
                {
                    try
                    {
                        start = stream.AddProfilingMarker();
                    }
                    catch (Exception e) when (e is NotSupportedException or InvalidOperationException)
                    {
                        markers = false;
                        note = "profiling markers unavailable (" + e.GetType().Name + "): wall-clock timing";
                    }
                }

                long t0 = Stopwatch.GetTimestamp();
                enqueue();
                if (markers) end = stream.AddProfilingMarker();
                synchronize();
                wall[i] = Ms(t0);
                if (start is not null && end is not null)
                {
                    end.Synchronize();
                    device[i] = end.MeasureFrom(start).TotalMilliseconds;
                }
                else
                {
                    device[i] = double.NaN;
                }
            }
            finally
            {
                start?.Dispose();
                end?.Dispose();
            }
        }

        // Back-to-back: the launch overhead overlaps the previous run's execution, as in a serving loop.
        int pipelined = Math.Clamp(n, 3, 50);
        long p0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < pipelined; i++) enqueue();
        synchronize();
        double pipelinedMs = Ms(p0) / pipelined;

        var deviceStats = Stats.Of(device);
        var wallStats = Stats.Of(wall);
        string method = "wall";
        if (markers && deviceStats.Count == n)
        {
            // Markers sit on the accelerator's default stream. If the model ran on a stream that does not order with it,
            // they would bracket nothing: then the device time is far below the wall time of the same iterations.
            bool consistent = deviceStats.Median >= 0.5 * wallStats.Median || wallStats.Median < 0.05;
            if (consistent)
            {
                method = "events";
            }
            else
            {
                note = $"profiling markers measured {deviceStats.Median:F4} ms against {wallStats.Median:F4} ms wall: they do not bracket the model's stream; wall-clock timing";
            }
        }

        return new Timing(deviceStats, wallStats, pipelinedMs, warm, method, note);
    }
}
