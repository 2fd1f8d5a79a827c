using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace Aot.Generator.Backends.Cpu;

/// <summary>
/// Turns the kernels of a model with a dynamic size into code that reads the size at run time. The kernels are
/// emitted once per probe size (the bound and <see cref="Models.DynamicSize.ProbeSizes"/>) by the same static
/// emitter; the texts must then be identical except for integer literals. A literal equal at every probe is kept;
/// one that changes is a size that follows the dynamic size: it is fitted as c2 s^2 + c1 s + c0 (s the size; the
/// square covers strides of s x s attention scores) with integer coefficients through three probes, checked at the
/// fourth, and written as that expression over <see cref="Variable"/>. So every static kernel, its vector loops,
/// strides and GEMM calls included, serves dynamic sizes without a second emitter.
/// <para>
/// Comment lines are taken from the bound's text (they show the sizes at the bound). Code whose shape changes
/// with the size (a different loop structure, a literal that is not such a polynomial) is refused with a reason.
/// Decisions the emitter makes from sizes (vector loop or not, tiles) are made at the probes, which are at least 2,
/// and stay valid for smaller sizes: loops run fewer times, tiles are clamped by the runtime GEMM.
/// </para>
/// </summary>
internal static class DynamicCode
{
    /// <summary>The local holding the run-time size in generated code.</summary>
    public const string Variable = "dynamicSize";

    // An integer literal: digits not part of an identifier, a float (1.5f, 2e-3f) or a suffixed literal (1L, 2f).
    private static readonly Regex IntegerLiteral = new(@"(?<![\w.])\d+(?![\w.])", RegexOptions.CultureInvariant);

    /// <summary>
    /// The code of <paramref name="texts"/> (one per size in <paramref name="sizes"/>, the bound's first) with the
    /// size-dependent literals as expressions, or null and the first difference that is not such a literal.
    /// </summary>
    public static string? Fit(IReadOnlyList<int> sizes, IReadOnlyList<string> texts, out string? problem)
    {
        problem = null;
        var lines = texts.Select(t => t.Split('\n')).ToArray();
        if (lines.Any(l => l.Length != lines[0].Length))
        {
            problem = "the kernels have a different number of lines at different sizes";
            return null;
        }

        var result = new StringBuilder();
        for (int i = 0; i < lines[0].Length; i++)
        {
            string line = lines[0][i];
            if (i > 0) result.Append('\n');
            if (line.TrimStart().StartsWith("//", StringComparison.Ordinal))
            {
                result.Append(line);
                continue;
            }

            var fitted = FitLine(sizes, lines.Select(l => l[i]).ToArray(), out problem);
            if (fitted is null) return null;
            result.Append(fitted);
        }

        return result.ToString();
    }

    private static string? FitLine(IReadOnlyList<int> sizes, string[] lines, out string? problem)
    {
        problem = null;
        var matches = lines.Select(l => IntegerLiteral.Matches(l).Cast<Match>().ToArray()).ToArray();
        var skeletons = lines.Select(l => IntegerLiteral.Replace(l, "#")).ToArray();
        if (skeletons.Any(s => s != skeletons[0]))
        {
            problem = $"the kernel code changes with the size beyond its numbers: '{lines[0].Trim()}' at size {sizes[0]}, '{lines.First(l => IntegerLiteral.Replace(l, "#") != skeletons[0]).Trim()}' at another";
            return null;
        }

        var result = new StringBuilder();
        int last = 0;
        for (int m = 0; m < matches[0].Length; m++)
        {
            var values = matches.Select(ms => long.Parse(ms[m].Value, CultureInfo.InvariantCulture)).ToArray();
            var at = matches[0][m];
            result.Append(lines[0], last, at.Index - last);
            last = at.Index + at.Length;
            if (values.All(v => v == values[0]))
            {
                result.Append(at.Value);
                continue;
            }

            if (SizePolynomial.Fit(sizes, values) is not { } p)
            {
                problem = $"a number in '{lines[0].Trim()}' ({string.Join(", ", values)} at sizes {string.Join(", ", sizes)}) is not a polynomial of degree 2 in the size";
                return null;
            }

            result.Append(p.Render(Variable));
        }

        result.Append(lines[0], last, lines[0].Length - last);
        return result.ToString();
    }
}
