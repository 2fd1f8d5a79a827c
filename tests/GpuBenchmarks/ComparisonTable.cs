using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GpuBenchmarks;

/// <summary>
/// --compare: reads this program's JSON and (optionally) tests/gpu/torch_bench.py's JSON from the same GPU and prints
/// one table against the targets: GEMM at least half of PyTorch's fp32 (TF32 off) GFLOP/s; the elementwise chain at
/// least 80% of the best measured copy bandwidth; the transformer block no slower than PyTorch eager.
/// </summary>
internal static class Comparison
{
    private const double GemmTarget = 0.50, ElementwiseTarget = 0.80, BlockTarget = 1.00;

    public static int Run(Options options)
    {
        JsonObject ours;
        JsonObject? torch = null;
        try
        {
            ours = Load(options.CompareOurs!);
            if (options.CompareTorch is not null)
            {
                if (File.Exists(options.CompareTorch)) torch = Load(options.CompareTorch);
                else Console.Error.WriteLine($"warning: {options.CompareTorch} does not exist; comparing without PyTorch");
            }
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidDataException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }

        var (text, json) = Build(ours, torch);
        Console.Write(text);
        json["ours_file"] = Path.GetFullPath(options.CompareOurs!);
        json["torch_file"] = torch is null ? null : Path.GetFullPath(options.CompareTorch!);
        if (options.TextPath is not null) Write(options.TextPath, text);
        if (options.JsonPath is not null) Write(options.JsonPath, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return 0;
    }

    private static void Write(string path, string content)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, content);
    }

    private static JsonObject Load(string path)
    {
        var node = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object");
        if (node["records"] is not JsonArray) throw new InvalidDataException($"{path}: no \"records\" array");
        return node;
    }

    private static JsonObject? Record(JsonObject? root, string type, string name) =>
        (root?["records"] as JsonArray)?.OfType<JsonObject>()
            .LastOrDefault(r => (string?)r["type"] == type && (string?)r["name"] == name);

    private static double? Value(JsonObject? record, string key) =>
        record?[key] is JsonValue v && v.TryGetValue(out double d) && double.IsFinite(d) ? d : null;

    private static string? Str(JsonNode? node, string key) => node?[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    private static string F(double? v, string format) => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    private static string ErrorOf(JsonObject? root, string name) =>
        Str(Record(root, "error", name), "message") is { } m ? "error: " + (m.Length > 40 ? m[..37] + "..." : m) : "n/a";

    public static (string Text, JsonObject Json) Build(JsonObject ours, JsonObject? torch)
    {
        bool smoke = ours["small"]?.GetValue<bool>() == true || ours["mode"]?.GetValue<string>() == "cpu";
        var rows = new List<string[]>();
        var jsonRows = new JsonArray();

        void Row(string item, string metric, double? o, double? t, string? tText, double? ratio, string ratioMeaning, double? target)
        {
            string verdict = target is null || ratio is null ? "" : smoke ? "n/a" : ratio >= target ? "PASS" : "MISS";
            string oursCell = o is { } ov ? Text.Number(ov) : "";
            string torchCell = tText ?? (t is { } tv ? Text.Number(tv) : "");
            rows.Add(new[] { item, metric, oursCell, torchCell, ratio is null ? "" : F(ratio, "F2"), ratioMeaning, target is null ? "" : ">= " + F(target, "F2"), verdict });
            jsonRows.Add(new JsonObject
            {
                ["item"] = item, ["metric"] = metric, ["ours"] = Report.Num(o), ["torch"] = Report.Num(t), ["torch_text"] = tText,
                ["ratio"] = Report.Num(ratio), ["ratio_meaning"] = ratioMeaning, ["target"] = Report.Num(target),
                ["verdict"] = verdict.Length == 0 ? null : verdict,
            });
        }

        static double? Ratio(double? a, double? b) => a is { } x && b is { } y && y > 0 ? x / y : null;

        // GEMM.
        var oGemm = Record(ours, "timing", "gemm");
        var tGemm = Record(torch, "timing", "gemm");
        double? oGflops = Value(oGemm, "gflops"), tGflops = Value(tGemm, "gflops");
        string gemmItem = "GEMM " + (Str(oGemm, "description") ?? Str(tGemm, "description") ?? "").Replace("C = A @ B fp32, ", "", StringComparison.Ordinal);
        Row(gemmItem.TrimEnd() + " fp32", "GFLOP/s", oGflops, tGflops, tGemm is null ? (torch is null ? "" : ErrorOf(torch, "gemm")) : null,
            Ratio(oGflops, tGflops), "ours / torch (TF32 off)", GemmTarget);

        // Elementwise chain and copy bandwidth.
        var oChain = Record(ours, "timing", "elementwise");
        var tChain = Record(torch, "timing", "elementwise");
        double? oChainGbps = Value(oChain, "gbps"), tChainGbps = Value(tChain, "gbps");
        Row("elementwise chain relu(x*a+b)*sigmoid(x)+c", "GB/s", oChainGbps, tChainGbps, tChain is null ? (torch is null ? "" : ErrorOf(torch, "elementwise")) : null,
            Ratio(oChainGbps, tChainGbps), "ours / torch eager", null);
        double? copyKernel = Value(Record(ours, "timing", "copy_kernel"), "gbps");
        double? copyMemcpy = Value(Record(ours, "timing", "copy_memcpy"), "gbps");
        double? torchCopy = Value(Record(torch, "timing", "copy"), "gbps");
        Row("  copy bandwidth: ILGPU copy kernel", "GB/s", copyKernel, null, null, Ratio(oChainGbps, copyKernel), "ours chain / this copy", null);
        Row("  copy bandwidth: device memcpy (ILGPU)", "GB/s", copyMemcpy, null, null, Ratio(oChainGbps, copyMemcpy), "ours chain / this copy", null);
        if (torch is not null)
        {
            Row("  copy bandwidth: torch y.copy_(x)", "GB/s", null, torchCopy, null, Ratio(oChainGbps, torchCopy), "ours chain / this copy", null);
        }

        double? bestCopy = new[] { copyKernel, copyMemcpy, torchCopy }.Where(v => v is not null).Select(v => v!.Value).DefaultIfEmpty(double.NaN).Max();
        if (bestCopy is { } bc && double.IsNaN(bc)) bestCopy = null;
        Row("  elementwise chain vs best copy bandwidth", "fraction", null, null, null, Ratio(oChainGbps, bestCopy), "ours chain / best copy", ElementwiseTarget);
        if (tChainGbps is not null)
        {
            Row("  (torch eager chain vs best copy)", "fraction", null, null, null, Ratio(tChainGbps, bestCopy), "torch chain / best copy", null);
        }

        // Transformer block.
        var oBlock = Record(ours, "timing", "transformer_block");
        var tEager = Record(torch, "timing", "transformer_block_eager");
        var tCompiled = Record(torch, "timing", "transformer_block_compile");
        double? oMs = Value(oBlock, "median_ms"), eagerMs = Value(tEager, "median_ms"), compiledMs = Value(tCompiled, "median_ms");
        string blockItem = "transformer block";
        if (Str(oBlock, "description") is { } d && d.Split(':')[^1].Split(',', StringSplitOptions.TrimEntries) is { Length: >= 2 } parts)
        {
            blockItem += $" ({parts[0]}, {parts[1]})";
        }

        Row(blockItem + " vs eager", "ms", oMs, eagerMs, tEager is null ? (torch is null ? "" : ErrorOf(torch, "transformer_block_eager")) : null,
            Ratio(eagerMs, oMs), "torch eager / ours (speedup)", BlockTarget);
        Row("  transformer block vs torch.compile", "ms", oMs, compiledMs, tCompiled is null ? (torch is null ? "" : ErrorOf(torch, "transformer_block_compile")) : null,
            Ratio(compiledMs, oMs), "torch.compile / ours (speedup)", null);
        Row("  transformer block p90", "ms", Value(oBlock, "p90_ms"), Value(tEager, "p90_ms"), null, null, "(ours vs torch eager)", null);

        // Header and footer.
        var sb = new StringBuilder();
        string device = Str(ours["device"], "name") ?? "?";
        string ilgpu = Str(ours["runtime"], "ilgpu") ?? "?";
        string torchVersion = torch is null ? "not run" : $"PyTorch {Str(torch["runtime"], "torch") ?? "?"} (CUDA {Str(torch["runtime"], "cuda") ?? "?"}) on {Str(torch["device"], "name") ?? "?"}";
        sb.Append('\n').Append("=== GPU benchmark comparison ===\n");
        sb.Append($"ours:  Aot ILGPU backend, ILGPU {ilgpu}, {Str(ours["runtime"], "dotnet")} on {device}\n");
        sb.Append($"torch: {torchVersion}\n");
        if (smoke) sb.Append("NOTE: small sizes / CPU accelerator: a smoke test of the harness; ratios and targets mean nothing here.\n");
        sb.Append("times: median per run ('events' = GPU time between CUDA events around each run, as torch.cuda.Event measures).\n\n");
        sb.Append(Text.Table(new[] { "item", "metric", "ours", "torch", "ratio", "ratio means", "target", "result" }, rows));

        // Correctness and compile times.
        var records = (ours["records"] as JsonArray)!.OfType<JsonObject>().ToList();
        var checks = records.Where(r => (string?)r["type"] == "check").ToList();
        var failed = checks.Where(r => r["ok"]?.GetValue<bool>() != true).ToList();
        var errors = records.Where(r => (string?)r["type"] == "error").ToList();
        sb.Append('\n');
        sb.Append(failed.Count == 0 && errors.Count == 0
            ? $"correctness (ours): all {checks.Count} checks passed\n"
            : $"correctness (ours): {failed.Count} of {checks.Count} checks FAILED, {errors.Count} errors\n");
        foreach (var f in failed) sb.Append($"  FAILED {Str(f, "name")} {Str(f, "reference")}: max |diff| {F(Value(f, "max_abs_diff"), "E2")}\n");
        foreach (var e in errors) sb.Append($"  ERROR {Str(e, "name")} during {Str(e, "stage")}: {Str(e, "message")}\n");
        foreach (var c in records.Where(r => (string?)r["type"] == "compile"))
        {
            double? first = Value(c, "first_run_ms");
            sb.Append($"ours compile {Str(c, "name"),-18} {Str(c, "what") ?? "CompileForGpu"} {F(Value(c, "compile_ms"), "F0")} ms");
            sb.Append(first is > 0 ? $", first run (incl. any lazy initialization) {F(first, "F0")} ms\n" : "\n");
        }

        if (torch is not null)
        {
            foreach (var r in (torch["records"] as JsonArray)!.OfType<JsonObject>())
            {
                string? type = Str(r, "type");
                if (type == "compile") sb.Append($"torch compile {Str(r, "name"),-17} first call {F(Value(r, "first_call_ms"), "F0"),7} ms\n");
                if (type == "check")
                {
                    string state = r["ok"]?.GetValue<bool>() == true ? "ok" : "FAIL";
                    sb.Append($"torch check {state} {Str(r, "name")} {Str(r, "reference")}: max |diff| {F(Value(r, "max_abs_diff"), "E2")}\n");
                }

                if (type == "error") sb.Append($"torch ERROR {Str(r, "name")}: {Str(r, "message")}\n");
            }
        }

        var json = new JsonObject
        {
            ["schema"] = Report.Schema, ["suite"] = "comparison", ["device"] = device, ["smoke"] = smoke,
            ["ours_ok"] = failed.Count == 0 && errors.Count == 0, ["rows"] = jsonRows, ["text"] = sb.ToString(),
        };
        return (sb.ToString(), json);
    }
}
