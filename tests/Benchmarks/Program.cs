using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Benchmarks;

// CPU benchmark: our generated code vs ONNX Runtime (CPU provider), same process, same weights, same input.
//   dotnet run -c Release --project tests/Benchmarks -- --json results.json [--quick]
// See tests/Benchmarks/README.md for what is measured and how.

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

Options options;
try
{
    options = Options.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine("error: " + e.Message);
    Console.Error.WriteLine(Options.Usage);
    return 2;
}

if (options.Help)
{
    Console.WriteLine(Options.Usage);
    return 0;
}

return Benchmark.Run(options);

namespace Benchmarks
{
    internal sealed class Options
    {
        public const string Usage = """
            usage: dotnet run -c Release --project tests/Benchmarks -- [options]
              --json PATH         write the results as JSON
              --quick             few iterations (a smoke run, under a minute)
              --models a,b,...    only these models (gemm512, gemm1024, mlp_b1, mlp_b64, lenet5, small_cnn,
                                  transformer_block, elementwise_chain)
              --threads 1,2       thread counts to measure (default 1,2): ORT's intra-op threads and ours
              --rounds N          interleaved rounds per (model, threads) (default 3, quick 2)
              --block-seconds S   seconds per timed block of one side (default 0.6, quick 0.05)
              --onnx-dir DIR      also write the exported .onnx files there (ORT loads them from memory)
              --startup-only      only the time to the first result (mlp_b1: ORT session + first run vs ours
                                  construct + load + compile + first run, and the NativeAOT sample if published)
              --no-startup        skip that measurement (it runs first whenever mlp_b1 is selected)
              --aot-binary PATH   the NativeAOT-published samples/Mlp (default: artifacts/mlp-aot/Mlp; publish with
                                  dotnet publish samples/Mlp -c Release -r linux-x64 -p:PublishAot=true
                                  -p:IlcInstructionSet=x86-64-v3 -o artifacts/mlp-aot)
            """;

        public string? JsonPath { get; private set; }
        public bool Quick { get; private set; }
        public bool Help { get; private set; }
        public string[]? Models { get; private set; }
        public int[] Threads { get; private set; } = { 1, 2 };
        public int? Rounds { get; private set; }
        public double? BlockSeconds { get; private set; }
        public string? OnnxDir { get; private set; }
        public bool StartupOnly { get; private set; }
        public bool NoStartup { get; private set; }
        public string? AotBinary { get; private set; }

        /// <summary>The time-to-first-result measurement runs when mlp_b1 is among the models.</summary>
        public bool Startup => !NoStartup && (StartupOnly || Models is null || Models.Contains("mlp_b1"));

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--json": o.JsonPath = Value(); break;
                    case "--quick": o.Quick = true; break;
                    case "-h" or "--help": o.Help = true; break;
                    case "--models":
                        o.Models = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                        var unknown = o.Models.Where(m => !Cases.All.Any(c => c.Name == m)).ToArray();
                        if (unknown.Length > 0) throw new ArgumentException($"unknown model(s): {string.Join(", ", unknown)}");
                        break;
                    case "--threads":
                        o.Threads = Value().Split(',').Select(s => int.TryParse(s, out int t) && t >= 1 ? t : throw new ArgumentException($"bad thread count '{s}'")).Distinct().ToArray();
                        break;
                    case "--rounds":
                        o.Rounds = int.TryParse(Value(), out int r) && r >= 1 ? r : throw new ArgumentException("--rounds needs a positive integer");
                        break;
                    case "--block-seconds":
                        o.BlockSeconds = double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s > 0 ? s : throw new ArgumentException("--block-seconds needs a positive number");
                        break;
                    case "--onnx-dir": o.OnnxDir = Value(); break;
                    case "--startup-only": o.StartupOnly = true; break;
                    case "--no-startup": o.NoStartup = true; break;
                    case "--aot-binary": o.AotBinary = Value(); break;
                    default: throw new ArgumentException($"unknown argument '{args[i]}'");
                }
            }

            return o;
        }
    }

    /// <summary>One line of the results: a model at a thread count.</summary>
    internal sealed record Result(
        string Model, int Threads, int OursThreads, double Flops, double Bytes,
        Stats Ours, Stats Ort, double MaxAbsDiff, double Tolerance, long OursAllocatedBytes, double? OtherLoad)
    {
        /// <summary>For a model with <see cref="BenchCase.WeightBytes"/>: the fastest read of its weights at this thread count.</summary>
        public Machine.Read? WeightsRead { get; init; }

        public double WeightBytes { get; init; }

        /// <summary>The time its weights take to read at <see cref="WeightsRead"/>: no run can be faster.</summary>
        public double? WeightsFloorUs => WeightsRead is { } read ? WeightBytes / (read.GBps * 1e3) : null;

        public double Ratio => Ours.MedianUs / Ort.MedianUs;
        public double OursGflops => Flops / (Ours.MedianUs * 1e3);
        public double OrtGflops => Flops / (Ort.MedianUs * 1e3);
        public double OursGBps => Bytes / (Ours.MedianUs * 1e3);
        public double OrtGBps => Bytes / (Ort.MedianUs * 1e3);
    }

    internal static class Benchmark
    {
        public static int Run(Options options)
        {
            var total = Stopwatch.StartNew();
            var plan = options.Quick
                ? new TimingPlan(Rounds: options.Rounds ?? 2, BlockSeconds: options.BlockSeconds ?? 0.05, WarmupSeconds: 0.2, MinIterations: 3, MaxIterations: 2_000, PauseMs: 20)
                : new TimingPlan(Rounds: options.Rounds ?? 3, BlockSeconds: options.BlockSeconds ?? 0.6, WarmupSeconds: 0.4, MinIterations: 10, MaxIterations: 50_000, PauseMs: 50);

            // 0. Time to the first result, before anything else loads ORT or JIT-compiles our runtime (see Startup).
            JsonObject? startup = null;
            if (options.Startup)
            {
                try
                {
                    startup = Startup.Run(options.Quick, options.AotBinary);
                }
                catch (MismatchException e)
                {
                    Console.Error.WriteLine($"FAILED {e.Message}");
                    return 1;
                }
            }

            Console.WriteLine($"Aot CPU benchmark vs ONNX Runtime {OrtRunner.Version} ({(options.Quick ? "quick" : "full")} run)");
            Console.WriteLine($"cpu: {Machine.CpuName()}, {Environment.ProcessorCount} logical cores, .NET {Environment.Version}, " +
                              $"Vector512 {(Vector512.IsHardwareAccelerated ? "yes" : "no")}");

            if (startup is not null) Startup.Print(startup);
            if (options.StartupOnly)
            {
                if (options.JsonPath is { } startupPath)
                {
                    var only = new JsonObject { ["machine"] = new JsonObject { ["cpu"] = Machine.CpuName(), ["cores"] = Environment.ProcessorCount, ["ort_version"] = OrtRunner.Version, ["dotnet"] = Environment.Version.ToString() }, ["startup"] = startup };
                    File.WriteAllText(startupPath, only.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                    Console.WriteLine($"wrote {Path.GetFullPath(startupPath)}");
                }

                return 0;
            }

            // 1. The machine's ceilings, at every thread count the records use; measured again at the end, keeping the
            //    better of the two (a ceiling measured while something else ran would flatter every fraction).
            string loadBefore = LoadAverage();
            var peaks = new Dictionary<int, Machine.Peak>();
            var triads = new Dictionary<int, Machine.Triad>();
            void MeasureMachine(bool print)
            {
                foreach (int t in options.Threads.Order())
                {
                    var p = Machine.MeasurePeak(t, seconds: options.Quick ? 0.05 : 0.25, repeats: options.Quick ? 2 : 3);
                    var tr = Machine.MeasureTriad(t, passes: options.Quick ? 3 : 10);
                    if (print)
                    {
                        Console.WriteLine($"threads {t}: peak FMA {p.Gflops512:F1} GFLOP/s (512-bit), {p.Gflops256:F1} GFLOP/s (256-bit); " +
                                          $"STREAM triad {tr.GBps:F1} GB/s");
                    }

                    peaks[t] = peaks.TryGetValue(t, out var old) && old.Best > p.Best ? old : p;
                    triads[t] = triads.TryGetValue(t, out var oldTr) && oldTr.GBps > tr.GBps ? oldTr : tr;
                }
            }

            MeasureMachine(print: true);

            // Short spot checks of the ceilings between models: on a shared machine the first and last measurements can
            // both land in someone else's busy spell, and only the maximum over the run is the machine's ceiling.
            void SpotCheckMachine()
            {
                foreach (int t in options.Threads.Order())
                {
                    var p = Machine.MeasurePeak(t, seconds: 0.05, repeats: 1);
                    if (p.Best > peaks[t].Best) peaks[t] = p;
                }
            }

            // 2. The models.
            if (options.OnnxDir is { } dir)
            {
                Directory.CreateDirectory(dir);
                Console.WriteLine($"onnx files: {dir}");
            }

            var results = new List<Result>();
            var failures = new List<string>();
            foreach (var (name, create) in Cases.All)
            {
                if (options.Models is { } only && !only.Contains(name)) continue;
                var sw = Stopwatch.StartNew();
                var bench = create();
                byte[] onnx = bench.Onnx();
                if (options.OnnxDir is { } onnxDir) File.WriteAllBytes(Path.Combine(onnxDir, name + ".onnx"), onnx);
                foreach (int t in options.Threads)
                {
                    try
                    {
                        var r = RunOne(bench, onnx, t, plan);
                        if (bench.WeightBytes > 0) r = r with { WeightBytes = bench.WeightBytes, WeightsRead = Machine.MeasureRead(t, bench.WeightBytes, passes: options.Quick ? 3 : 20) };
                        results.Add(r);
                        Console.WriteLine($"  {name,-18} threads {t} (ours {r.OursThreads}): ours {r.Ours.MedianUs,10:F1} us  ort {r.Ort.MedianUs,10:F1} us  " +
                                          $"ratio {r.Ratio,5:F2}  max|diff| {r.MaxAbsDiff:E1}  other load {(r.OtherLoad is { } l ? $"{100 * l:F0}%" : "n/a")}  [{sw.Elapsed.TotalSeconds:F1} s]");
                    }
                    catch (MismatchException e)
                    {
                        failures.Add(e.Message);
                        Console.Error.WriteLine($"FAILED {e.Message}");
                    }
                }

                GC.Collect();
                GC.WaitForPendingFinalizers();
                SpotCheckMachine();
            }

            MeasureMachine(print: false);
            string loadAfter = LoadAverage();
            Console.WriteLine();
            Report.PrintTable(results, peaks, triads);
            Console.WriteLine($"machine: peak FMA {string.Join(", ", peaks.OrderBy(p => p.Key).Select(p => $"{p.Value.Best:F1} GFLOP/s ({p.Key} thr)"))}; " +
                              $"STREAM triad {string.Join(", ", triads.OrderBy(p => p.Key).Select(p => $"{p.Value.GBps:F1} GB/s ({p.Key} thr)"))}; " +
                              $"ORT {OrtRunner.Version}; load average {loadBefore} -> {loadAfter}");
            if (peaks.TryGetValue(1, out var p1) && peaks.TryGetValue(2, out var p2) && p2.Best < 1.6 * p1.Best)
            {
                Console.WriteLine($"warning: 2 threads reach only {p2.Best / p1.Best:F2}x the 1-thread FMA peak: the second core was busy " +
                                  "(another process) or is an SMT sibling; 2-thread numbers are unreliable.");
            }
            if (options.JsonPath is { } path)
            {
                var json = Report.Json(results, peaks, triads, options, plan, failures);
                json["machine"]!["load_average_before"] = loadBefore;
                json["machine"]!["load_average_after"] = loadAfter;
                if (startup is not null) json["startup"] = startup;
                File.WriteAllText(path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                Console.WriteLine($"wrote {Path.GetFullPath(path)}");
            }

            Console.WriteLine($"total {total.Elapsed.TotalSeconds:F0} s");
            if (failures.Count > 0)
            {
                Console.Error.WriteLine($"{failures.Count} correctness failure(s): ours and ONNX Runtime disagree; these were not timed:");
                foreach (var f in failures) Console.Error.WriteLine("  " + f);
                return 1;
            }

            return 0;
        }

        /// <summary>The 1/5/15-minute load averages (Linux), to judge whether other processes competed for the cores.</summary>
        private static string LoadAverage()
        {
            try
            {
                return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
            }
            catch (IOException)
            {
                return "n/a";
            }
            catch (UnauthorizedAccessException)
            {
                return "n/a";
            }
        }

        private static Result RunOne(BenchCase bench, byte[] onnx, int threads, TimingPlan plan)
        {
            var load = CpuLoad.Sample();
            var input = bench.Input;
            var oursOut = new float[bench.OutputLength];
            var ortOut = new float[bench.OutputLength];
            using var ours = bench.CreateOurs(threads);
            using var ort = bench.OrtFeeds is { } feeds
                ? new OrtRunner(onnx, threads, feeds, bench.OrtOutput, ortOut, bench.OutputShape)
                : new OrtRunner(onnx, threads, input, bench.InputShape, ortOut, bench.OutputShape);

            // Correctness first: a benchmark of wrong results is worthless.
            ours.Run(input, oursOut);
            ort.Run();
            var (diff, tol) = Check(bench.Name, threads, oursOut, ortOut, "before timing");

            var run = ours.Run;
            var (so, sr, allocated) = Harness.Compare(() => run(input, oursOut), ort.Run, plan);

            // And again after thousands of runs (a race in a threaded kernel would show here).
            Check(bench.Name, threads, oursOut, ortOut, "after timing");
            return new Result(bench.Name, threads, ours.Threads, bench.Flops, bench.Bytes, so, sr, diff, tol, allocated / Math.Max(1, so.Iterations), CpuLoad.OtherFractionSince(load));
        }

        /// <summary>max |ours - ort| must be within 1e-3 * max(1, max |ort|); NaN anywhere fails.</summary>
        private static (double Diff, double Tolerance) Check(string model, int threads, float[] ours, float[] ort, string when)
        {
            double maxDiff = 0, maxRef = 0;
            int worst = 0;
            for (int i = 0; i < ours.Length; i++)
            {
                double d = Math.Abs((double)ours[i] - ort[i]);
                if (double.IsNaN(d)) throw new MismatchException($"{model} threads {threads} ({when}): NaN at element {i} (ours {ours[i]}, ort {ort[i]})");
                if (d > maxDiff) (maxDiff, worst) = (d, i);
                maxRef = Math.Max(maxRef, Math.Abs(ort[i]));
            }

            double tol = 1e-3 * Math.Max(1.0, maxRef);
            if (maxDiff > tol)
            {
                throw new MismatchException($"{model} threads {threads} ({when}): max |ours - ort| = {maxDiff:E3} > {tol:E1} at element {worst} " +
                                            $"(ours {ours[worst]}, ort {ort[worst]})");
            }

            return (maxDiff, tol);
        }
    }

    internal sealed class MismatchException(string message) : Exception(message);
}
