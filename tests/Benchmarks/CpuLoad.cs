using System.Diagnostics;

namespace Benchmarks;

/// <summary>
/// How much CPU other processes used while a record was measured: (all CPU time the machine spent busy, from
/// /proc/stat) minus (this process's CPU time), over (wall time x cores). On a shared machine this says which records
/// to distrust; 0 means nothing else ran. Linux only (null elsewhere). Resolution is the kernel's tick (10 ms), so
/// it is meaningful over the seconds a record takes.
/// </summary>
internal readonly struct CpuLoad
{
    private readonly long _machineBusyTicks;
    private readonly TimeSpan _processCpu;
    private readonly long _timestamp;
    private readonly bool _valid;

    private CpuLoad(long machineBusyTicks, TimeSpan processCpu, long timestamp, bool valid)
    {
        _machineBusyTicks = machineBusyTicks;
        _processCpu = processCpu;
        _timestamp = timestamp;
        _valid = valid;
    }

    /// <summary>USER_HZ: /proc/stat counts in 1/100 s on every Linux configuration .NET runs on.</summary>
    private const double TicksPerSecond = 100;

    public static CpuLoad Sample()
    {
        long busy = ReadMachineBusyTicks();
        return new CpuLoad(busy, Process.GetCurrentProcess().TotalProcessorTime, Stopwatch.GetTimestamp(), busy >= 0);
    }

    /// <summary>The fraction of the machine (0..1) that other processes used since <paramref name="start"/>.</summary>
    public static double? OtherFractionSince(CpuLoad start)
    {
        var end = Sample();
        if (!start._valid || !end._valid) return null;
        double wall = (end._timestamp - start._timestamp) / (double)Stopwatch.Frequency;
        if (wall <= 0) return null;
        double machine = (end._machineBusyTicks - start._machineBusyTicks) / TicksPerSecond;
        double ours = (end._processCpu - start._processCpu).TotalSeconds;
        return Math.Clamp((machine - ours) / (wall * Environment.ProcessorCount), 0, 1);
    }

    /// <summary>user + nice + system + irq + softirq + steal jiffies of the "cpu" line (steal counts: the host took
    /// the core from us), or -1 where /proc/stat is not readable.</summary>
    private static long ReadMachineBusyTicks()
    {
        try
        {
            using var reader = new StreamReader("/proc/stat");
            var line = reader.ReadLine();
            if (line is null || !line.StartsWith("cpu ", StringComparison.Ordinal)) return -1;
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // cpu user nice system idle iowait irq softirq steal ...
            long Field(int i) => i < f.Length && long.TryParse(f[i], out long v) ? v : 0;
            return Field(1) + Field(2) + Field(3) + Field(6) + Field(7) + Field(8);
        }
        catch (IOException)
        {
            return -1;
        }
        catch (UnauthorizedAccessException)
        {
            return -1;
        }
    }
}
