using System.Globalization;

namespace GpuBenchmarks;

/// <summary>Command line: see <see cref="Usage"/>.</summary>
internal sealed class Options
{
    public const string Usage = """
        usage:
          GpuBenchmarks [--cpu] [--small] [--json OUT.json] [--only NAMES] [--budget SECONDS] [--iters N] [--warmup N]
                        [--device INDEX] [--no-check] [--no-profile]
          GpuBenchmarks --compare OURS.json [--torch TORCH.json] [--json OUT.json] [--text OUT.txt]

          --cpu          run on ILGPU's CPU accelerator instead of the first CUDA device (implies --small)
          --small        small sizes (GEMM 64, chain 64K, block 1x16x64): a smoke test, not a measurement
          --full         full sizes even with --cpu (slow: only to test the harness's large-size checks)
          --json PATH    write every measurement as JSON (benchmark mode) / the comparison as JSON (--compare)
          --only NAMES   comma-separated subset of: gemm, elementwise, transformer, copy
          --budget S     seconds of timed iterations per workload (default 3 on a GPU, 1 on the CPU)
          --iters N      exact number of timed iterations (overrides --budget)
          --warmup N     warm-up runs before timing (default 3; at least 0.25 s of warm-up is done anyway)
          --device I     index among the CUDA devices (default 0)
          --no-check     skip the correctness checks (not recommended)
          --no-profile   skip the per-kernel profile (by default each workload's launches are timed one by one between
                         profiling markers after the timed runs, and listed by device time)
          --compare      read a result file of this program (and optionally torch_bench.py's) and print one comparison
                         table; --text also writes that table to a file
        exit status: 0 all checks passed, 1 a correctness check failed, 2 usage or setup error
        """;

    public bool Cpu { get; private set; }
    public bool Small => _small && !_full;

    private bool _small, _full;
    public string? JsonPath { get; private set; }
    public string? TextPath { get; private set; }
    public HashSet<string> Only { get; } = new(StringComparer.OrdinalIgnoreCase);
    public double? BudgetSeconds { get; private set; }
    public int? Iterations { get; private set; }
    public int Warmup { get; private set; } = 3;
    public int DeviceIndex { get; private set; }
    public bool Check { get; private set; } = true;
    public bool Profile { get; private set; } = true;
    public string? CompareOurs { get; private set; }
    public string? CompareTorch { get; private set; }

    public static readonly string[] WorkloadNames = { "gemm", "elementwise", "transformer", "copy" };

    public bool Runs(string workload) => Only.Count == 0 || Only.Contains(workload);

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{a} needs a value");
            int NextInt() => int.TryParse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0
                ? v
                : throw new UsageException($"{a} needs a non-negative integer");
            switch (a)
            {
                case "--cpu": o.Cpu = true; o._small = true; break;
                case "--small": o._small = true; break;
                case "--full": o._full = true; break;
                case "--json": o.JsonPath = Next(); break;
                case "--text": o.TextPath = Next(); break;
                case "--only":
                    foreach (var name in Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (!WorkloadNames.Contains(name, StringComparer.OrdinalIgnoreCase)) throw new UsageException($"--only: unknown workload '{name}' (known: {string.Join(", ", WorkloadNames)})");
                        o.Only.Add(name);
                    }

                    break;
                case "--budget":
                    o.BudgetSeconds = double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out double b) && b > 0
                        ? b
                        : throw new UsageException("--budget needs a positive number of seconds");
                    break;
                case "--iters": o.Iterations = Math.Max(1, NextInt()); break;
                case "--warmup": o.Warmup = NextInt(); break;
                case "--device": o.DeviceIndex = NextInt(); break;
                case "--no-check": o.Check = false; break;
                case "--no-profile": o.Profile = false; break;
                case "--compare": o.CompareOurs = Next(); break;
                case "--torch": o.CompareTorch = Next(); break;
                case "-h" or "--help": throw new UsageException(null);
                default: throw new UsageException($"unknown argument '{a}'");
            }
        }

        return o;
    }
}

internal sealed class UsageException(string? message) : Exception(message ?? "");
