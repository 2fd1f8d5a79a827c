using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GpuBenchmarks;

/// <summary>Collects the records of one benchmark run (one JSON object per measurement) and prints them.</summary>
internal sealed class Report
{
    public const string Schema = "aot-gpu-bench/1";

    private readonly JsonArray _records = new();
    private readonly List<string[]> _rows = new();

    public JsonObject Root { get; } = new();

    public bool AllChecksOk { get; private set; } = true;

    public bool AnyError { get; private set; }

    public Report()
    {
        Root["schema"] = Schema;
        Root["suite"] = "ours";
        Root["created_utc"] = DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture);
    }

    public void Compile(string name, double compileMs, double firstRunMs, string what = "CompileForGpu")
    {
        _records.Add(new JsonObject
        {
            ["type"] = "compile", ["name"] = name, ["what"] = what, ["compile_ms"] = Num(compileMs), ["first_run_ms"] = Num(firstRunMs),
        });
        Console.WriteLine(firstRunMs > 0
            ? $"  compile: {what} {compileMs,9:F1} ms, first run (incl. any lazy initialization) {firstRunMs,9:F1} ms"
            : $"  compile: {what} {compileMs,9:F1} ms");
    }

    public void Check(string name, CheckResult c)
    {
        if (!c.Ok) AllChecksOk = false;
        _records.Add(new JsonObject
        {
            ["type"] = "check", ["name"] = name, ["reference"] = c.Reference, ["compared"] = c.Compared,
            ["max_abs_diff"] = Num(c.MaxAbsDiff), ["max_rel_diff"] = Num(c.MaxRelDiff), ["worst_index"] = c.WorstIndex,
            ["atol"] = c.Atol, ["rtol"] = c.Rtol, ["ok"] = c.Ok, ["note"] = c.Note,
        });
        Console.WriteLine($"  check {(c.Ok ? "ok  " : "FAIL")} {c.Reference}: max |diff| {c.MaxAbsDiff:E2}, max rel {c.MaxRelDiff:E2} over {c.Compared} elements (atol {c.Atol:G2}, rtol {c.Rtol:G2}){(c.Ok ? "" : $", worst at flat index {c.WorstIndex}")}{(c.Note is null ? "" : $" [{c.Note}]")}");
    }

    public void Error(string name, string stage, Exception e)
    {
        AnyError = true;
        AllChecksOk = false;
        _records.Add(new JsonObject { ["type"] = "error", ["name"] = name, ["stage"] = stage, ["message"] = $"{e.GetType().Name}: {e.Message}" });
        Console.WriteLine($"  ERROR during {stage}: {e.GetType().Name}: {e.Message}");
        Console.Error.WriteLine(e);
    }

    public void Timing(string name, string description, Timing t, long flops, long bytes, string? bytesNote)
    {
        var p = t.Primary;
        double? gflops = flops > 0 ? flops / (p.Median * 1e-3) / 1e9 : null;
        double? gbps = bytes > 0 ? bytes / (p.Median * 1e-3) / 1e9 : null;
        _records.Add(new JsonObject
        {
            ["type"] = "timing", ["name"] = name, ["description"] = description,
            ["median_ms"] = Num(p.Median), ["p90_ms"] = Num(p.P90), ["min_ms"] = Num(p.Min), ["mean_ms"] = Num(p.Mean),
            ["iterations"] = p.Count, ["warmup_runs"] = t.WarmupRuns, ["method"] = t.Method,
            ["device_median_ms"] = Num(t.Device.Median), ["device_p90_ms"] = Num(t.Device.P90),
            ["wall_median_ms"] = Num(t.Wall.Median), ["wall_p90_ms"] = Num(t.Wall.P90), ["pipelined_ms"] = Num(t.PipelinedMs),
            ["flops"] = flops > 0 ? flops : null, ["gflops"] = Num(gflops),
            ["bytes"] = bytes > 0 ? bytes : null, ["bytes_note"] = bytesNote, ["gbps"] = Num(gbps), ["note"] = t.Note,
        });
        string throughput = gflops is { } g ? $"{Text.Number(g),10} GFLOP/s" : gbps is { } b ? $"{Text.Number(b),10} GB/s" : "";
        Console.WriteLine($"  time ({t.Method}): median {p.Median:F4} ms, p90 {p.P90:F4} ms over {p.Count} runs; wall median {t.Wall.Median:F4} ms; pipelined {t.PipelinedMs:F4} ms/run {throughput}{(t.Note is null ? "" : $" [{t.Note}]")}");
        _rows.Add(new[] { name, p.Median.ToString("F4", CultureInfo.InvariantCulture), p.P90.ToString("F4", CultureInfo.InvariantCulture), t.Wall.Median.ToString("F4", CultureInfo.InvariantCulture), t.PipelinedMs.ToString("F4", CultureInfo.InvariantCulture), throughput.Trim(), t.Method, p.Count.ToString(CultureInfo.InvariantCulture) });
    }

    public void PrintTable()
    {
        Console.WriteLine();
        Console.WriteLine("ours: per-run times in milliseconds (median/p90 of the primary method; 'events' = CUDA events around one run)");
        var header = new[] { "workload", "median", "p90", "wall med", "pipelined", "throughput", "method", "runs" };
        Console.Write(Text.Table(header, _rows));
    }

    public void Write(string path)
    {
        Root["records"] = _records;
        Root["ok"] = AllChecksOk;
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, Root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        Console.WriteLine($"wrote {path}");
    }

    /// <summary>JSON has no NaN or infinity: those become null.</summary>
    public static JsonNode? Num(double? value) => value is { } v && double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 6)) : null;
}

internal static class Text
{
    /// <summary>Four significant digits at most, at least one decimal: 12345.6, 123.4, 1.234, 0.01234.</summary>
    public static string Number(double v) => Math.Abs(v) switch
    {
        >= 1000 => v.ToString("F1", CultureInfo.InvariantCulture),
        >= 100 => v.ToString("F1", CultureInfo.InvariantCulture),
        >= 10 => v.ToString("F2", CultureInfo.InvariantCulture),
        >= 1 => v.ToString("F3", CultureInfo.InvariantCulture),
        _ => v.ToString("G3", CultureInfo.InvariantCulture),
    };

    /// <summary>A plain-text table: the first column left-aligned, the others right-aligned.</summary>
    public static string Table(string[] header, IEnumerable<string[]> rows)
    {
        var all = new List<string[]> { header };
        all.AddRange(rows);
        int columns = all.Max(r => r.Length);
        var width = new int[columns];
        foreach (var r in all)
        {
            for (int c = 0; c < r.Length; c++) width[c] = Math.Max(width[c], r[c].Length);
        }

        var sb = new StringBuilder();
        for (int i = 0; i < all.Count; i++)
        {
            var r = all[i];
            var cells = new string[columns];
            for (int c = 0; c < columns; c++)
            {
                string cell = c < r.Length ? r[c] : "";
                cells[c] = c == 0 ? cell.PadRight(width[c]) : cell.PadLeft(width[c]);
            }

            sb.Append(string.Join("  ", cells).TrimEnd()).Append('\n');
            if (i == 0) sb.Append(new string('-', width.Sum() + 2 * (columns - 1))).Append('\n');
        }

        return sb.ToString();
    }
}
