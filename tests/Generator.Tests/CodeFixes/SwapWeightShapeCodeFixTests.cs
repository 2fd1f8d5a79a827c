using System.Collections.Immutable;
using Aot.CodeFixes;
using Generator.Tests.Frontend;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace Generator.Tests.CodeFixes;

/// <summary>
/// The IDE's view of the most common mistake, a weight declared [in, out] where Linear needs [out, in]: the generator's
/// AOT0001 names the weight member, the code fix swaps its [Weight(a, b)] arguments, and the generator is then happy.
/// Runs in an in-memory AdhocWorkspace, as the IDE would.
/// </summary>
public class SwapWeightShapeCodeFixTests
{
    private const string LinearModel = GeneratorHarness.Usings + """
        namespace T;

        [Model]
        public partial class Bad
        {
            [Weight(784, 512, Name = "fc1.weight")] public Tensor? W { get; set; }
            [Weight(512, Name = "fc1.bias")] public Tensor? B { get; set; }

            public Tensor Forward([Input(1, 784)] Tensor x) => Relu(Linear(x, W!, B));
        }
        """;

    [Fact]
    public async Task LinearWithATransposedWeightIsFixedBySwappingItsShape()
    {
        var (workspace, documents) = Workspace(LinearModel);
        var diagnostic = await SingleAot0001(workspace.CurrentSolution);
        Assert.Equal("Linear: input [1, 784] has 784 features, weight [784, 512] expects 512 (weights are [out, in])", diagnostic.GetMessage());
        Assert.Equal("W", diagnostic.Properties["WeightMember"]);

        var action = Assert.Single(await Fixes(workspace.CurrentSolution.GetDocument(documents[0])!, diagnostic));
        Assert.Equal("Swap the weight's shape to [512, 784]", action.Title);
        await Apply(workspace, action);

        string text = (await workspace.CurrentSolution.GetDocument(documents[0])!.GetTextAsync()).ToString();
        Assert.Contains("[Weight(512, 784, Name = \"fc1.weight\")] public Tensor? W { get; set; }", text);
        await AssertGeneratorIsHappy(workspace.CurrentSolution);
    }

    [Fact]
    public async Task MatMulWithAWeightOperandIsFixedToo()
    {
        var (workspace, documents) = Workspace(GeneratorHarness.Usings + """
            namespace T;

            [Model]
            public partial class Proj
            {
                [Weight(10, 64)] private Tensor? _w;

                public Tensor Forward([Input(3, 64)] Tensor x) => MatMul(x, _w!);
            }
            """);
        var diagnostic = await SingleAot0001(workspace.CurrentSolution);
        Assert.Equal("_w", diagnostic.Properties["WeightMember"]);

        var action = Assert.Single(await Fixes(workspace.CurrentSolution.GetDocument(documents[0])!, diagnostic));
        Assert.Equal("Swap the weight's shape to [64, 10]", action.Title);
        await Apply(workspace, action);

        Assert.Contains("[Weight(64, 10)] private Tensor? _w;", (await workspace.CurrentSolution.GetDocument(documents[0])!.GetTextAsync()).ToString());
        await AssertGeneratorIsHappy(workspace.CurrentSolution);
    }

    [Fact]
    public async Task WeightDeclaredInAnotherPartialFileIsFixedThere()
    {
        var (workspace, documents) = Workspace(
            GeneratorHarness.Usings + """
            namespace T;

            public partial class Split
            {
                [Weight(8, 4)] public Tensor? W { get; set; }
            }
            """,
            GeneratorHarness.Usings + """
            namespace T;

            [Model]
            public partial class Split
            {
                public Tensor Forward([Input(2, 8)] Tensor x) => Linear(x, W!);
            }
            """);
        var diagnostic = await SingleAot0001(workspace.CurrentSolution);
        var action = Assert.Single(await Fixes(workspace.CurrentSolution.GetDocument(documents[1])!, diagnostic));
        await Apply(workspace, action);

        Assert.Contains("[Weight(4, 8)] public Tensor? W", (await workspace.CurrentSolution.GetDocument(documents[0])!.GetTextAsync()).ToString());
        await AssertGeneratorIsHappy(workspace.CurrentSolution);
    }

    [Theory]
    // Swapping [100, 200] cannot give 784 input features: no property, no fix.
    [InlineData("[Weight(100, 200)] public Tensor? W { get; set; }", "Linear(x, W!)")]
    // A layer of a stacked weight is not a [Weight(a, b)] declaration one could swap.
    [InlineData("[Weight(2, 784, 512)] public Tensor? W { get; set; }", "Linear(x, W![0])")]
    // A mismatch between two computed values names no weight.
    [InlineData("[Weight(3, 784)] public Tensor? W { get; set; }", "MatMul(x, Relu(W!))")]
    public async Task NoFixWhenSwappingAWeightDeclarationCannotResolveTheMismatch(string weight, string body)
    {
        var (workspace, documents) = Workspace(GeneratorHarness.Usings + $$"""
            namespace T;

            [Model]
            public partial class NoFix
            {
                {{weight}}

                public Tensor Forward([Input(1, 784)] Tensor x) => {{body}};
            }
            """);
        var diagnostic = await SingleAot0001(workspace.CurrentSolution);
        Assert.False(diagnostic.Properties.ContainsKey("WeightMember"));
        Assert.Empty(await Fixes(workspace.CurrentSolution.GetDocument(documents[0])!, diagnostic));
    }

    [Fact]
    public void DiagnosticInfoWithPropertiesStaysEquatable()
    {
        var a = Aot.Generator.Diagnostics.DiagnosticInfo.Create(Aot.Generator.Diagnostics.DiagnosticDescriptors.MatMulInnerDimension, null, "m",
            new[] { new Aot.Generator.Diagnostics.DiagnosticProperty("b", "2"), new Aot.Generator.Diagnostics.DiagnosticProperty("a", "1") });
        var b = Aot.Generator.Diagnostics.DiagnosticInfo.Create(Aot.Generator.Diagnostics.DiagnosticDescriptors.MatMulInnerDimension, null, "m",
            new[] { new Aot.Generator.Diagnostics.DiagnosticProperty("a", "1"), new Aot.Generator.Diagnostics.DiagnosticProperty("b", "2") });
        var c = Aot.Generator.Diagnostics.DiagnosticInfo.Create(Aot.Generator.Diagnostics.DiagnosticDescriptors.MatMulInnerDimension, null, "m");
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, c);
        Assert.Equal(c, Aot.Generator.Diagnostics.DiagnosticInfo.Create(Aot.Generator.Diagnostics.DiagnosticDescriptors.MatMulInnerDimension, null, "m"));
        Assert.Equal("1", a.ToDiagnostic().Properties["a"]);
        Assert.Empty(c.ToDiagnostic().Properties);
    }

    private static (AdhocWorkspace Workspace, DocumentId[] Documents) Workspace(params string[] sources)
    {
        var workspace = new AdhocWorkspace();
        var projectId = ProjectId.CreateNewId();
        var solution = workspace.CurrentSolution.AddProject(ProjectInfo.Create(
            projectId, VersionStamp.Create(), "ModelAssembly", "ModelAssembly", LanguageNames.CSharp,
            compilationOptions: new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable),
            parseOptions: GeneratorHarness.ParseOptions,
            metadataReferences: GeneratorHarness.References));
        var documents = new DocumentId[sources.Length];
        for (int i = 0; i < sources.Length; i++)
        {
            documents[i] = DocumentId.CreateNewId(projectId);
            solution = solution.AddDocument(documents[i], $"Model{i}.cs", SourceText.From(sources[i]), filePath: $"Model{i}.cs");
        }

        Assert.True(workspace.TryApplyChanges(solution));
        return (workspace, documents);
    }

    private static async Task<(ImmutableArray<Diagnostic> Diagnostics, Compilation Output)> RunGenerator(Solution solution)
    {
        var compilation = await solution.Projects.Single().GetCompilationAsync();
        GeneratorHarness.Driver().RunGeneratorsAndUpdateCompilation(compilation!, out var output, out var diagnostics);
        return (diagnostics, output);
    }

    private static async Task<Diagnostic> SingleAot0001(Solution solution)
    {
        var (diagnostics, _) = await RunGenerator(solution);
        return Assert.Single(diagnostics, d => d.Id == SwapWeightShapeCodeFix.DiagnosticId);
    }

    private static async Task<List<CodeAction>> Fixes(Document document, Diagnostic diagnostic)
    {
        var actions = new List<CodeAction>();
        var context = new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), CancellationToken.None);
        await new SwapWeightShapeCodeFix().RegisterCodeFixesAsync(context);
        return actions;
    }

    private static async Task Apply(AdhocWorkspace workspace, CodeAction action)
    {
        var operations = await action.GetOperationsAsync(CancellationToken.None);
        foreach (var operation in operations) operation.Apply(workspace, CancellationToken.None);
    }

    private static async Task AssertGeneratorIsHappy(Solution solution)
    {
        var (diagnostics, output) = await RunGenerator(solution);
        Assert.Empty(diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
    }
}
