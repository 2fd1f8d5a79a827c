using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Text;

namespace Aot.Tuner;

/// <summary>
/// The tuning file (what the generator reads: one line per kernel, models in ordinal order, kernels in graph order,
/// each line's measurements as a trailing comment) and the console table.
/// </summary>
internal static class TuningReport
{
    public static string TuningFile(IReadOnlyList<KernelResult> results, string assemblyName, TunerSettings settings)
    {
        var sb = new StringBuilder();
        sb.Append("# Aot tuning file: GEMM cache blocks measured by the tuner (src/Tuner) for ").Append(assemblyName).Append('\n');
        sb.Append("# The generator reads it as an AdditionalFile (AotTuningFile, or any *.aot-tuning): same file, same code.\n");
        sb.Append("# machine: ").Append(Machine()).Append('\n');
        sb.Append("# measured: ").Append(settings.Threads).Append(settings.Threads == 1 ? " thread" : " threads")
          .Append(", median of ").Append(settings.Samples).Append(" samples per candidate").Append(settings.Quick ? " (--quick: a smoke run, not a tuning)" : "")
          .Append("; a candidate replaces the cost model's blocks only when ").Append(Pct(settings.MinGain)).Append(" faster\n");
        sb.Append("# <model>/<kernel> <kind> m= n= k= kc= mc=    # cost model's blocks and time per product -> this line's\n");
        foreach (var r in results)
        {
            sb.Append(r.Kernel.TuningLine(r.Kc, r.Mc)).Append("    # cost model kc=").Append(r.Kernel.Kc).Append(" mc=").Append(r.Kernel.Mc)
              .Append(": ").Append(Us(r.DefaultUs));
            if (r.Changed) sb.Append(" -> ").Append(Us(r.BestUs)).Append(" (").Append(Pct(1 - r.BestUs / r.DefaultUs)).Append(" faster)");
            else if (r.BestKc != r.Kernel.Kc || r.BestMc != r.Kernel.Mc) sb.Append("; best kc=").Append(r.BestKc).Append(" mc=").Append(r.BestMc).Append(' ').Append(Us(r.BestUs)).Append(" (kept the cost model's)");
            else sb.Append(" (the best measured)");
            sb.Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>A table per kernel and, per model, the GEMM time of one inference (each product times its calls).</summary>
    public static string Table(IReadOnlyList<KernelResult> results)
    {
        var sb = new StringBuilder();
        sb.Append(string.Format(CultureInfo.InvariantCulture, "{0,-40} {1,-5} {2,20} {3,5} {4,12} {5,11} {6,12} {7,11} {8,8}\n",
            "kernel", "kind", "m x n x k", "calls", "cost model", "us", "tuned", "us", "gain"));
        foreach (var r in results)
        {
            sb.Append(string.Format(CultureInfo.InvariantCulture, "{0,-40} {1,-5} {2,20} {3,5} {4,12} {5,11:F1} {6,12} {7,11:F1} {8,8}\n",
                r.Kernel.Model + "/" + r.Kernel.Name, r.Kernel.Kind, $"{r.Kernel.M}x{r.Kernel.N}x{r.Kernel.K}", r.Kernel.Calls,
                $"{r.Kernel.Kc}/{r.Kernel.Mc}", r.DefaultUs, $"{r.Kc}/{r.Mc}", r.ChosenUs, Pct(1 - r.ChosenUs / r.DefaultUs)));
        }

        foreach (var model in results.GroupBy(r => r.Kernel.Model))
        {
            double before = model.Sum(r => r.DefaultUs * r.Kernel.Calls), after = model.Sum(r => r.ChosenUs * r.Kernel.Calls);
            sb.Append(string.Format(CultureInfo.InvariantCulture, "{0}: GEMM time per inference {1:F1} us with the cost model's blocks, {2:F1} us tuned ({3})\n",
                model.Key, before, after, Pct(1 - after / before)));
        }

        return sb.ToString();
    }

    public static string Machine()
    {
        string isa = Avx512F.IsSupported ? "AVX-512F" : Avx2.IsSupported && Fma.IsSupported ? "AVX2+FMA" : RuntimeInformation.ProcessArchitecture.ToString();
        return $"{CpuName()}, {RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} logical cores, {isa}, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}";
    }

    private static string CpuName()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                if (line is not null) return line.Substring(line.IndexOf(':') + 1).Trim();
            }
        }
        catch (IOException)
        {
        }

        return Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") ?? "unknown CPU";
    }

    private static string Us(double us) => us.ToString("F1", CultureInfo.InvariantCulture) + " us";

    private static string Pct(double fraction) => (fraction * 100).ToString("F1", CultureInfo.InvariantCulture) + "%";
}
