using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Aot.CodeFixes;

/// <summary>
/// AOT0001 from Linear or MatMul on a weight declared with its dimensions the wrong way round (the most common
/// model mistake: <c>[Weight(in, out)]</c> where <c>nn.Linear</c>'s layout is <c>[out, in]</c>). The generator
/// sets <see cref="DiagnosticProperties.WeightMember"/> only when swapping that weight's two dimensions resolves
/// the mismatch; this fix swaps the two arguments of its <c>[Weight(a, b)]</c> attribute.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(SwapWeightShapeCodeFix)), Shared]
public sealed class SwapWeightShapeCodeFix : CodeFixProvider
{
    public const string DiagnosticId = "AOT0001";
    private const string WeightAttribute = "Aot.Dsl.WeightAttribute";

    public override ImmutableArray<string> FixableDiagnosticIds => ImmutableArray.Create(DiagnosticId);

    // Each diagnostic names its own weight; fixing one changes what the others report, so no fix-all.
    public override FixAllProvider? GetFixAllProvider() => null;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(DiagnosticProperties.WeightMember, out var member) || string.IsNullOrEmpty(member)) continue;
            var target = await FindWeightAttributeAsync(context.Document, context.Span, member!, context.CancellationToken).ConfigureAwait(false);
            if (target is null) continue;
            var (document, attribute, first, second) = target.Value;
            string title = $"Swap the weight's shape to [{second.Value}, {first.Value}]";
            context.RegisterCodeFix(
                CodeAction.Create(title, ct => SwapAsync(document, attribute, ct), equivalenceKey: nameof(SwapWeightShapeCodeFix) + "." + member),
                diagnostic);
        }
    }

    /// <summary>The [Weight(a, b)] attribute of member <paramref name="memberName"/> of the model class around the
    /// diagnostic, with its two constant dimensions; null when it is not exactly that.</summary>
    private static async Task<(Document Document, AttributeSyntax Attribute, TypedConstant First, TypedConstant Second)?> FindWeightAttributeAsync(
        Document document, Microsoft.CodeAnalysis.Text.TextSpan span, string memberName, CancellationToken ct)
    {
        var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        var semanticModel = await document.GetSemanticModelAsync(ct).ConfigureAwait(false);
        if (root is null || semanticModel is null || span.End > root.FullSpan.End) return null;
        var typeSyntax = root.FindToken(span.Start).Parent?.AncestorsAndSelf().OfType<TypeDeclarationSyntax>().LastOrDefault(t => t is ClassDeclarationSyntax);
        if (typeSyntax is null || semanticModel.GetDeclaredSymbol(typeSyntax, ct) is not INamedTypeSymbol model) return null;

        foreach (var symbol in model.GetMembers(memberName).Where(m => m is IFieldSymbol or IPropertySymbol))
        {
            var data = symbol.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == WeightAttribute);
            if (data?.ApplicationSyntaxReference is not { } reference) continue;
            if (data.ConstructorArguments.Length != 1 || data.ConstructorArguments[0].Kind != TypedConstantKind.Array) continue;
            var dims = data.ConstructorArguments[0].Values;
            if (dims.Length != 2 || dims.Any(d => d.Value is not int)) continue;
            if (await reference.GetSyntaxAsync(ct).ConfigureAwait(false) is not AttributeSyntax attribute) continue;
            if (PositionalArguments(attribute).Count != 2) continue;
            var owner = document.Project.Solution.GetDocument(attribute.SyntaxTree);
            if (owner is null) continue;
            return (owner, attribute, dims[0], dims[1]);
        }

        return null;
    }

    private static List<AttributeArgumentSyntax> PositionalArguments(AttributeSyntax attribute) =>
        attribute.ArgumentList?.Arguments.Where(a => a.NameEquals is null && a.NameColon is null).ToList() ?? new List<AttributeArgumentSyntax>();

    private static async Task<Solution> SwapAsync(Document document, AttributeSyntax attribute, CancellationToken ct)
    {
        var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        if (root is null) return document.Project.Solution;
        var positional = PositionalArguments(attribute);
        var first = positional[0];
        var second = positional[1];
        // Swap the expressions and keep each slot's trivia, so `Weight(784, 512, Name = "fc1.weight")` becomes
        // `Weight(512, 784, Name = "fc1.weight")` with the formatting unchanged.
        var newFirst = first.WithExpression(second.Expression.WithTriviaFrom(first.Expression));
        var newSecond = second.WithExpression(first.Expression.WithTriviaFrom(second.Expression));
        var newRoot = root.ReplaceNodes(new[] { first, second }, (original, _) => original == first ? newFirst : newSecond);
        return document.WithSyntaxRoot(newRoot).Project.Solution;
    }
}
