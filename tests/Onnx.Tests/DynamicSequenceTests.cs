using Aot.Dsl;
using Aot.Onnx;
using Aot.Tests.Onnx;
using Generator.Tests.EndToEnd;
using Generator.Tests.Frontend;
using static Aot.Tests.Onnx.OnnxAttr;
using Tensor = Aot.Dsl.Tensor;

namespace Onnx.Tests;

/// <summary>
/// A transformer encoder exported with a symbolic sequence length (the Shape -> Gather -> Concat -> Reshape arithmetic
/// exporters write, a position table sliced to the length), imported with the sequence dynamic up to a bound: one
/// compiled class must match ONNX Runtime at several lengths from 1 to the bound.
/// </summary>
public class DynamicSequenceTests
{
    private const int Bound = 24, Model = 32, Heads = 4, Ffn = 64;

    /// <summary>Pre-LayerNorm encoder block over x [1, sequence, 32] with learned positions, as PyTorch exports it.</summary>
    internal static byte[] Encoder()
    {
        var g = new OnnxGraph("encoder");
        int seed = 100;
        string W(string name, params int[] shape) => g.Initializer(name, Tensor.Random(seed++, -0.3f, 0.3f, shape).Floats, shape);
        string x = g.SymbolicInput("x", new[] { 1, 0, Model }, new string?[] { null, "sequence", null });

        // positions[:n] with n = x.shape[1] (Shape -> Gather -> Unsqueeze -> Slice).
        string n = g.Op("Unsqueeze", new[] { g.Op("Gather", g.Op("Shape", x), g.Int64s(1), Int("axis", 0)), g.Int64s(0) });
        string n1 = g.Op("Reshape", n, g.Int64s(1));
        x = g.Op("Add", x, g.Op("Slice", new[] { W("positions", 64, Model), g.Int64s(0), n1, g.Int64s(0) }));

        string LayerNorm(string v, string name) => g.Op("LayerNormalization", new[] { v, W(name + ".weight", Model), W(name + ".bias", Model) }, Int("axis", -1), Float("epsilon", 1e-5f));
        // [1, n, 32] -> [1, heads, n, 8] through a shape computed from n.
        string headShape = g.Op("Concat", new[] { g.Int64s(1), n1, g.Int64s(Heads), g.Int64s(Model / Heads) }, Int("axis", 0));
        string SplitHeads(string v) => g.Op("Transpose", g.Op("Reshape", v, headShape), List("perm", 0, 2, 1, 3));

        string h = LayerNorm(x, "ln1");
        string q = SplitHeads(g.Op("Add", g.Op("MatMul", h, W("wq", Model, Model)), W("bq", Model)));
        string k = SplitHeads(g.Op("MatMul", h, W("wk", Model, Model)));
        string v = SplitHeads(g.Op("MatMul", h, W("wv", Model, Model)));
        string scores = g.Op("Div", g.Op("MatMul", q, g.Op("Transpose", k, List("perm", 0, 1, 3, 2))), g.Scalar(MathF.Sqrt(Model / Heads)));
        string attention = g.Op("MatMul", g.Op("Softmax", scores, Int("axis", -1)), v);
        string merged = g.Op("Reshape", g.Op("Transpose", attention, List("perm", 0, 2, 1, 3)),
            g.Op("Concat", new[] { g.Int64s(1), n1, g.Int64s(Model) }, Int("axis", 0)));
        x = g.Op("Add", x, g.Op("MatMul", merged, W("wo", Model, Model)));

        // FFN with the exact GELU as exporters write it: 0.5 x (1 + erf(x / sqrt 2)).
        string f = g.Op("Add", g.Op("MatMul", LayerNorm(x, "ln2"), W("w1", Model, Ffn)), W("b1", Ffn));
        string gelu = g.Op("Mul", g.Op("Mul", f, g.Op("Add", g.Op("Erf", g.Op("Div", f, g.Scalar(MathF.Sqrt(2f)))), g.Scalar(1f))), g.Scalar(0.5f));
        g.Output(g.Op("Add", x, g.Op("MatMul", gelu, W("w2", Ffn, Model))));
        return g.ToModel(17);
    }

    private static readonly Lazy<(OnnxImportResult Import, System.Reflection.Assembly Assembly)> Compiled = new(() =>
    {
        var import = OnnxImporter.Import(Encoder(), new OnnxImportOptions { ClassName = "Dynamic.Encoder", Dynamic = ("sequence", Bound), SourceName = "encoder.onnx" });
        var run = GeneratorHarness.Run(import.Source);
        Assert.Empty(run.Diagnostics);
        return (import, GeneratedModels.Load(run));
    });

    [Fact]
    public void TheImportedClassHasADynamicSequenceAndReadsItsSizeFromTheInput()
    {
        string source = Compiled.Value.Import.Source;
        Assert.Contains("[Input(1, 24, 32, DynamicAxis = 1)] Tensor x", source);
        Assert.Contains("x.Shape[1]", source);
        Assert.Contains("[1, sequence, 32]", source);                         // comments name the dimension
        Assert.DoesNotContain(", 24, 4, 8)", source);                           // no reshape fixed at the bound
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void MatchesOnnxRuntimeAtSeveralLengths(int threads)
    {
        byte[] onnx = Encoder();
        var (import, assembly) = Compiled.Value;
        var type = assembly.GetType("Dynamic.Encoder", throwOnError: true)!;
        var model = Activator.CreateInstance(type)!;
        using (var file = Aot.Runtime.SafeTensorsFile.Parse(import.SerializeWeights())) type.GetMethod("LoadWeights", new[] { typeof(Aot.Runtime.SafeTensorsFile) })!.Invoke(model, new object[] { file });
        using var compiled = (IDisposable)type.GetMethod("Compile")!.Invoke(model, new object[] { threads })!;
        var run = compiled.GetType().GetMethods().Single(m => m.Name == "Run" && m.ReturnType == typeof(Tensor));
        foreach (int length in new[] { 1, 2, 7, 13, Bound })
        {
            var x = Tensor.Random(length, -1f, 1f, 1, length, Model);
            var expected = Ort.Run(onnx, new[] { ("x", x) });
            Tolerance.AssertClose(expected, (Tensor)type.GetMethod("Forward")!.Invoke(model, new object[] { x })!, $"eager at length {length}");
            Tolerance.AssertClose(expected, (Tensor)run.Invoke(compiled, new object[] { x })!, $"compiled at length {length}, {threads} threads");
        }
    }

    /// <summary>An LSTM over x [sequence, 2, 5] (Y + Y_h, two DSL calls), imported with the sequence dynamic up to 12.</summary>
    [Fact]
    public void AnLstmOverADynamicSequenceMatchesOnnxRuntimeAtSeveralLengths()
    {
        const int batch = 2, input = 5, hidden = 6, bound = 12;
        var g = new OnnxGraph("lstm");
        int seed = 300;
        string W(string name, params int[] shape) => g.Initializer(name, Tensor.Random(seed++, -0.6f, 0.6f, shape).Floats, shape);
        string x = g.SymbolicInput("x", new[] { 0, batch, input }, new string?[] { "sequence", null, null });
        g.Node("LSTM", new[] { x, W("w", 1, 4 * hidden, input), W("r", 1, 4 * hidden, hidden), W("b", 1, 8 * hidden) }, new[] { "y", "y_h" }, Int("hidden_size", hidden));
        g.Output(g.Op("Add", "y", "y_h"));
        byte[] onnx = g.ToModel(14);

        var import = OnnxImporter.Import(onnx, new OnnxImportOptions { ClassName = "Dynamic.Lstm", Dynamic = ("sequence", bound), SourceName = "lstm.onnx" });
        Assert.Contains($"[Input({bound}, {batch}, {input}, DynamicAxis = 0)] Tensor x", import.Source);
        var run = GeneratorHarness.Run(import.Source);
        Assert.Empty(run.Diagnostics);
        var type = GeneratedModels.Load(run).GetType("Dynamic.Lstm", throwOnError: true)!;
        var model = Activator.CreateInstance(type)!;
        using (var file = Aot.Runtime.SafeTensorsFile.Parse(import.SerializeWeights())) type.GetMethod("LoadWeights", new[] { typeof(Aot.Runtime.SafeTensorsFile) })!.Invoke(model, new object[] { file });
        using var compiled = (IDisposable)type.GetMethod("Compile")!.Invoke(model, new object[] { 1 })!;
        var runMethod = compiled.GetType().GetMethods().Single(m => m.Name == "Run" && m.ReturnType == typeof(Tensor));
        foreach (int length in new[] { 1, 2, 5, bound })
        {
            var input0 = Tensor.Random(length, -1f, 1f, length, batch, input);
            var expected = Ort.Run(onnx, new[] { ("x", input0) });
            Tolerance.AssertClose(expected, (Tensor)type.GetMethod("Forward")!.Invoke(model, new object[] { input0 })!, $"eager at length {length}");
            Tolerance.AssertClose(expected, (Tensor)runMethod.Invoke(compiled, new object[] { input0 })!, $"compiled at length {length}");
        }
    }

    [Fact]
    public void AConstantThatDependsOnTheDynamicSizeIsRejected()
    {
        // x / n with n = x.shape[1], folded into a number at import time: it would be wrong at any other length.
        var g = new OnnxGraph("folded");
        string x = g.SymbolicInput("x", new[] { 1, 0 }, new string?[] { null, "sequence" });
        string n = g.Op("Cast", new[] { g.Op("Gather", g.Op("Shape", x), g.Int64s(1), Int("axis", 0)) }, Int("to", 1));
        g.Output(g.Op("Div", x, n));
        var e = Assert.Throws<OnnxUnsupportedException>(() => OnnxImporter.Import(g.ToModel(17), new OnnxImportOptions { ClassName = "Dynamic.Folded", Dynamic = ("sequence", 8) }));
        Assert.Contains("dynamic dimension 'sequence'", e.Message);
    }
}
