using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using System.Text.Json.Nodes;

namespace Benchmarks;

/// <summary>The readable table and the JSON file.</summary>
internal static class Report
{
    public static void PrintTable(IReadOnlyList<Result> results, IReadOnlyDictionary<int, Machine.Peak> peaks, IReadOnlyDictionary<int, Machine.Triad> triads)
    {
        var header = new[] { "model", "thr", "ours thr", "ours us", "ours p90", "ORT us", "ORT p90", "ours/ORT", "ours GF/s", "% peak", "ORT GF/s", "ORT % peak", "BW frac ours/ORT", "other load" };
        var rows = new List<string[]> { header };
        foreach (var r in results)
        {
            bool memoryBound = r.Bytes > 0;
            rows.Add(new[]
            {
                r.Model, r.Threads.ToString(), r.OursThreads.ToString(),
                r.Ours.MedianUs.ToString("F1"), r.Ours.P90Us.ToString("F1"), r.Ort.MedianUs.ToString("F1"), r.Ort.P90Us.ToString("F1"),
                r.Ratio.ToString("F2"),
                r.Flops > 0 ? r.OursGflops.ToString("F1") : "-",
                r.Flops > 0 ? Percent(r.OursGflops / peaks[r.OursThreads].Best) : "-",
                r.Flops > 0 ? r.OrtGflops.ToString("F1") : "-",
                r.Flops > 0 ? Percent(r.OrtGflops / peaks[r.Threads].Best) : "-",
                memoryBound ? $"{r.OursGBps / triads[r.OursThreads].GBps:F2} / {r.OrtGBps / triads[r.Threads].GBps:F2}" : "-",
                r.OtherLoad is { } load ? Percent(load) + (load > NoisyLoad ? " !" : "") : "n/a",
            });
        }

        var widths = Enumerable.Range(0, header.Length).Select(c => rows.Max(row => row[c].Length)).ToArray();
        var sb = new StringBuilder();
        for (int i = 0; i < rows.Count; i++)
        {
            sb.Append("| ");
            for (int c = 0; c < header.Length; c++)
            {
                sb.Append(c == 0 ? rows[i][c].PadRight(widths[c]) : rows[i][c].PadLeft(widths[c])).Append(" | ");
            }

            sb.Length--;
            sb.AppendLine();
            if (i == 0) sb.AppendLine("|" + string.Join("|", widths.Select((w, c) => c == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":")) + "|");
        }

        Console.Write(sb.ToString());
        Console.WriteLine("us = median latency in microseconds (p90 beside it); ours/ORT < 1 means ours is faster; % peak is against the measured");
        Console.WriteLine("FMA peak at the thread count that side used (GF/s count the direct algorithm's FLOPs: Winograd convolutions can pass 100%);");
        Console.WriteLine("BW frac = achieved bytes/s over the STREAM triad at that thread count;");
        Console.WriteLine($"other load = CPU share other processes used while the record ran (\"!\" above {100 * NoisyLoad:F0}%: distrust that row).");
        foreach (var r in results.Where(r => r.WeightsFloorUs is not null))
        {
            Console.WriteLine($"{r.Model} at {r.Threads} thr: its {r.WeightBytes / 1e6:F2} MB of weights take {r.WeightsFloorUs:F1} us to read at the fastest read measured " +
                              $"({r.WeightsRead!.GBps:F1} GB/s, same run): ours {r.Ours.MedianUs:F1} us = {r.WeightsFloorUs / r.Ours.MedianUs:P0} of that floor's speed, ORT {r.Ort.MedianUs:F1} us.");
        }
    }

    /// <summary>Above this share of the machine used by other processes a record is flagged as noisy.</summary>
    public const double NoisyLoad = 0.10;

    private static string Percent(double fraction) => (100 * fraction).ToString("F1") + "%";

    public static JsonObject Json(IReadOnlyList<Result> results, IReadOnlyDictionary<int, Machine.Peak> peaks, IReadOnlyDictionary<int, Machine.Triad> triads,
        Options options, TimingPlan plan, IReadOnlyList<string> failures)
    {
        var peakJson = new JsonObject();
        var peak512 = new JsonObject();
        var peak256 = new JsonObject();
        var triadJson = new JsonObject();
        foreach (var (t, p) in peaks.OrderBy(kv => kv.Key))
        {
            peakJson[t.ToString()] = Round(p.Best);
            peak512[t.ToString()] = Round(p.Gflops512);
            peak256[t.ToString()] = Round(p.Gflops256);
        }

        foreach (var (t, tr) in triads.OrderBy(kv => kv.Key)) triadJson[t.ToString()] = Round(tr.GBps);

        var records = new JsonArray();
        foreach (var r in results)
        {
            var rec = new JsonObject
            {
                ["model"] = r.Model,
                ["threads"] = r.Threads,
                ["ours_threads"] = r.OursThreads,
                ["ours_us"] = Round(r.Ours.MedianUs),
                ["ours_p90_us"] = Round(r.Ours.P90Us),
                ["ort_us"] = Round(r.Ort.MedianUs),
                ["ort_p90_us"] = Round(r.Ort.P90Us),
                ["ratio"] = Round(r.Ratio, 4),
                ["flops"] = r.Flops,
                ["gflops"] = r.Flops > 0 ? Round(r.OursGflops) : null,
                ["peak_fraction"] = r.Flops > 0 ? Round(r.OursGflops / peaks[r.OursThreads].Best, 4) : null,
                ["ort_gflops"] = r.Flops > 0 ? Round(r.OrtGflops) : null,
                ["ort_peak_fraction"] = r.Flops > 0 ? Round(r.OrtGflops / peaks[r.Threads].Best, 4) : null,
            };
            if (r.Bytes > 0)
            {
                rec["bytes"] = r.Bytes;
                rec["gbps"] = Round(r.OursGBps);
                rec["bandwidth_fraction"] = Round(r.OursGBps / triads[r.OursThreads].GBps, 4);
                rec["ort_gbps"] = Round(r.OrtGBps);
                rec["ort_bandwidth_fraction"] = Round(r.OrtGBps / triads[r.Threads].GBps, 4);
            }

            if (r.WeightsFloorUs is { } floor)
            {
                rec["weight_bytes"] = r.WeightBytes;
                rec["weights_read_gbps"] = Round(r.WeightsRead!.GBps);
                rec["weights_read_floor_us"] = Round(floor);
            }

            rec["iterations"] = new JsonObject { ["ours"] = r.Ours.Iterations, ["ort"] = r.Ort.Iterations };
            rec["mean_us"] = new JsonObject { ["ours"] = Round(r.Ours.MeanUs), ["ort"] = Round(r.Ort.MeanUs) };
            rec["max_us"] = new JsonObject { ["ours"] = Round(r.Ours.MaxUs), ["ort"] = Round(r.Ort.MaxUs) };
            rec["round_medians_us"] = new JsonObject
            {
                ["ours"] = new JsonArray(r.Ours.RoundMediansUs.Select(v => (JsonNode?)Round(v)).ToArray()),
                ["ort"] = new JsonArray(r.Ort.RoundMediansUs.Select(v => (JsonNode?)Round(v)).ToArray()),
            };
            rec["max_abs_diff"] = r.MaxAbsDiff;
            rec["tolerance"] = r.Tolerance;
            rec["ours_alloc_bytes_per_run"] = r.OursAllocatedBytes;
            rec["other_cpu_fraction"] = r.OtherLoad is { } load ? Round(load, 3) : null;
            rec["noisy"] = r.OtherLoad > NoisyLoad;
            records.Add(rec);
        }

        return new JsonObject
        {
            ["machine"] = new JsonObject
            {
                ["cpu"] = Machine.CpuName(),
                ["cores"] = Environment.ProcessorCount,
                ["os"] = RuntimeInformation.OSDescription,
                ["dotnet"] = Environment.Version.ToString(),
                ["vector512"] = Vector512.IsHardwareAccelerated,
                ["ort_version"] = OrtRunner.Version,
                ["peak_gflops"] = peakJson,
                ["peak_gflops_512bit"] = peak512,
                ["peak_gflops_256bit"] = peak256,
                ["triad_gbps"] = triadJson,
                ["triad_bytes_per_pass"] = 3.0 * Machine.TriadLength * sizeof(float),
            },
            ["settings"] = new JsonObject
            {
                ["quick"] = options.Quick,
                ["rounds"] = plan.Rounds,
                ["block_seconds"] = plan.BlockSeconds,
                ["selection"] = "per side, the round with the lower median (its p90 alongside)",
                ["ort"] = "CPU provider, intra-op threads = threads, inter-op 1, sequential, ORT_ENABLE_ALL, model loaded from memory; session.Run(RunOptions, names, OrtValues over pinned arrays)",
                ["flops"] = "2 per multiply-add of matmuls and convolutions; elementwise, softmax, norms, pooling ignored",
                ["bytes"] = "memory-bound models: compulsory traffic, every array read or written once (STREAM convention)",
            },
            ["results"] = records,
            ["failures"] = new JsonArray(failures.Select(f => (JsonNode?)JsonValue.Create(f)).ToArray()),
        };
    }

    private static double Round(double v, int digits = 2) => Math.Round(v, digits);
}
