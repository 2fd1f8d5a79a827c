using System.Reflection;
using Aot.Dsl;
using Aot.Onnx;
using Aot.Runtime;
using Generator.Tests.EndToEnd;
using Generator.Tests.Frontend;
using Microsoft.CodeAnalysis;

namespace Onnx.Tests;

/// <summary>
/// Imports every <see cref="OpCases"/> model and compiles all the generated classes in one in-memory generator run (one
/// Roslyn compilation for the whole suite instead of one per case), then loads the assembly once.
/// </summary>
public sealed class ImportedModels
{
    private readonly Dictionary<string, (OnnxCase Case, byte[] Model, OnnxImportResult? Import, Exception? Error)> _cases = new();
    private readonly Assembly? _assembly;
    private readonly string _compileErrors = "";

    public ImportedModels()
    {
        var sources = new List<string>();
        foreach (var c in OpCases.All)
        {
            byte[] model = c.Model();
            try
            {
                var import = OnnxImporter.Import(model, new OnnxImportOptions { ClassName = c.ClassName, SourceName = c.Name + ".onnx" });
                _cases[c.Name] = (c, model, import, null);
                sources.Add(import.Source);
            }
            catch (Exception e)
            {
                _cases[c.Name] = (c, model, null, e);
            }
        }

        var run = GeneratorHarness.Run(sources.ToArray());
        var errors = run.Diagnostics.Concat(run.Output.GetDiagnostics()).Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0 || run.Exceptions.Length > 0)
        {
            _compileErrors = string.Join("\n", errors.Select(e => $"{e.Location.SourceTree?.FilePath}: {e}").Concat(run.Exceptions.Select(e => e.ToString())));
            return;
        }

        _assembly = GeneratedModels.Load(run);
    }

    /// <summary>The source the case imported to (for failure messages and the readability test).</summary>
    internal OnnxImportResult Import(string name)
    {
        var entry = _cases[name];
        if (entry.Error is not null) throw new InvalidOperationException($"importing {name} failed: {entry.Error}");
        return entry.Import!;
    }

    internal (OnnxCase Case, byte[] Model, Type Type, OnnxImportResult Import) Get(string name)
    {
        var import = Import(name);
        Assert.True(_assembly is not null, $"the generated sources did not compile:\n{_compileErrors}");
        var entry = _cases[name];
        return (entry.Case, entry.Model, _assembly!.GetType(entry.Case.ClassName, throwOnError: true)!, import);
    }

    /// <summary>Deterministic inputs for the model's graph inputs (its shapes read back from the file).</summary>
    internal static List<(string Name, Tensor Value)> Inputs(OnnxCase c, byte[] model)
    {
        var graph = OnnxParser.Parse(model).Graph!;
        var initializers = graph.Initializers.Select(i => i.Name).ToHashSet();
        int seed = 7;
        return graph.Inputs.Where(i => !initializers.Contains(i.Name))
            .Select(i => (i.Name, RandomInput(seed++, i.ElemType, c.Low, c.High, i.Shape!.Select(d => (int)d.Value!.Value).ToArray())))
            .ToList();
    }

    /// <summary>Uniform floats in [low, high], or for an integer input uniform integers in [low, high] (as floats: the
    /// importer's Float32 tensors holding integers).</summary>
    internal static Tensor RandomInput(int seed, OnnxDataType type, float low, float high, int[] shape)
    {
        if (type == OnnxDataType.Float) return Tensor.Random(seed, low, high, shape);
        var random = new Random(seed);
        var values = new float[shape.Aggregate(1, (p, d) => p * d)];
        for (int k = 0; k < values.Length; k++) values[k] = random.Next((int)low, (int)high + 1);
        return Tensor.FromArray(values, shape);
    }
}

public class OperatorTests : IClassFixture<ImportedModels>
{
    private readonly ImportedModels _models;

    public OperatorTests(ImportedModels models) => _models = models;

    public static IEnumerable<object[]> Cases => OpCases.All.Select(c => new object[] { c.Name });

    [Theory]
    [MemberData(nameof(Cases))]
    public void CompiledAndEagerMatchOnnxRuntime(string name)
    {
        var (c, model, type, import) = _models.Get(name);
        var inputs = ImportedModels.Inputs(c, model);
        var expected = Ort.Run(c.ReferenceModel() ?? model, inputs);

        var instance = Activator.CreateInstance(type)!;
        using (var weights = SafeTensorsFile.Parse(import.SerializeWeights()))
        {
            type.GetMethod("LoadWeights", new[] { typeof(SafeTensorsFile) })!.Invoke(instance, new object[] { weights });
        }

        var args = inputs.Select(i => (object)i.Value).ToArray();
        var eager = (Tensor)type.GetMethod("Forward")!.Invoke(instance, args)!;
        Tolerance.AssertClose(expected, eager, $"{name} eager\n{import.Source}");

        using var compiled = (IDisposable)type.GetMethod("Compile")!.Invoke(instance, new object[] { 1 })!;
        var run = compiled.GetType().GetMethods().Single(m => m.Name == "Run" && m.ReturnType == typeof(Tensor));
        var ours = (Tensor)run.Invoke(compiled, args)!;
        Tolerance.AssertClose(expected, ours, $"{name} compiled\n{import.Source}");
    }

    [Fact]
    public void GeneratedSourceIsReadable()
    {
        var import = _models.Import("Mlp_Gemm_Relu_Gemm_Softmax");
        string source = import.Source;
        Assert.Contains("namespace Imported;", source);
        Assert.Contains("[Weight(16, 8, Name = \"fc1.weight\")] public Tensor? Fc1Weight { get; set; }", source);
        Assert.Contains("public Tensor Forward([Input(2, 8)] Tensor input)", source);
        Assert.Contains("Gemm(input, Fc1Weight!, Fc1Bias!, transB: true)", source);
        // One statement per node: Gemm, Relu, Gemm, Softmax.
        Assert.Equal(4, source.Split('\n').Count(l => l.TrimStart().StartsWith("var ", StringComparison.Ordinal)));
        Assert.Equal(new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" }, import.Weights.Select(w => w.Key));
    }

    [Fact]
    public void ShapeArithmeticLeavesNoStatement()
    {
        var source = _models.Import("Shape_Gather_Unsqueeze_Concat_Reshape").Source;
        var statements = source.Split('\n').Where(l => l.TrimStart().StartsWith("var ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, statements.Length);
        Assert.Contains("Reshape(x, 2, 12)", statements[0]);
        Assert.DoesNotContain("Shape", statements[1].Split("//")[0]);
    }

    private static string[] Statements(string source) => source.Split('\n').Where(l => l.TrimStart().StartsWith("var ", StringComparison.Ordinal)).ToArray();

    [Fact]
    public void BatchNormalizationIsFoldedIntoTheConvWeights()
    {
        var import = _models.Import("BatchNorm_folded_into_conv_bias");
        var statements = Statements(import.Source);
        Assert.Equal(2, statements.Length); // Conv2d (BatchNormalization folded), Relu
        Assert.Contains("Conv2d(x, ConvWeightBnFolded!, ConvBiasBnFolded!, padding: 1)", statements[0]);
        Assert.Contains("folded into the weight and bias", statements[0]);
        Assert.Equal(new[] { "conv.weight.bn_folded", "conv.bias.bn_folded" }, import.Weights.Select(w => w.Key));

        var noBias = _models.Import("BatchNorm_folded_into_conv_no_bias_opset7");
        Assert.Single(Statements(noBias.Source));
        Assert.Equal(new[] { "conv.weight.bn_folded", "conv.weight.bias.bn_folded" }, noBias.Weights.Select(w => w.Key));
    }

    [Fact]
    public void BatchNormalizationAfterASharedConvIsMulAdd()
    {
        var import = _models.Import("BatchNorm_conv_has_other_reader");
        var statements = Statements(import.Source);
        Assert.Equal(3, statements.Length); // Conv2d, Add(Mul(conv, scale), shift), Add
        Assert.Contains("Add(Mul(", statements[1]);
        Assert.Contains(import.Weights, w => w.Key.EndsWith(".scale_folded", StringComparison.Ordinal) && w.Value.ShapeArray().SequenceEqual(new[] { 3, 1, 1 }));
    }

    [Fact]
    public void SliceAndSplitBecomeDslSlices()
    {
        Assert.Contains("Slice(Slice(x, axis: 1, start: 0, end: 5, step: 2), axis: 2, start: 1, end: 8, step: 3)", _models.Import("Slice_inputs_steps_two_axes").Source);
        var split = Statements(_models.Import("Split_num_outputs_uneven_opset18").Source);
        Assert.Contains("Slice(x, axis: 1, start: 6, end: 7)", split[2]);
        Assert.Single(Statements(_models.Import("Split_unused_output").Source), s => s.Contains("Slice(", StringComparison.Ordinal));
        Assert.Single(Statements(_models.Import("Slice_of_shape_folded").Source)); // Reshape only: the Slice of Shape is folded
    }

    [Fact]
    public void PadIsConcatOfConstantBlocksAndSlices()
    {
        var constant = _models.Import("Pad_constant_attributes_opset7");
        Assert.Single(Statements(constant.Source));
        Assert.All(constant.Weights, w => Assert.All(w.Value.Floats.ToArray(), v => Assert.Equal(0.5f, v)));
        // Reflect on two axes: the first axis's result is a local, so the second does not repeat its expression.
        var reflect = Statements(_models.Import("Pad_reflect_opset13").Source);
        Assert.Equal(2, reflect.Length);
        Assert.Contains("(part)", reflect[0]);
    }

    [Fact]
    public void TransposedWeightIsFolded()
    {
        var import = _models.Import("Transpose_of_weight_folded");
        Assert.Single(Statements(import.Source));
        Assert.Equal(new[] { 4, 3 }, import.Weights.Single().Value.ShapeArray());
    }

    [Fact]
    public void BatchNormalizationIsFoldedIntoGemm()
    {
        var import = _models.Import("BatchNorm_folded_into_gemm_transB");
        var statement = Assert.Single(Statements(import.Source));
        Assert.Contains("Gemm(x, FcWeightBnFolded!, FcBiasBnFolded!, transB: true)", statement);
        Assert.Equal(new[] { "fc.weight.bn_folded", "fc.bias.bn_folded" }, import.Weights.Select(w => w.Key));
        Assert.Single(Statements(_models.Import("BatchNorm_folded_into_gemm_no_bias").Source));
    }
}
