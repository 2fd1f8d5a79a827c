using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Generator.Tests.Frontend;

/// <summary>
/// One test per diagnostic ID: the source marks the expected span with [| |]; the generator must report exactly
/// that ID, that message and that location, and generate no code for the broken model.
/// </summary>
public class DiagnosticTests
{
    private const string Header = GeneratorHarness.Usings + "namespace T;\n";

    public static TheoryData<string, string, string> Cases => new()
    {
        {
            "AOT0001", "MatMul: inner dimensions differ: [2, 3] @ [4, 5] (3 != 4)",
            "[Model] public partial class M { [Weight(4, 5)] public Tensor? W { get; set; }\n" +
            "  public Tensor Forward([Input(2, 3)] Tensor x) => [|MatMul(x, W!)|]; }"
        },
        {
            "AOT0001", "Linear: input [1, 784] has 784 features, weight [784, 512] expects 512 (weights are [out, in])",
            "[Model] public partial class M { [Weight(784, 512)] public Tensor? W { get; set; }\n" +
            "  public Tensor Forward([Input(1, 784)] Tensor x) { var h = [|Linear(x, W!)|]; return Relu(h); } }"
        },
        {
            "AOT0002", "Add: shapes [2, 3] and [4] are not broadcastable",
            "[Model] public partial class M {\n" +
            "  public Tensor Forward([Input(2, 3)] Tensor x, [Input(4)] Tensor y) => Relu([|x + y|]); }"
        },
        {
            "AOT0002", "Where: shapes [2, 3] and [3] and [2] are not broadcastable",
            "[Model] public partial class M {\n" +
            "  public Tensor Forward([Input(2, 3)] Tensor c, [Input(3)] Tensor a, [Input(2)] Tensor b) => [|Where(c, a, b)|]; }"
        },
        {
            "AOT0006", "Resize: input must be [N, C, H, W], got [2, 3]",
            "[Model] public partial class M {\n" +
            "  public Tensor Forward([Input(2, 3)] Tensor x) => [|Resize(x, 4, 6)|]; }"
        },
        {
            "AOT0008", "Resize: the output size 0 x 4 must be positive",
            "[Model] public partial class M {\n" +
            "  public Tensor Forward([Input(1, 1, 2, 2)] Tensor x) => [|Resize(x, 0, 4, ResizeMode.Linear)|]; }"
        },
        {
            "AOT0003", "Softmax: axis 2 is out of range for a tensor of rank 2 (valid: -2 to 1)",
            "[Model] public partial class M {\n" +
            "  public Tensor Forward([Input(2, 3)] Tensor x) => [|Softmax(x, axis: 2)|]; }"
        },
        {
            "AOT0003", "ReduceSum: axis -4 is out of range for a tensor of rank 3 (valid: -3 to 2)",
            "[Model] public partial class M {\n" +
            "  public Tensor Forward([Input(2, 3, 4)] Tensor x) => [|ReduceSum(x, new[] { 0, -4 })|]; }"
        },
        {
            "AOT0004", "Reshape: cannot reshape [2, 3] (6 elements) to [4, 2] (8 elements)",
            "[Model] public partial class M {\n" +
            "  public Tensor Forward([Input(2, 3)] Tensor x) => [|Reshape(x, 4, 2)|]; }"
        },
        {
            "AOT0005", "Conv2d: output would be empty (0x0): input [1, 1, 2, 2], kernel 3x3, stride [1, 1], padding [0, 0, 0, 0], dilation [1, 1]",
            "[Model] public partial class M { [Weight(1, 1, 3, 3)] public Tensor? K { get; set; }\n" +
            "  public Tensor Forward([Input(1, 1, 2, 2)] Tensor x) => [|Conv2d(x, K!)|]; }"
        },
        {
            "AOT0005", "MaxPool2d: output would be empty (0x0): input [1, 2, 3, 3], kernel [4, 4], stride [4, 4], padding [0, 0, 0, 0]",
            "[Model] public partial class M {\n" +
            "  public Tensor Forward([Input(1, 2, 3, 3)] Tensor x) => [|MaxPool2d(x, 4)|]; }"
        },
        {
            "AOT0005", "AvgPool2d: output would be empty (3x0): input [1, 2, 3, 3], kernel [1, 4], stride [1, 2], padding [0, 0, 0, 0]",
            "[Model] public partial class M {\n" +
            "  public Tensor Forward([Input(1, 2, 3, 3)] Tensor x) => [|AvgPool2d(x, 1, 4, 1, 2)|]; }"
        },
        {
            "AOT0005", "ConvTranspose2d: output would be empty (0x0): input [1, 2, 3, 3], kernel 1x1, stride [1, 1], padding [2, 2, 2, 2], output padding [0, 0], dilation [1, 1]",
            "[Model] public partial class M { [Weight(2, 3, 1, 1)] public Tensor? K { get; set; }\n" +
            "  public Tensor Forward([Input(1, 2, 3, 3)] Tensor x) => [|ConvTranspose2d(x, K!, padding: 2)|]; }"
        },
        {
            "AOT0005", "Conv2d: output would be empty (3x0): input [1, 1, 4, 4], kernel 2x2, stride [1, 1], padding [0, 0, 0, 0], dilation [1, 4]",
            "[Model] public partial class M { [Weight(1, 1, 2, 2)] public Tensor? K { get; set; }\n" +
            "  public Tensor Forward([Input(1, 1, 4, 4)] Tensor x) => [|Conv2d(x, K!, null, 1, 1, 0, 0, 1, 4)|]; }"
        },
        {
            "AOT0008", "Conv2d: strides [2, 0] and dilations [1, 1] must be positive, padding [1, 0, 1, 0] non-negative",
            "[Model] public partial class M { [Weight(1, 1, 2, 2)] public Tensor? K { get; set; }\n" +
            "  public Tensor Forward([Input(1, 1, 4, 4)] Tensor x) => [|Conv2d(x, K!, null, 2, 0, 1, 0, 1, 1)|]; }"
        },
        {
            "AOT0008", "ConvTranspose2d: strides [1, 2] and dilations [0, 1] must be positive, padding [0, 0, 0, 0] and output padding [0, 1] non-negative",
            "[Model] public partial class M { [Weight(1, 1, 2, 2)] public Tensor? K { get; set; }\n" +
            "  public Tensor Forward([Input(1, 1, 4, 4)] Tensor x) => [|ConvTranspose2d(x, K!, null, 1, 2, 0, 0, 0, 1, 0, 1)|]; }"
        },
        {
            "AOT0006", "ConvTranspose2d: weight [3, 2, 3, 3] expects 3 input channels, the input [1, 4, 8, 8] has 4",
            "[Model] public partial class M { [Weight(3, 2, 3, 3)] public Tensor? K { get; set; }\n" +
            "  public Tensor Forward([Input(1, 4, 8, 8)] Tensor x) => [|ConvTranspose2d(x, K!, stride: 2)|]; }"
        },
        {
            "AOT0006", "LayerNorm: gamma has shape [4], expected [8] (the trailing dimensions of the input [2, 8])",
            "[Model] public partial class M { [Weight(4)] public Tensor? G { get; set; } [Weight(8)] public Tensor? B { get; set; }\n" +
            "  public Tensor Forward([Input(2, 8)] Tensor x) => [|LayerNorm(x, G!, B!)|]; }"
        },
        {
            "AOT0006", "Conv2d: weight [8, 4, 3, 3] expects 4 input channels (4 per group, groups 1), the input [1, 3, 8, 8] has 3",
            "[Model] public partial class M { [Weight(8, 4, 3, 3)] public Tensor? K { get; set; }\n" +
            "  public Tensor Forward([Input(1, 3, 8, 8)] Tensor x) => [|Conv2d(x, K!, padding: 1)|]; }"
        },
        {
            "AOT0006", "Lstm: R has shape [1, 16, 3], expected [1, 16, 4]",
            "[Model] public partial class M { [Weight(1, 16, 5)] public Tensor? W { get; set; } [Weight(1, 16, 3)] public Tensor? R { get; set; }\n" +
            "  public Tensor Forward([Input(7, 2, 5)] Tensor x) => [|Lstm(x, W!, R!)|]; }"
        },
        {
            "AOT0006", "Lstm: W has shape [1, 16, 4], expected [1, 4*hidden, 5] for the input [7, 2, 5]",
            "[Model] public partial class M { [Weight(1, 16, 4)] public Tensor? W { get; set; } [Weight(1, 16, 4)] public Tensor? R { get; set; }\n" +
            "  public Tensor Forward([Input(7, 2, 5)] Tensor x) => [|Lstm(x, W!, R!, output: LstmOutput.LastHidden)|]; }"
        },
        {
            "AOT0006", "Lstm: initial_c has shape [1, 1, 4], expected [1, 2, 4]",
            "[Model] public partial class M { [Weight(1, 16, 5)] public Tensor? W { get; set; } [Weight(1, 16, 4)] public Tensor? R { get; set; }\n" +
            "  public Tensor Forward([Input(7, 2, 5)] Tensor x, [Input(1, 1, 4)] Tensor c) => [|Lstm(x, W!, R!, initialC: c)|]; }"
        },
        {
            "AOT0007", "Relu: input has dtype Int32; only Float32 is supported",
            "[Model] public partial class M {\n" +
            "  public Tensor Forward([Input(1, 8, DType = DType.Int32)] Tensor ids) => [|Relu(ids)|]; }"
        },
        {
            "AOT0008", "Slice: step must be positive, got 0",
            "[Model] public partial class M {\n" +
            "  public Tensor Forward([Input(6, 3)] Tensor x) => [|Slice(x, 0, 0, 4, step: 0)|]; }"
        },
        {
            "AOT0008", "Transpose: [0, 0] is not a permutation of the 2 axes of [2, 3]",
            "[Model] public partial class M {\n" +
            "  public Tensor Forward([Input(2, 3)] Tensor x) => [|Transpose(x, 0, 0)|]; }"
        },
        {
            "AOT0009", "calling 'Console.WriteLine' is not supported in a model; use the DSL's Ops or methods of the model",
            "[Model] public partial class M {\n" +
            "  public Tensor Forward([Input(2, 3)] Tensor x) { [|System.Console.WriteLine()|]; return x; } }"
        },
        {
            "AOT0010", "'Deep' calls itself (directly or through other methods); a model's computation must be a finite graph",
            "[Model] public partial class M {\n" +
            "  static Tensor Deep(Tensor x) => Relu([|Deep(x)|]);\n" +
            "  public Tensor Forward([Input(2, 3)] Tensor x) => Deep(x); }"
        },
        {
            "AOT0010", "only for loops with compile-time bounds are supported in a model (they are unrolled)",
            "[Model] public partial class M {\n" +
            "  public Tensor Forward([Input(2, 3)] Tensor x) { [|while|] (true) { x = Relu(x); } } }"
        },
        {
            "AOT0011", "model 'M' must be declared partial so the generator can add the compiled code",
            "[Model] public class [|M|] {\n" +
            "  public Tensor Forward([Input(2, 3)] Tensor x) => x; }"
        },
        {
            "AOT0011", "parameter 'x' of Forward must be a Tensor marked [Input(shape)] so its shape is known at build time",
            "[Model] public partial class M {\n" +
            "  public Tensor Forward(Tensor [|x|]) => x; }"
        },
        {
            "AOT0012", "weight 'W': every dimension must be positive, got [0, 3]",
            "[Model] public partial class M { [[|Weight(0, 3)|]] public Tensor? W { get; set; }\n" +
            "  public Tensor Forward([Input(2, 3)] Tensor x) => x * W!; }"
        },
        {
            "AOT0012", "input 'x': dtype Float16 is not supported yet (Float32 and Int32 are)",
            "[Model] public partial class M {\n" +
            "  public Tensor Forward([[|Input(2, 3, DType = DType.Float16)|]] Tensor x) => x; }"
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ReportsIdMessageAndExactLocation(string id, string message, string markedSource)
    {
        var (source, span) = Markup.Parse(Header + markedSource);
        var run = GeneratorHarness.Run(source);

        Assert.Empty(run.Exceptions);
        var diagnostic = Assert.Single(run.Diagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal(message, diagnostic.GetMessage());
        Assert.Equal(span, diagnostic.Location.SourceSpan);
        Assert.Equal("Model0.cs", diagnostic.Location.GetLineSpan().Path);
        Assert.EndsWith($"docs/diagnostics/{id}.md", diagnostic.Descriptor.HelpLinkUri);
        Assert.Empty(run.Generated);
    }

    [Fact]
    public void EveryDescriptorHasAHelpPage()
    {
        var root = RepoRoot();
        foreach (var descriptor in Aot.Generator.Diagnostics.DiagnosticDescriptors.All)
        {
            var page = Path.Combine(root, "docs", "diagnostics", descriptor.Id + ".md");
            Assert.True(File.Exists(page), $"missing help page {page}");
            Assert.Contains(descriptor.Id, File.ReadAllText(page));
        }
    }

    [Fact]
    public void EveryIdIsTested()
    {
        // Build-configuration and backend diagnostics have no model source to mark: OptionsTests covers AOT0013, AOT0014
        // and AOT0017, TuningFileTests and TuningGeneratorTests AOT0015 and AOT0016, DynamicSizeTests AOT0018 and AOT0019.
        var tested = Cases.Select(c => (string)c[0]).Concat(new[] { "AOT0013", "AOT0014", "AOT0015", "AOT0016", "AOT0017", "AOT0018", "AOT0019" }).ToHashSet();
        var all = Aot.Generator.Diagnostics.DiagnosticDescriptors.All.Select(d => d.Id).Where(id => id != "AOT9999");
        Assert.Empty(all.Except(tested));
    }

    [Fact]
    public void IndependentMistakesAreAllReported()
    {
        var run = GeneratorHarness.Run(Header +
            "[Model] public partial class M {\n" +
            "  public Tensor Forward([Input(2, 3)] Tensor x, [Input(4)] Tensor y) {\n" +
            "    var a = Softmax(x, axis: 5);\n" +
            "    var b = x + y;\n" +
            "    return Relu(a) + b; } }");
        Assert.Equal(new[] { "AOT0003", "AOT0002" }, run.Diagnostics.Select(d => d.Id));
    }

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Aot.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Aot.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>[| and |] mark one expected span in a test source.</summary>
internal static class Markup
{
    public static (string Source, TextSpan Span) Parse(string marked)
    {
        int start = marked.IndexOf("[|", StringComparison.Ordinal);
        int end = marked.IndexOf("|]", StringComparison.Ordinal);
        if (start < 0 || end < start) throw new ArgumentException("source has no [| |] span");
        var source = marked.Remove(end, 2).Remove(start, 2);
        return (source, TextSpan.FromBounds(start, end - 2));
    }
}
