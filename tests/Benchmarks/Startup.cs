using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aot.Dsl;
using Benchmarks.Models;
using Microsoft.ML.OnnxRuntime;

namespace Benchmarks;

/// <summary>
/// Time to the first inference result of the MLP (784-512-512-10, batch 1, one thread), the deployment-facing
/// latency: what a process pays before its first answer. Three measurements, each labelled with what it includes:
/// <list type="bullet">
/// <item>ORT, in this process: SessionOptions + InferenceSession from the .onnx file + input/output OrtValues + the first
/// Run, a fresh session per sample. The first sample of the process also loads the onnxruntime native library and
/// creates its environment.</item>
/// <item>Ours, in this process (JIT): new Mlp1() + LoadWeights(safetensors file) + Compile(1) (weights copied and
/// packed, arena allocated) + the first Run, a fresh model per sample. The first sample of the process also
/// JIT-compiles the runtime and the generated code.</item>
/// <item>Ours, NativeAOT (when the published samples/Mlp binary exists): process start (exec, runtime init) + the same
/// steps for the sample's MnistMlp, same weights, to the first line it prints, timed from outside.</item>
/// </list>
/// Both in-process measurements run before anything else in the benchmark touches ORT or our runtime, so their
/// "first in process" numbers are real cold starts of each library inside an already running .NET process.
/// </summary>
internal static class Startup
{
    /// <summary>Where the README's publish command puts the NativeAOT sample, relative to the repository root.</summary>
    public const string DefaultBinary = "artifacts/mlp-aot/Mlp";

    public const string PublishCommand =
        "dotnet publish samples/Mlp -c Release -r linux-x64 -p:PublishAot=true -p:IlcInstructionSet=x86-64-v3 -o artifacts/mlp-aot";

    public sealed record Timing(double FirstMs, double MedianMs, double MinMs, double MaxMs, int Samples);

    public static JsonObject Run(bool quick, string? binaryOption)
    {
        int samples = quick ? 3 : 10;
        var dir = Directory.CreateTempSubdirectory("aot-startup-");
        try
        {
            // The files a deployment ships: the .onnx model for ORT, safetensors weights for ours (the same tensors, once
            // with the benchmark model's names and once with the sample's fc1.weight, ... names).
            var (w1, b1, w2, b2, w3, b3) = Cases.MlpWeights();
            string onnxPath = Path.Combine(dir.FullName, "mlp.onnx");
            File.WriteAllBytes(onnxPath, OnnxExport.Mlp(1, w1, b1, w2, b2, w3, b3));
            string weightsPath = Path.Combine(dir.FullName, "mlp.safetensors");
            Aot.Runtime.SafeTensors.Write(weightsPath, new Dictionary<string, Tensor> { ["W1"] = w1, ["B1"] = b1, ["W2"] = w2, ["B2"] = b2, ["W3"] = w3, ["B3"] = b3 });
            string sampleWeightsPath = Path.Combine(dir.FullName, "mnist-mlp.safetensors");
            Aot.Runtime.SafeTensors.Write(sampleWeightsPath, new Dictionary<string, Tensor>
            {
                ["fc1.weight"] = w1, ["fc1.bias"] = b1, ["fc2.weight"] = w2, ["fc2.bias"] = b2, ["fc3.weight"] = w3, ["fc3.bias"] = b3,
            });

            // The sample's input, so all three can be checked against each other.
            float[] image = Tensor.Random(42, 0f, 1f, 1, 784).Floats.ToArray();
            var ortOut = new float[10];
            var oursOut = new float[10];

            // Cold: the first of each in this process. Then warm-up runs until the JIT has promoted every method on both
            // paths to optimized code (call counts past 30, then a pause for the background compiler), and the samples.
            var ort = new List<double> { OrtFirstResult(onnxPath, image, ortOut) };
            var ours = new List<double> { OursFirstResult(weightsPath, image, oursOut) };
            Check(oursOut, ortOut);
            for (int i = 0; i < 40; i++)
            {
                OrtFirstResult(onnxPath, image, ortOut);
                OursFirstResult(weightsPath, image, oursOut);
            }

            Thread.Sleep(500);
            for (int i = 0; i < samples; i++)
            {
                ort.Add(OrtFirstResult(onnxPath, image, ortOut));
                ours.Add(OursFirstResult(weightsPath, image, oursOut));
                Check(oursOut, ortOut);
            }

            int ortClass = Array.IndexOf(ortOut, ortOut.Max());
            var json = new JsonObject
            {
                ["model"] = "mlp_b1: 784-512-512-10, ReLU, softmax, batch 1, 1 thread",
                ["ort"] = Json(ort, "SessionOptions + InferenceSession from the .onnx file + OrtValues + first Run, fresh session per sample; " +
                                    "first_in_process_ms: the first in this process, which also loads the onnxruntime native library and creates its environment; " +
                                    "median/min/max: after 40 unmeasured repetitions"),
                ["ours_jit"] = Json(ours, "new Mlp1() + LoadWeights(safetensors file) + Compile(1) + first Run, fresh model per sample; " +
                                         "first_in_process_ms: the first in this process, which also JIT-compiles the runtime and the generated code (tier 0); " +
                                         "median/min/max: after 40 unmeasured repetitions, when the JIT has optimized every method"),
            };
            json["ort"]!["model_file_bytes"] = new FileInfo(onnxPath).Length;
            json["ort"]!["native_library_bytes"] = OrtLibraryBytes();
            json["ours_jit"]!["weights_file_bytes"] = new FileInfo(weightsPath).Length;

            string? binary = binaryOption ?? Path.Combine(RepoRoot() ?? ".", DefaultBinary);
            if (File.Exists(binary))
            {
                json["ours_nativeaot"] = Binary(binary, sampleWeightsPath, quick ? 3 : 7, ortClass, ortOut[ortClass]);
            }
            else
            {
                json["ours_nativeaot"] = null;
                json["ours_nativeaot_missing"] = $"no binary at {binary}; publish it with: {PublishCommand}";
            }

            return json;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    public static void Print(JsonObject startup)
    {
        Console.WriteLine($"time to first result, {startup["model"]}:");
        void Line(string label, JsonNode? node)
        {
            if (node is null) return;
            Console.WriteLine($"  {label,-38} first in process {(double)node["first_in_process_ms"]!,7:F1} ms, then median {(double)node["median_ms"]!,6:F2} ms " +
                              $"(min {(double)node["min_ms"]!:F2}, max {(double)node["max_ms"]!:F2}, {(int)node["samples"]!} samples)");
        }

        Line("ORT session + first run:", startup["ort"]);
        Line("ours (JIT) new + load + compile + run:", startup["ours_jit"]);
        Console.WriteLine($"  {"",-38} (\"then\": a fresh session / model again, after 40 unmeasured ones, so with optimized code on both sides)");
        Console.WriteLine($"  {"",-38} sizes: ORT native library {Mib(startup["ort"]!["native_library_bytes"])}, model.onnx {Mib(startup["ort"]!["model_file_bytes"])}; " +
                          $"our weights file {Mib(startup["ours_jit"]!["weights_file_bytes"])}");
        if (startup["ours_nativeaot"] is JsonObject aot)
        {
            Console.WriteLine($"  {"NativeAOT process start to result:",-38} median {(double)aot["median_ms"]!:F1} ms (min {(double)aot["min_ms"]!:F1}, max {(double)aot["max_ms"]!:F1}, " +
                              $"{(int)aot["samples"]!} runs, timed from outside; the process's own count {aot["self_reported_ms"]} ms); binary {Mib(aot["binary_bytes"])}, self-contained");
        }
        else
        {
            Console.WriteLine($"  NativeAOT: {startup["ours_nativeaot_missing"]}");
        }
    }

    private static string Mib(JsonNode? bytes) => bytes is null ? "n/a" : $"{(long)bytes / 1024.0 / 1024.0:F2} MiB";

    private static double OrtFirstResult(string onnxPath, float[] image, float[] output)
    {
        long start = Stopwatch.GetTimestamp();
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        using var session = new InferenceSession(onnxPath, options);
        using var input = OrtValue.CreateTensorValueFromMemory(image, new long[] { 1, 784 });
        using var result = OrtValue.CreateTensorValueFromMemory(output, new long[] { 1, 10 });
        using var run = new RunOptions();
        session.Run(run, new[] { session.InputNames[0] }, new[] { input }, new[] { session.OutputNames[0] }, new[] { result });
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    private static double OursFirstResult(string weightsPath, float[] image, float[] output)
    {
        long start = Stopwatch.GetTimestamp();
        var model = new Mlp1();
        model.LoadWeights(weightsPath);
        using var compiled = model.Compile(1);
        compiled.Run(image, output);
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    /// <summary>The published sample: size, and process start to its first printed line (the result), timed from here.</summary>
    private static JsonObject Binary(string binary, string weightsPath, int runs, int ortClass, float ortProbability)
    {
        var times = new List<double>();
        string selfReported = "";
        for (int i = 0; i < runs; i++)
        {
            var psi = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("--first-result-only");
            psi.ArgumentList.Add("--weights");
            psi.ArgumentList.Add(weightsPath);
            long start = Stopwatch.GetTimestamp();
            using var process = Process.Start(psi)!;
            string? first = process.StandardOutput.ReadLine();
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            string rest = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            var match = first is null ? Match.Empty : Regex.Match(first, @"^prediction: (\d+) \(p = (\S+)\)");
            if (process.ExitCode != 0 || !match.Success)
            {
                throw new InvalidOperationException($"{binary} --first-result-only failed (exit {process.ExitCode}): {first}\n{rest}");
            }

            // The same weights and image as ORT's run: the same class with the same probability.
            int predicted = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            float probability = float.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
            if (predicted != ortClass || Math.Abs(probability - ortProbability) > 1e-3)
            {
                throw new MismatchException($"the NativeAOT sample predicts {predicted} (p = {probability}), ORT {ortClass} (p = {ortProbability}): is {binary} an old build?");
            }

            times.Add(ms);
            selfReported = Regex.Match(rest, @"first_result_ms: (\S+)").Groups[1].Value;
        }

        times.Sort();
        return new JsonObject
        {
            ["binary"] = binary,
            ["binary_bytes"] = new FileInfo(binary).Length,
            ["median_ms"] = Math.Round(times[times.Count / 2], 2),
            ["min_ms"] = Math.Round(times[0], 2),
            ["max_ms"] = Math.Round(times[^1], 2),
            ["samples"] = times.Count,
            ["self_reported_ms"] = selfReported,
            ["includes"] = "process start (exec, NativeAOT runtime init) + new MnistMlp() + LoadWeights(safetensors file) + Compile() + first Run, " +
                           "until its first output line reaches this process; same weights and image as ORT's",
        };
    }

    private static JsonObject Json(List<double> samples, string includes)
    {
        var rest = samples.Skip(1).Order().ToArray();
        return new JsonObject
        {
            ["first_in_process_ms"] = Math.Round(samples[0], 2),
            ["median_ms"] = Math.Round(rest[rest.Length / 2], 3),
            ["min_ms"] = Math.Round(rest[0], 3),
            ["max_ms"] = Math.Round(rest[^1], 3),
            ["samples"] = rest.Length,
            ["includes"] = includes,
        };
    }

    private static void Check(float[] ours, float[] ort)
    {
        for (int i = 0; i < ours.Length; i++)
        {
            if (!(Math.Abs(ours[i] - ort[i]) <= 1e-3)) throw new MismatchException($"startup mlp_b1: ours[{i}] = {ours[i]}, ORT {ort[i]}");
        }
    }

    /// <summary>Size of the onnxruntime native library this process loaded (what an ORT deployment ships besides the model).</summary>
    private static long? OrtLibraryBytes()
    {
        string name = OperatingSystem.IsWindows() ? "onnxruntime.dll" : OperatingSystem.IsMacOS() ? "libonnxruntime.dylib" : "libonnxruntime.so";
        var loaded = Process.GetCurrentProcess().Modules.Cast<ProcessModule>().FirstOrDefault(m => m.ModuleName == name)?.FileName;
        var file = loaded ?? Directory.EnumerateFiles(AppContext.BaseDirectory, name, SearchOption.AllDirectories).FirstOrDefault();
        return file is null ? null : new FileInfo(file).Length;
    }

    private static string? RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Aot.sln"))) dir = dir.Parent;
        return dir?.FullName;
    }
}
