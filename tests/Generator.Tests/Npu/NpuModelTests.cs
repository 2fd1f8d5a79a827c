using System.Reflection;
using Aot.Dsl;
using Aot.Runtime.Npu;
using Generator.Tests.EndToEnd;
using Generator.Tests.Frontend;
using Microsoft.CodeAnalysis;
using Xunit.Abstractions;

namespace Generator.Tests.Npu;

/// <summary>
/// DSL models compiled with <c>AotTargets=cpu;npu</c>: the generated NPU-1 program is loaded through the validating
/// loader, run on the simulator with the race checker on, and compared with the model's eager Forward. fp16 tolerance:
/// |npu - eager| &lt;= 1e-2 * (max |eager| over the output) + 1e-2 * |eager| per element (fp16 operands, fp32 sums).
/// Every run also checks the simulator's invariants and that the compiler's predicted cycles are within 10%.
/// </summary>
public sealed class NpuModelTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, string> Npu = new() { ["AotTargets"] = "cpu;npu" };

    internal static Assembly Build(string source)
    {
        var run = GeneratorHarness.RunWith(Npu, null, source);
        Assert.DoesNotContain(run.Diagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        Assert.Empty(run.GeneratedCodeProblems);
        return GeneratedModels.Load(run);
    }

    /// <summary>Runs <paramref name="typeName"/> on the NPU and on the eager reference; returns the report.</summary>
    internal static NpuReport RunAndCompare(Assembly assembly, string typeName, ITestOutputHelper? log = null, double tolerance = 1e-2, NpuPrecision precision = NpuPrecision.Float16, int extraSamples = 2)
    {
        var type = assembly.GetType(typeName, throwOnError: true)!;
        var model = Activator.CreateInstance(type)!;
        int seed = 1;
        // Through a weights file, so models whose weights have file names other than their members work too.
        var weights = ((IEnumerable<Aot.Runtime.TensorSpec>)type.GetProperty("WeightSpecs")!.GetValue(null)!)
            .ToDictionary(spec => spec.Name, spec => Tensor.Random(seed++, -0.5f, 0.5f, spec.Shape));
        string path = Path.Combine(Path.GetTempPath(), $"npu-test-{Guid.NewGuid():N}.safetensors");
        Aot.Runtime.SafeTensors.Write(path, weights);
        try
        {
            type.GetMethod("LoadWeights", new[] { typeof(string) })!.Invoke(model, new object[] { path });
        }
        finally
        {
            File.Delete(path);
        }

        var inputs = ((IEnumerable<Aot.Runtime.TensorSpec>)type.GetProperty("InputSpecs")!.GetValue(null)!)
            .Select(s => Tensor.Random(seed++, -1f, 1f, s.Shape))
            .ToArray<object>();
        var eager = (Tensor)type.GetMethod("Forward")!.Invoke(model, inputs)!;
        // int8: calibrated on the test input itself plus more samples from the same distribution.
        var calibration = new[] { inputs.Cast<Tensor>().ToArray() }
            .Concat(Enumerable.Range(0, extraSamples).Select(k => inputs.Cast<Tensor>().Select((t, i) => Tensor.Random(100 + 10 * k + i, -1f, 1f, t.ShapeArray())).ToArray()))
            .ToList();
        var options = new NpuRunOptions { CheckRaces = true, Precision = precision, Calibration = calibration };
        var compiled = type.GetMethod("CompileNpu")!.Invoke(model, new object?[] { options })!;
        var run = compiled.GetType().GetMethods().Single(m => m.Name == "Run" && m.ReturnType == typeof(Tensor));
        var ours = (Tensor)run.Invoke(compiled, inputs)!;
        var report = (NpuReport)compiled.GetType().GetProperty("LastReport")!.GetValue(compiled)!;
        log?.WriteLine(report.Format());

        Assert.Equal(eager.ShapeArray(), ours.ShapeArray());
        double scale = eager.Floats.ToArray().Max(v => Math.Abs(v));
        double worst = Enumerable.Range(0, eager.Length).Max(i => Math.Abs(ours.Floats[i] - eager.Floats[i])) / scale;
        log?.WriteLine($"{precision}: max |npu - eager| = {worst:P2} of max |eager|");
        for (int i = 0; i < eager.Length; i++)
        {
            float expected = eager.Floats[i], actual = ours.Floats[i];
            Assert.True(Math.Abs(actual - expected) <= tolerance * scale + tolerance * Math.Abs(expected), $"{typeName}[{i}]: NPU {actual}, eager {expected} (max |eager| {scale})");
        }

        Assert.Empty(report.Races);
        NpuInvariants.Check(report);
        var predictions = (IReadOnlyList<NpuKernelPrediction>)compiled.GetType().GetProperty("Kernels")!.GetValue(compiled)!;
        foreach (var kernel in predictions)
        {
            var mark = report.Marks.Single(m => m.Name == kernel.Name);
            log?.WriteLine($"{kernel.Name}: predicted {kernel.PredictedCycles}, simulated {mark.Cycles} ({(double)kernel.PredictedCycles / mark.Cycles:F3})");
        }

        return report;
    }

    /// <summary>An embedding lookup (Gather with Float32 indices, as integer ONNX inputs are imported) has no NPU-1
    /// lowering: AOT0017 names the op, and the CPU code is still generated and correct.</summary>
    [Fact]
    public void Gather_is_AOT0017_and_the_cpu_code_still_runs()
    {
        const string source = GeneratorHarness.Usings + """
            namespace N;
            [Model] public partial class Embed
            {
                [Weight(20, 8)] public Tensor? Table { get; set; }
                public Tensor Forward([Input(1, 5)] Tensor ids) => Relu(Gather(Table!, ids));
            }
            """;
        var run = GeneratorHarness.RunWith(Npu, null, source);
        var npu = Assert.Single(run.Diagnostics, d => d.Id == "AOT0017");
        Assert.Contains("Gather", npu.GetMessage());
        Assert.Empty(run.GeneratedCodeProblems);
        var type = GeneratedModels.Load(run).GetType("N.Embed", throwOnError: true)!;
        var model = Activator.CreateInstance(type)!;
        type.GetProperty("Table")!.SetValue(model, Tensor.Random(3, -1f, 1f, 20, 8));
        var ids = Tensor.FromArray(new[] { 0f, 19f, -1f, 7f, 7f }, 1, 5);
        var eager = (Tensor)type.GetMethod("Forward")!.Invoke(model, new object[] { ids })!;
        using var compiled = (IDisposable)type.GetMethod("Compile")!.Invoke(model, new object[] { 1 })!;
        var ours = (Tensor)compiled.GetType().GetMethods().Single(m => m.Name == "Run" && m.ReturnType == typeof(Tensor)).Invoke(compiled, new object[] { ids })!;
        Assert.Equal(eager.Floats.ToArray(), ours.Floats.ToArray());
    }

    [Fact]
    public void Mlp_matches_eager()
    {
        const string source = """
            using Aot.Dsl;
            using static Aot.Dsl.Ops;
            namespace T;
            [Model]
            public partial class Mlp
            {
                [Weight(128, 200)] public Tensor? W1 { get; set; }
                [Weight(128)] public Tensor? B1 { get; set; }
                [Weight(10, 128)] public Tensor? W2 { get; set; }
                [Weight(10)] public Tensor? B2 { get; set; }
                public Tensor Forward([Input(3, 200)] Tensor x) => Softmax(Linear(Relu(Linear(x, W1!, B1)), W2!, B2), axis: -1);
            }
            """;
        RunAndCompare(Build(source), "T.Mlp", output);
    }

    [Fact]
    public void Not_of_a_mask_runs_on_the_vpu()
    {
        const string source = """
            using Aot.Dsl;
            using static Aot.Dsl.Ops;
            namespace T;
            [Model]
            public partial class Flip
            {
                [Weight(40, 40)] public Tensor? W { get; set; }
                public Tensor Forward([Input(5, 40)] Tensor x) => Not(Sigmoid(Linear(x, W!))) * 2f;
            }
            """;
        RunAndCompare(Build(source), "T.Flip", output);
    }

    [Fact]
    public void Comparisons_Where_and_Resize_give_AOT0017()
    {
        // The VPU has no compare or select instructions; the NPU backend has no Resize kernel.
        foreach (var body in new[] { "Greater(x, 0f)", "Where(x, x, 1f)", "Equal(x, x) + x", "Reshape(Resize(Reshape(x, 1, 4, 4, 8), 8, 8), 4, 64)" })
        {
            var run = GeneratorHarness.RunWith(Npu, null, $$"""
                using Aot.Dsl;
                using static Aot.Dsl.Ops;
                namespace T;
                [Model]
                public partial class Masked
                {
                    public Tensor Forward([Input(4, 32)] Tensor x) => {{body}};
                }
                """);
            Assert.Contains(run.Diagnostics, d => d.Id == "AOT0017");
            Assert.Empty(run.GeneratedCodeProblems);
        }
    }

    /// <summary>The main sample's model (samples/Mlp/MnistMlp.cs, read from the repository) on NPU-1, both precisions.</summary>
    [Theory]
    [InlineData(NpuPrecision.Float16, 1e-2)]
    [InlineData(NpuPrecision.Int8, 5e-2)]
    public void Mlp_sample_model_matches_eager(NpuPrecision precision, double tolerance)
    {
        string source = File.ReadAllText(Path.Combine(DiagnosticTests.RepoRoot(), "samples", "Mlp", "MnistMlp.cs"));
        RunAndCompare(Build(source), "Samples.Mlp.MnistMlp", output, tolerance, precision);
    }

    /// <summary>int8 MLP: the accuracy drop against fp32 eager (reported by the test output) stays within 5% of the output range.</summary>
    [Fact]
    public void Mlp_int8_matches_eager_within_quantization_error()
    {
        const string source = """
            using Aot.Dsl;
            using static Aot.Dsl.Ops;
            namespace T;
            [Model]
            public partial class Mlp8
            {
                [Weight(256, 200)] public Tensor? W1 { get; set; }
                [Weight(256)] public Tensor? B1 { get; set; }
                [Weight(256, 256)] public Tensor? W2 { get; set; }
                [Weight(256)] public Tensor? B2 { get; set; }
                [Weight(10, 256)] public Tensor? W3 { get; set; }
                [Weight(10)] public Tensor? B3 { get; set; }
                public Tensor Forward([Input(4, 200)] Tensor x) => Linear(Relu(Linear(Relu(Linear(x, W1!, B1)), W2!, B2)), W3!, B3);
            }
            """;
        RunAndCompare(Build(source), "T.Mlp8", output, tolerance: 5e-2, precision: NpuPrecision.Int8);
    }

    /// <summary>fp16 within 1e-2; int8 (convolutions on int8 activations and weights, the rest fp16) within 5e-2 of the output range.</summary>
    [Theory]
    [InlineData(NpuPrecision.Float16, 1e-2)]
    [InlineData(NpuPrecision.Int8, 5e-2)]
    public void Small_cnn_matches_eager(NpuPrecision precision, double tolerance)
    {
        const string source = """
            using Aot.Dsl;
            using static Aot.Dsl.Ops;
            namespace T;
            [Model]
            public partial class SmallCnn
            {
                [Weight(32, 3, 3, 3)] public Tensor? C1W { get; set; }
                [Weight(32)] public Tensor? C1B { get; set; }
                [Weight(32, 32, 3, 3)] public Tensor? C2W { get; set; }
                [Weight(32)] public Tensor? C2B { get; set; }
                [Weight(64, 32, 3, 3)] public Tensor? C3W { get; set; }
                [Weight(64)] public Tensor? C3B { get; set; }
                [Weight(64, 64, 3, 3)] public Tensor? C4W { get; set; }
                [Weight(64)] public Tensor? C4B { get; set; }
                [Weight(10, 64)] public Tensor? FcW { get; set; }
                [Weight(10)] public Tensor? FcB { get; set; }
                public Tensor Forward([Input(1, 3, 64, 64)] Tensor x)
                {
                    var h = Relu(Conv2d(x, C1W!, C1B, padding: 1));
                    h = MaxPool2d(Relu(Conv2d(h, C2W!, C2B, padding: 1)), 2);
                    h = Relu(Conv2d(h, C3W!, C3B, padding: 1));
                    h = MaxPool2d(Relu(Conv2d(h, C4W!, C4B, padding: 1)), 2);
                    return Linear(Reshape(GlobalAvgPool(h), 1, 64), FcW!, FcB);
                }
            }
            """;
        RunAndCompare(Build(source), "T.SmallCnn", output, tolerance, precision, extraSamples: 1);
    }

    /// <summary>The implicit GEMM reads the stride and dilation per axis: a Conv2d with strides (2, 1) and dilations (1, 2).</summary>
    [Fact]
    public void Conv_with_per_axis_strides_and_dilations_matches_eager()
    {
        const string source = """
            using Aot.Dsl;
            using static Aot.Dsl.Ops;
            namespace T;
            [Model]
            public partial class PerAxis
            {
                [Weight(16, 3, 3, 3)] public Tensor? K { get; set; }
                [Weight(16)] public Tensor? B { get; set; }
                public Tensor Forward([Input(1, 3, 17, 19)] Tensor x) => Relu(Conv2d(x, K!, B, 2, 1, 1, 2, 1, 2));
            }
            """;
        RunAndCompare(Build(source), "T.PerAxis", output, tolerance: 1e-2);
    }

    /// <summary>Ops the NPU has no kernel for give AOT0017 (a warning naming the op) and no NPU source; the CPU
    /// backend still compiles the model.</summary>
    [Theory]
    [InlineData("ConvTranspose2d(x, K!, stride: 2)", "ConvTranspose2d")]
    [InlineData("ConvTranspose2d(x, K!, null, 2, 1, 0, 0, 1, 0)", "ConvTranspose2d")]
    [InlineData("MaxPool2d(Conv2d(x, K!), 1, 2, 1, 2)", "the NPU pools square windows")]
    public void Unsupported_ops_give_AOT0017(string body, string named)
    {
        string source = $$"""
            using Aot.Dsl;
            using static Aot.Dsl.Ops;
            namespace T;
            [Model]
            public partial class Up
            {
                [Weight(4, 4, 2, 2)] public Tensor? K { get; set; }
                public Tensor Forward([Input(1, 4, 8, 8)] Tensor x) => {{body}};
            }
            """;
        var run = GeneratorHarness.RunWith(Npu, null, source);
        var warning = Assert.Single(run.Diagnostics, d => d.Id == "AOT0017");
        Assert.Equal(DiagnosticSeverity.Warning, warning.Severity);
        Assert.Contains(named, warning.GetMessage());
        Assert.DoesNotContain(run.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.DoesNotContain(run.Output.SyntaxTrees, t => t.FilePath.EndsWith(".Npu.g.cs", StringComparison.Ordinal));
        Assert.Empty(run.GeneratedCodeProblems);
    }

    /// <summary>int8 applies to the matmuls whose operand comes from another matmul (the FFN's second layer); the
    /// projections read layernorm outputs and stay fp16.</summary>
    [Theory]
    [InlineData(NpuPrecision.Float16, 1e-2)]
    [InlineData(NpuPrecision.Int8, 5e-2)]
    public void Transformer_block_matches_eager(NpuPrecision precision, double tolerance)
    {
        // samples/Npu's encoder block (read from the repository, with the sample's other model).
        string source = File.ReadAllText(Path.Combine(DiagnosticTests.RepoRoot(), "samples", "Npu", "Models.cs"));
        RunAndCompare(Build(source), "Samples.Npu.EncoderBlock", output, tolerance, precision, extraSamples: 1);
    }
}
