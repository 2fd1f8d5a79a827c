using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;

namespace Aot.Tuner;

/// <summary>
/// <c>dotnet run -c Release --project src/Tuner -- App.dll [--out App.aot-tuning] [--threads N] [--model Name] [--quick]</c>:
/// benchmarks the GEMM cache blocks of every model in a built assembly and writes a tuning file. Exit codes: 0 done,
/// 1 no tunable kernel found, 2 bad arguments or assembly.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        try
        {
            var options = TunerOptions.Parse(args);
            if (options is null)
            {
                Console.WriteLine(TunerOptions.Usage);
                return 0;
            }

            var assembly = KernelDiscovery.Load(options.AssemblyPath);
            string output = options.OutputPath ?? assembly.GetName().Name + ".aot-tuning";
            var results = Run(assembly, options.ModelFilter, options.Settings, Console.Out);
            if (results.Count == 0)
            {
                Console.Error.WriteLine($"no tunable GEMM kernel in {options.AssemblyPath}{(options.ModelFilter is null ? "" : " for model " + options.ModelFilter)}: " +
                                        "it needs [Model] classes compiled by Aot.Compiler 0.1.0 or later (they list their kernels in TunableKernels), with a matrix product or convolution that runs on the GEMM");
                return 1;
            }

            File.WriteAllText(output, TuningReport.TuningFile(results, Path.GetFileName(options.AssemblyPath), options.Settings));
            Console.WriteLine($"wrote {Path.GetFullPath(output)} ({results.Count} kernels, {results.Count(r => r.Changed)} with tuned blocks)");
            Console.WriteLine($"use it: <AotTuningFile>{Path.GetFileName(output)}</AotTuningFile> in the project file (or an AdditionalFiles item), then rebuild");
            return 0;
        }
        catch (TunerException e)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 2;
        }
    }

    /// <summary>Tunes every kernel of the assembly's models (or of the one named), printing progress and the table.</summary>
    internal static IReadOnlyList<KernelResult> Run(Assembly assembly, string? modelFilter, TunerSettings settings, TextWriter log)
    {
        var kernels = KernelDiscovery.Find(assembly)
            .Where(k => modelFilter is null || k.Model == modelFilter || k.Model.EndsWith("." + modelFilter, StringComparison.Ordinal))
            .ToArray();
        if (kernels.Length == 0) return Array.Empty<KernelResult>();
        log.WriteLine($"machine: {TuningReport.Machine()}");
        log.WriteLine($"tuning {kernels.Length} GEMM kernels of {kernels.Select(k => k.Model).Distinct().Count()} models with {settings.Threads} thread(s){(settings.Quick ? " (quick)" : "")}");
        using var benchmark = new GemmBenchmark(settings);
        var byShape = new Dictionary<(int, int, int, int, int), KernelResult>();
        var results = new List<KernelResult>();
        foreach (var kernel in kernels)
        {
            // Kernels of the same shape and starting blocks share one measurement.
            var key = (kernel.M, kernel.N, kernel.K, kernel.Kc, kernel.Mc);
            if (!byShape.TryGetValue(key, out var result))
            {
                log.WriteLine($"  {kernel.Model}/{kernel.Name} {kernel.Kind} m={kernel.M} n={kernel.N} k={kernel.K} ...");
                byShape[key] = result = benchmark.Tune(kernel);
            }

            results.Add(result with { Kernel = kernel });
        }

        log.Write(TuningReport.Table(results));
        return results;
    }
}

/// <summary>The command line.</summary>
internal sealed record TunerOptions(string AssemblyPath, string? OutputPath, string? ModelFilter, TunerSettings Settings)
{
    public const string Usage = """
        usage: dotnet run -c Release --project src/Tuner -- <App.dll> [--out FILE] [--threads N] [--model NAME] [--quick]

          <App.dll>     the built assembly with [Model] classes (e.g. bin/Release/net8.0/App.dll)
          --out FILE    the tuning file to write (default: <assembly name>.aot-tuning in this folder)
          --threads N   threads per product, as the app's Compile(threads) (default 1)
          --model NAME  only this model (class name or full name)
          --quick       two candidates per block and short samples: a smoke run, not a tuning

        Then add the file to the project: <AotTuningFile>App.aot-tuning</AotTuningFile> (or an AdditionalFiles item
        for any *.aot-tuning) and rebuild; the generator uses the measured cache blocks for kernels whose name and
        shape match, and warns (AOT0016) about entries the model no longer has.
        """;

    /// <summary>The options, or null for --help.</summary>
    public static TunerOptions? Parse(string[] args)
    {
        string? assembly = null, output = null, model = null;
        int threads = 1;
        bool quick = false;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new TunerException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "-h" or "--help": return null;
                case "--out": output = Value(); break;
                case "--model": model = Value(); break;
                case "--quick": quick = true; break;
                case "--threads":
                    string text = Value();
                    if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out threads) || threads < 1) throw new TunerException($"--threads must be a positive integer, not '{text}'");
                    break;
                default:
                    if (args[i].StartsWith("-", StringComparison.Ordinal) || assembly is not null) throw new TunerException($"unexpected argument '{args[i]}'\n{Usage}");
                    assembly = args[i];
                    break;
            }
        }

        if (assembly is null) throw new TunerException("which assembly? " + Usage);
        return new TunerOptions(assembly, output, model, new TunerSettings(threads, quick));
    }
}
