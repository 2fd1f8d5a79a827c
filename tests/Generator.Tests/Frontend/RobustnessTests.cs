using Microsoft.CodeAnalysis;

namespace Generator.Tests.Frontend;

/// <summary>
/// The generator runs on every keystroke, so it sees broken code all the time. Over many malformed variants of
/// valid models (truncations, deleted and swapped tokens, wrong types, missing attributes) it must never throw and
/// never emit code that fails to compile; it reports diagnostics instead.
/// </summary>
public class RobustnessTests
{
    private static readonly string[] ValidModels =
    {
        GeneratorHarness.Usings + """
        namespace T;
        [Model]
        public partial class Mlp
        {
            [Weight(16, 8)] public Tensor? W1 { get; set; }
            [Weight(16)] public Tensor? B1 { get; set; }
            [Weight(4, 16)] public Tensor? W2 { get; set; }
            public Tensor Forward([Input(2, 8)] Tensor x)
            {
                var h = Gelu(Linear(x, W1!, B1), GeluMode.Tanh);
                for (int i = 0; i < 2; i++) h = h * 0.5f + Sigmoid(h);
                return Softmax(Linear(h, W2!), axis: -1);
            }
        }
        """,
        GeneratorHarness.Usings + """
        namespace T;
        [Model]
        public partial class Cnn
        {
            [Weight(4, 3, 3, 3)] public Tensor? K { get; set; }
            [Weight(4)] public Tensor? Kb { get; set; }
            [Weight(3, 4)] public Tensor? Fc { get; set; }
            static Tensor Block(Tensor x, Tensor k, Tensor b) => MaxPool2d(Relu(Conv2d(x, k, b, padding: 1)), 2);
            public Tensor Forward([Input(1, 3, 8, 8)] Tensor image)
            {
                var y = Block(image, K!, Kb!);
                var pooled = Reshape(GlobalAvgPool(y), 1, 4);
                return MatMul(pooled, Transpose(Fc!, 1, 0));
            }
        }
        """,
        GeneratorHarness.Usings + """
        namespace T;
        [Model]
        public partial class Embed
        {
            [Weight(10, 6)] public Tensor? Table { get; set; }
            [Weight(6)] public Tensor? G { get; set; }
            [Weight(6)] public Tensor? Bt { get; set; }
            public Tensor Forward([Input(1, 5, DType = DType.Int32)] Tensor ids)
            {
                var e = LayerNorm(Gather(Table!, ids), G!, Bt!);
                var parts = new[] { Slice(e, 2, 0, 3), Slice(e, 2, 3, 6) };
                return ReduceMean(Concat(parts, axis: 1), new[] { -1 }, keepDims: true);
            }
        }
        """,
    };

    [Fact]
    public void ValidModelsGenerateCompilingCode()
    {
        foreach (var source in ValidModels)
        {
            var run = GeneratorHarness.Run(source);
            Assert.Empty(run.Exceptions);
            Assert.Empty(run.Diagnostics);
            Assert.Single(run.Generated);
            Assert.Empty(run.GeneratedCodeProblems);
        }
    }

    [Fact]
    public void MalformedModelsNeverCrashTheGeneratorNorBreakGeneratedCode()
    {
        var random = new Random(12345);
        int variants = 0;
        foreach (var source in ValidModels)
        {
            foreach (var mutated in Mutations(source, random).Take(120))
            {
                variants++;
                var run = GeneratorHarness.Run(mutated);
                Assert.True(run.Exceptions.Length == 0, $"generator threw on:\n{mutated}\n{run.Exceptions.FirstOrDefault()}");
                Assert.DoesNotContain(run.Diagnostics, d => d.Id == "AOT9999");
                var problems = run.GeneratedCodeProblems;
                Assert.True(problems.Length == 0, $"generated code does not compile for:\n{mutated}\n{string.Join("\n", problems.Select(p => p.ToString()))}");
            }
        }

        Assert.True(variants >= 300);
    }

    private static IEnumerable<string> Mutations(string source, Random random)
    {
        var tree = Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText(source);
        var tokens = tree.GetRoot().DescendantTokens().Where(t => t.Span.Length > 0).ToArray();
        string[] replacements = { "3", "-1", "0", "x", "null", "Relu", "float", "int", "Tensor", ";", "(", ")", "{", "}", ",", "+", "[Model]", "1.5f", "\"s\"", "W1", "static" };

        // Truncations at token boundaries.
        for (int i = tokens.Length - 1; i > 0; i -= 7) yield return source.Substring(0, tokens[i].SpanStart);

        while (true)
        {
            var token = tokens[random.Next(tokens.Length)];
            switch (random.Next(3))
            {
                case 0: // delete a token
                    yield return source.Remove(token.SpanStart, token.Span.Length);
                    break;
                case 1: // replace it with another token
                    yield return source.Remove(token.SpanStart, token.Span.Length).Insert(token.SpanStart, replacements[random.Next(replacements.Length)]);
                    break;
                default: // swap two tokens
                    var other = tokens[random.Next(tokens.Length)];
                    if (other.SpanStart == token.SpanStart) continue;
                    var (first, second) = token.SpanStart < other.SpanStart ? (token, other) : (other, token);
                    yield return source.Substring(0, first.SpanStart) + second.Text + source.Substring(first.Span.End, second.SpanStart - first.Span.End) + first.Text + source.Substring(second.Span.End);
                    break;
            }
        }
    }
}
