using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using GpuBenchmarks;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

Options options;
try
{
    options = Options.Parse(args);
}
catch (UsageException e)
{
    if (e.Message.Length > 0) Console.Error.WriteLine("error: " + e.Message);
    Console.Error.WriteLine(Options.Usage);
    return e.Message.Length > 0 ? 2 : 0;
}

if (options.CompareOurs is not null) return Comparison.Run(options);
return Benchmark.Run(options);

namespace GpuBenchmarks
{
    internal static class Benchmark
    {
        public static int Run(Options options)
        {
            var total = Stopwatch.StartNew();
            bool small = options.Small;
            var report = new Report();
            report.Root["mode"] = options.Cpu ? "cpu" : "gpu";
            report.Root["small"] = small;

            if (!options.Cpu) CudaDriver.RegisterResolver();

            // Profiling markers (CUDA events) time each run on the device, like torch.cuda.Event does on the PyTorch side.
            using var context = Context.Create(builder => builder.Default().Profiling());
            Accelerator accelerator;
            try
            {
                accelerator = CreateAccelerator(context, options);
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                Console.Error.WriteLine("devices ILGPU sees:");
                foreach (var d in context) Console.Error.WriteLine($"  {d}");
                report.Error("accelerator", "accelerator setup", e);
                if (options.JsonPath is not null) report.Write(options.JsonPath);
                return 2;
            }

            using (accelerator)
            {
                DescribeDevice(accelerator, report, small);
                var timing = new TimingOptions
                {
                    Warmup = options.Cpu ? Math.Min(options.Warmup, 1) : options.Warmup,
                    MinWarmupSeconds = options.Cpu ? 0 : 0.25,
                    BudgetSeconds = options.BudgetSeconds ?? (options.Cpu ? 1 : 3),
                    Iterations = options.Iterations,
                    MinIterations = options.Cpu ? 3 : 10,
                    MaxIterations = options.Cpu ? 20 : 200,
                };
                report.Root["settings"] = new JsonObject
                {
                    ["warmup_runs_min"] = timing.Warmup, ["warmup_seconds_min"] = timing.MinWarmupSeconds,
                    ["budget_seconds"] = timing.BudgetSeconds, ["iterations"] = timing.Iterations,
                    ["iterations_min"] = timing.MinIterations, ["iterations_max"] = timing.MaxIterations, ["checks"] = options.Check,
                };

                foreach (var make in Workloads.All(small, options))
                {
                    RunWorkload(accelerator, make, report, timing, options);
                }

                if (options.Runs("copy")) CopyBandwidth(accelerator, report, timing, small);
            }

            report.PrintTable();
            report.Root["total_seconds"] = Report.Num(total.Elapsed.TotalSeconds);
            Console.WriteLine($"checks: {(report.AllChecksOk ? "all passed" : "FAILED (see above)")}; total {total.Elapsed.TotalSeconds:F1} s");
            if (options.JsonPath is not null) report.Write(options.JsonPath);
            return report.AllChecksOk ? 0 : 1;
        }

        private static Accelerator CreateAccelerator(Context context, Options options)
        {
            // ILGPU's default CPU device allows groups of 16 threads; the generated kernels launch groups of up to 256
            // (see GpuTiling.GroupSizeLimit), so emulate 8 warps of 32 threads on one multiprocessor.
            if (options.Cpu) return new CPUDevice(numThreadsPerWarp: 32, numWarpsPerMultiprocessor: 8, numMultiprocessors: 1).CreateCPUAccelerator(context);
            var cuda = context.GetCudaDevices();
            if (cuda.Count == 0)
            {
                throw new InvalidOperationException("ILGPU found no CUDA device (is the NVIDIA driver's libcuda.so on the library path?). Use --cpu for ILGPU's CPU accelerator.");
            }

            if (options.DeviceIndex >= cuda.Count) throw new InvalidOperationException($"--device {options.DeviceIndex}: only {cuda.Count} CUDA device(s)");
            return cuda[options.DeviceIndex].CreateCudaAccelerator(context);
        }

        private static void DescribeDevice(Accelerator acc, Report report, bool small)
        {
            var device = new JsonObject
            {
                ["name"] = acc.Name, ["type"] = acc.AcceleratorType.ToString(), ["memory_bytes"] = acc.MemorySize,
                ["multiprocessors"] = acc.NumMultiprocessors, ["warp_size"] = acc.WarpSize, ["max_threads_per_group"] = acc.MaxNumThreadsPerGroup,
                ["max_shared_memory_per_group"] = acc.MaxSharedMemoryPerGroup,
            };
            string extra = "";
            if (acc is CudaAccelerator cuda)
            {
                device["architecture"] = cuda.Architecture.ToString();
                device["instruction_set"] = cuda.InstructionSet.ToString();
                device["driver_version"] = cuda.DriverVersion.ToString();
                device["clock_rate_khz"] = cuda.ClockRate;
                device["memory_clock_rate_khz"] = cuda.MemoryClockRate;
                device["memory_bus_width_bits"] = cuda.MemoryBusWidth;
                device["l2_cache_bytes"] = cuda.L2CacheSize;
                extra = $", SM {cuda.Architecture}, PTX ISA {cuda.InstructionSet}, driver {cuda.DriverVersion}";
            }

            report.Root["device"] = device;
            string ilgpu = typeof(Context).Assembly.GetName().Version?.ToString() ?? "?";
            report.Root["runtime"] = new JsonObject
            {
                ["dotnet"] = RuntimeInformation.FrameworkDescription, ["ilgpu"] = ilgpu, ["os"] = RuntimeInformation.OSDescription,
                ["processors"] = Environment.ProcessorCount,
            };
            string memory = acc.MemorySize >= long.MaxValue / 2 ? "host memory" : $"{acc.MemorySize / (1024.0 * 1024 * 1024):F1} GiB";
            Console.WriteLine($"accelerator: {acc.Name} ({acc.AcceleratorType}), memory {memory}, {acc.NumMultiprocessors} multiprocessors, warp {acc.WarpSize}{extra}");
            Console.WriteLine($"runtime: {RuntimeInformation.FrameworkDescription}, ILGPU {ilgpu}, {Environment.ProcessorCount} host cores; sizes: {(small ? "small (smoke test)" : "full")}");
        }

        private static void RunWorkload(Accelerator acc, Func<Workload> make, Report report, TimingOptions timing, Options options)
        {
            Workload w;
            var setup = Stopwatch.StartNew();
            try
            {
                w = make();
            }
            catch (Exception e)
            {
                Console.WriteLine("== (workload setup)");
                report.Error("setup", "setup", e);
                return;
            }

            Console.WriteLine();
            Console.WriteLine($"== {w.Name}: {w.Description}");
            Console.WriteLine($"  inputs and weights generated in {setup.Elapsed.TotalSeconds:F2} s");
            string stage = "allocation";
            GpuModel? model = null;
            try
            {
                using var input = acc.Allocate1D(w.Input);
                using var output = acc.Allocate1D<float>(w.OutputLength);
                ArrayView<float> inputView = input.View, outputView = output.View;

                stage = "CompileForGpu";
                long t0 = Stopwatch.GetTimestamp();
                model = w.CompileForGpu(acc);
                double compileMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;

                stage = "first run";
                t0 = Stopwatch.GetTimestamp();
                model.Run(inputView, outputView);
                model.Synchronize();
                double firstRunMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                report.Compile(w.Name, compileMs, firstRunMs);

                if (options.Check)
                {
                    stage = "correctness check";
                    var result = output.GetAsArray1D();
                    foreach (var check in w.Checks)
                    {
                        var c0 = Stopwatch.GetTimestamp();
                        var c = check(w.Input, result);
                        report.Check(w.Name, c with { Note = Join(c.Note, $"{Stopwatch.GetElapsedTime(c0).TotalSeconds:F2} s") });
                    }

                    // The host-span overload must give what the device-view overload gave.
                    stage = "host-span API check";
                    var viaHost = new float[w.OutputLength];
                    model.Run(w.Input, viaHost);
                    report.Check(w.Name, Compare.Arrays("host-span Run == device-view Run", viaHost, result, atol: 1e-6, rtol: 1e-5));
                }

                stage = "timing";
                var m = model;
                var t = Timer.Measure(acc, () => m.Run(inputView, outputView), m.Synchronize, timing);
                report.Timing(w.Name, w.Description, t, w.Flops, w.Bytes, w.BytesNote);

                if (options.Profile)
                {
                    stage = "per-kernel profile";
                    Profile(m, inputView, outputView, report, w.Name, t.Primary.Median);
                }
            }
            catch (Exception e)
            {
                report.Error(w.Name, stage, e);
            }
            finally
            {
                model?.Dispose();
            }
        }

        private static string Join(string? a, string b) => a is null ? b : a + "; " + b;

        /// <summary>Where the time of one run goes: each launch's device time between profiling markers (median of 7 runs),
        /// printed with its share of the run and written to the report under profiles.</summary>
        private static void Profile(GpuModel model, ArrayView<float> input, ArrayView<float> output, Report report, string name, double runMs)
        {
            var names = model.LaunchNames;
            var samples = new List<double[]>();
            for (int r = 0; r < 7; r++)
            {
                if (model.Profile(input, output) is not { } times) return;
                samples.Add(times);
            }

            int n = samples[0].Length;
            var median = Enumerable.Range(0, n).Select(i => samples.Select(s => s[i]).OrderBy(x => x).ElementAt(samples.Count / 2)).ToArray();
            double sum = median.Sum();
            Console.WriteLine($"  per-kernel device time (median of {samples.Count} profiled runs; sum {sum:F4} ms vs {runMs:F4} ms per run timed as a whole):");
            var json = new System.Text.Json.Nodes.JsonArray();
            foreach (int i in Enumerable.Range(0, n).OrderByDescending(i => median[i]))
            {
                string label = i < names.Length ? names[i] : $"launch {i}";
                Console.WriteLine($"    {median[i],9:F4} ms {100 * median[i] / sum,5:F1}%  #{i,-2} {(label.Length > 150 ? label[..150] + "..." : label)}");
            }

            for (int i = 0; i < n; i++)
            {
                json.Add(new System.Text.Json.Nodes.JsonObject { ["launch"] = i, ["kernel"] = i < names.Length ? names[i] : null, ["ms"] = Report.Num(median[i]) });
            }

            if (report.Root["profiles"] is not System.Text.Json.Nodes.JsonObject profiles) report.Root["profiles"] = profiles = new System.Text.Json.Nodes.JsonObject();
            profiles[name] = json;
        }

        private static void CopyKernel(Index1D i, ArrayView<float> source, ArrayView<float> destination) => destination[i] = source[i];

        /// <summary>The device's copy bandwidth: a one-float-per-thread ILGPU copy kernel and the driver's device-to-device
        /// copy, each over a 256 MiB buffer (256 KiB with --small); GB/s = 2 * bytes / time.</summary>
        private static void CopyBandwidth(Accelerator acc, Report report, TimingOptions timing, bool small)
        {
            int n = small || acc.AcceleratorType == AcceleratorType.CPU ? 1 << 16 : 64 << 20; // the CPU accelerator emulates GPU threads: keep it small there
            long bytes = 2L * n * sizeof(float);
            string size = n >= 1 << 18 ? $"{n * 4L / (1024 * 1024)} MiB" : $"{n * 4L / 1024} KiB";
            Console.WriteLine();
            Console.WriteLine($"== copy bandwidth: {size} buffer, counted as read + write ({bytes} bytes) per copy");
            string stage = "allocation";
            try
            {
                var data = Aot.Dsl.Tensor.Random(901, -1f, 1f, n).Floats.ToArray();
                using var source = acc.Allocate1D(data);
                using var destination = acc.Allocate1D<float>(n);
                ArrayView<float> src = source.View, dst = destination.View;

                stage = "copy kernel compile";
                long t0 = Stopwatch.GetTimestamp();
                var kernel = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(CopyKernel);
                kernel(n, src, dst);
                acc.Synchronize();
                report.Compile("copy_kernel", Stopwatch.GetElapsedTime(t0).TotalMilliseconds, 0, "kernel load + first launch");
                var copied = destination.GetAsArray1D();
                report.Check("copy_kernel", Compare.Arrays("vs source buffer", copied, data, 0, 0));

                stage = "copy kernel timing";
                var tk = Timer.Measure(acc, () => kernel(n, src, dst), acc.Synchronize, timing);
                report.Timing("copy_kernel", $"ILGPU copy kernel, one float per thread, {size}", tk, 0, bytes, "read + write of the buffer");

                stage = "device-to-device copy timing";
                destination.MemSetToZero();
                acc.Synchronize();
                var tm = Timer.Measure(acc, () => src.CopyTo(dst), acc.Synchronize, timing);
                report.Timing("copy_memcpy", $"accelerator device-to-device copy (ArrayView.CopyTo), {size}", tm, 0, bytes, "read + write of the buffer");
            }
            catch (Exception e)
            {
                report.Error("copy", stage, e);
            }
        }
    }
}
