using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace Aot.Onnx;

/// <summary>
/// Imports a model whose symbolic dimension (<see cref="OnnxImportOptions.Dynamic"/>, e.g. a sequence length) stays
/// dynamic up to a bound. The importer evaluates shapes with concrete sizes, so it runs at the bound and at three probe
/// sizes (<see cref="SizePolynomial.ProbeSizes"/>) and compares the DSL sources, which must differ only in integers:
/// <list type="bullet">
/// <item>in an input's <c>[Input(...)]</c>: the size itself, which becomes that input's <c>DynamicAxis</c>;</item>
/// <item>in a statement: a polynomial in the size, written over the first dynamic input's <c>Shape[axis]</c> (e.g. a
/// Reshape to <c>(12 * inputIds.Shape[1])</c>, a Slice ending at <c>inputIds.Shape[1]</c>), so the generated Forward
/// works at any size and the generator compiles it for every size up to the bound;</item>
/// <item>in a comment: the same polynomial over the dimension's name (<c>[1, sequence, 384]</c>).</item>
/// </list>
/// A weight whose shape depends on the size (a constant folded from the size), or a graph whose statements change with
/// it, is an <see cref="OnnxUnsupportedException"/> naming the line.
/// </summary>
internal static class DynamicImport
{
    private static readonly Regex IntegerLiteral = new(@"(?<![\w.])\d+(?![\w.])", RegexOptions.CultureInvariant);
    private static readonly Regex InputAttribute = new(@"\[Input\((?<args>[^)]*)\)\]\s*Tensor\s+(?<name>@?\w+)", RegexOptions.CultureInvariant);

    public static OnnxImportResult Run(OnnxModelProto model, OnnxImportOptions options, string? directory)
    {
        var (name, bound) = options.Dynamic!.Value;
        if (bound < 1) throw new ArgumentException($"the bound of dynamic dimension '{name}' must be positive, got {bound}");
        if (options.Dimensions.ContainsKey(name)) throw new ArgumentException($"dimension '{name}' is given both a value and a bound");
        var sizes = new[] { bound }.Concat(SizePolynomial.ProbeSizes(bound)).ToArray();
        var results = sizes.Select(size => new Converter(model, At(options, name, size), directory).Run()).ToArray();

        var prefixes = PrefixWeights(sizes, results, name);
        string source = Merge(sizes, results.Select(r => r.Source).ToArray(), name, prefixes);
        return new OnnxImportResult(source, results[0].Namespace, results[0].ClassName, results[0].Weights, results[0].OutputShape);
    }

    /// <summary>
    /// Constants folded from the size (e.g. a position table sliced to the sequence length): allowed when, at every
    /// probe, the constant is the first n entries of the bound's along one axis. They are stored at the bound and sliced
    /// in Forward. Returns the weight's index (the order of the [Weight] declarations) -> that axis; any other constant
    /// that changes with the size is an error.
    /// </summary>
    private static Dictionary<int, int> PrefixWeights(int[] sizes, OnnxImportResult[] results, string name)
    {
        var prefixes = new Dictionary<int, int>();
        var atBound = results[0].Weights;
        foreach (var other in results.Skip(1))
        {
            if (other.Weights.Count != atBound.Count || other.Weights.Where((w, i) => w.Key != atBound[i].Key).Any())
            {
                throw new OnnxUnsupportedException($"dynamic dimension '{name}': the set of constants changes with it; give it a value (--dim {name}=N)");
            }
        }

        for (int i = 0; i < atBound.Count; i++)
        {
            var bound = atBound[i].Value;
            var axes = Enumerable.Range(0, bound.Rank).Where(d => results.Any(r => r.Weights[i].Value.Rank != bound.Rank || r.Weights[i].Value.Shape[d] != bound.Shape[d])).ToArray();
            if (axes.Length == 0)
            {
                if (results.All(r => r.Weights[i].Value.Floats.SequenceEqual(bound.Floats))) continue;
                throw new OnnxUnsupportedException($"dynamic dimension '{name}': the values of the constant '{atBound[i].Key}' depend on it (computed at import time from the size), so it cannot stay dynamic; give it a value (--dim {name}=N)");
            }

            bool prefix = axes.Length == 1 && results.Select((r, k) => r.Weights[i].Value.Rank == bound.Rank && r.Weights[i].Value.Shape[axes[0]] == sizes[k] && IsPrefix(bound, r.Weights[i].Value, axes[0])).All(ok => ok);
            if (!prefix)
            {
                throw new OnnxUnsupportedException($"dynamic dimension '{name}': the constant '{atBound[i].Key}' depends on it (folded at import time from the size, and not as the first n entries of one axis), so it cannot stay dynamic; give it a value (--dim {name}=N)");
            }

            prefixes[i] = axes[0];
        }

        return prefixes;
    }

    /// <summary>Whether <paramref name="part"/> is <paramref name="whole"/>'s first entries along <paramref name="axis"/>.</summary>
    private static bool IsPrefix(Aot.Dsl.Tensor whole, Aot.Dsl.Tensor part, int axis)
    {
        var shape = whole.ShapeArray();
        int outer = shape.Take(axis).Aggregate(1, (p, d) => p * d);
        int inner = shape.Skip(axis + 1).Aggregate(1, (p, d) => p * d);
        int n = part.Shape[axis];
        for (int o = 0; o < outer; o++)
        {
            if (!whole.Floats.Slice(o * shape[axis] * inner, n * inner).SequenceEqual(part.Floats.Slice(o * n * inner, n * inner))) return false;
        }

        return true;
    }

    private static OnnxImportOptions At(OnnxImportOptions options, string name, int size)
    {
        var dims = new Dictionary<string, int>(options.Dimensions, StringComparer.Ordinal) { [name] = size };
        return new OnnxImportOptions { ClassName = options.ClassName, Dimensions = dims, SourceName = options.SourceName, Output = options.Output };
    }

    private static readonly Regex WeightMember = new(@"\)\] public Tensor\? (?<member>@?\w+) \{", RegexOptions.CultureInvariant);

    private static string Merge(int[] sizes, string[] sources, string name, Dictionary<int, int> prefixes)
    {
        int weightIndex = 0;
        var sliced = new Dictionary<string, int>(StringComparer.Ordinal); // member -> axis, for prefix constants
        var lines = sources.Select(s => s.Split('\n')).ToArray();
        if (lines.Any(l => l.Length != lines[0].Length)) throw Structure(name, "the number of statements");
        string? size = null; // the first dynamic input's Shape[axis], once its [Input] is seen
        var result = new StringBuilder();
        for (int i = 0; i < lines[0].Length; i++)
        {
            var at = lines.Select(l => l[i]).ToArray();
            if (i > 0) result.Append('\n');
            bool isWeight = at[0].TrimStart().StartsWith("[Weight(", StringComparison.Ordinal);
            if (isWeight) weightIndex++;
            if (at.All(l => l == at[0]))
            {
                result.Append(SliceConstants(at[0], sliced, size));
                continue;
            }

            if (isWeight && prefixes.TryGetValue(weightIndex - 1, out int axis) && WeightMember.Match(at[0]) is { Success: true } weight)
            {
                // Stored at the bound; Forward reads its first n entries.
                sliced[weight.Groups["member"].Value] = axis;
                result.Append(at[0]);
                continue;
            }

            if (at[0].Contains("[Weight(", StringComparison.Ordinal))
            {
                throw new OnnxUnsupportedException($"dynamic dimension '{name}': a weight's shape depends on it ('{at[0].Trim()}'); give it a value (--dim {name}=N)");
            }

            int comment = CommentStart(at[0]);
            string code = comment < 0 ? at[0] : at[0].Substring(0, comment);
            var codes = at.Select(l => comment < 0 ? l : l.Substring(0, Math.Min(comment, l.Length))).ToArray();
            if (code.Contains("[Input(", StringComparison.Ordinal))
            {
                result.Append(MarkDynamicInputs(sizes, codes, name, ref size));
            }
            else
            {
                result.Append(SliceConstants(Fit(sizes, codes, name, c => c.Render(size ?? throw Structure(name, "a statement before any input"))), sliced, size));
            }

            if (comment >= 0)
            {
                var comments = at.Select(l => CommentStart(l) is int c && c >= 0 ? l.Substring(c) : "").ToArray();
                result.Append(FitComment(sizes, comments, name));
            }
        }

        return result.ToString();
    }

    /// <summary>Each use (<c>Member!</c>) of a constant stored at the bound becomes its first n entries.</summary>
    private static string SliceConstants(string code, Dictionary<string, int> sliced, string? size)
    {
        foreach (var (member, axis) in sliced)
        {
            code = Regex.Replace(code, $@"(?<![\w.]){Regex.Escape(member)}!", _ => $"Slice({member}!, {axis}, 0, {size})");
        }

        return code;
    }

    /// <summary>The line with each literal that changes replaced by <paramref name="render"/> of its polynomial.</summary>
    private static string Fit(int[] sizes, string[] lines, string name, Func<SizePolynomial, string> render)
    {
        var skeletons = lines.Select(l => IntegerLiteral.Replace(l, "#")).ToArray();
        if (skeletons.Any(s => s != skeletons[0])) throw Structure(name, $"'{lines[0].Trim()}'");
        var matches = lines.Select(l => IntegerLiteral.Matches(l).Cast<Match>().ToArray()).ToArray();
        var result = new StringBuilder();
        int last = 0;
        for (int m = 0; m < matches[0].Length; m++)
        {
            var first = matches[0][m];
            result.Append(lines[0], last, first.Index - last);
            last = first.Index + first.Length;
            var values = matches.Select(ms => long.Parse(ms[m].Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            if (values.All(v => v == values[0]))
            {
                result.Append(first.Value);
                continue;
            }

            var p = SizePolynomial.Fit(sizes, values) ?? throw Structure(name, $"'{lines[0].Trim()}' (a number that is not a polynomial of the size)");
            result.Append(render(p));
        }

        return result.Append(lines[0], last, lines[0].Length - last).ToString();
    }

    /// <summary>Comments show sizes over the dimension's name; a number that fits no polynomial keeps its value at the bound.</summary>
    private static string FitComment(int[] sizes, string[] comments, string name)
    {
        try
        {
            return Fit(sizes, comments, name, p => p.Render(name).Replace(" ", ""));
        }
        catch (OnnxUnsupportedException)
        {
            return comments[0];
        }
    }

    /// <summary>The Forward signature with <c>DynamicAxis = a</c> added to each input whose shape has the size at a.</summary>
    private static string MarkDynamicInputs(int[] sizes, string[] lines, string name, ref string? size)
    {
        var attributes = lines.Select(l => InputAttribute.Matches(l).Cast<Match>().ToArray()).ToArray();
        if (lines.Any(l => InputAttribute.Replace(l, "#") != InputAttribute.Replace(lines[0], "#"))) throw Structure(name, $"'{lines[0].Trim()}'");
        var result = new StringBuilder();
        int last = 0;
        for (int a = 0; a < attributes[0].Length; a++)
        {
            var match = attributes[0][a];
            var args = attributes.Select(ms => ms[a].Groups["args"].Value.Split(',').Select(s => s.Trim()).ToArray()).ToArray();
            var dynamicAxes = Enumerable.Range(0, args[0].Length).Where(d => args.Any(x => x[d] != args[0][d])).ToArray();
            var argsGroup = match.Groups["args"];
            result.Append(lines[0], last, argsGroup.Index + argsGroup.Length - last);
            last = argsGroup.Index + argsGroup.Length;
            if (dynamicAxes.Length == 0) continue;
            string input = match.Groups["name"].Value;
            if (dynamicAxes.Length > 1 || !args.Select(x => x[dynamicAxes[0]]).SequenceEqual(sizes.Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture))))
            {
                throw new OnnxUnsupportedException($"dynamic dimension '{name}': input '{input}' has it on more than one axis or as more than the size itself; one axis per input is supported");
            }

            result.Append(", DynamicAxis = ").Append(dynamicAxes[0]);
            size ??= $"{input}.Shape[{dynamicAxes[0]}]";
        }

        return result.Append(lines[0], last, lines[0].Length - last).ToString();
    }

    /// <summary>Where a line's // comment starts (outside string literals), or -1.</summary>
    private static int CommentStart(string line)
    {
        bool inString = false;
        for (int i = 0; i + 1 < line.Length; i++)
        {
            if (line[i] == '"' && (i == 0 || line[i - 1] != '\\')) inString = !inString;
            else if (!inString && line[i] == '/' && line[i + 1] == '/') return i;
        }

        return -1;
    }

    private static OnnxUnsupportedException Structure(string name, string where) =>
        new($"dynamic dimension '{name}': the imported graph changes with it beyond its sizes ({where}); give it a value (--dim {name}=N)");
}
