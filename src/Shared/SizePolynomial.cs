// Linked as source into Aot.Generator and Aot.Onnx: both learn how a number depends on a dynamic size by producing it
// at several sizes (the generator its kernels, the importer its DSL source) and fitting it here, defined once.
using System.Collections.Generic;
using System.Globalization;
#if AOT_GENERATOR
namespace Aot.Generator;
#else
namespace Aot.Onnx;
#endif

/// <summary>c2 s^2 + c1 s + c0 with integer coefficients: a number in terms of a dynamic size s.</summary>
internal readonly record struct SizePolynomial(long C2, long C1, long C0)
{
    public bool IsConstant => C2 == 0 && C1 == 0;

    /// <summary>The polynomial through every (sizes[k], values[k]) (at least three points; the rest are a check), or null.</summary>
    public static SizePolynomial? Fit(IReadOnlyList<int> sizes, IReadOnlyList<long> values)
    {
        // Newton's divided differences through the first three points.
        double x0 = sizes[0], x1 = sizes[1], x2 = sizes[2];
        double d01 = (values[1] - values[0]) / (x1 - x0);
        double d12 = (values[2] - values[1]) / (x2 - x1);
        double c2 = (d12 - d01) / (x2 - x0);
        double c1 = d01 - c2 * (x0 + x1);
        double c0 = values[0] - c1 * x0 - c2 * x0 * x0;
        var p = new SizePolynomial((long)System.Math.Round(c2), (long)System.Math.Round(c1), (long)System.Math.Round(c0));
        for (int k = 0; k < sizes.Count; k++)
        {
            if (p.At(sizes[k]) != values[k]) return null;
        }

        return p;
    }

    /// <summary>
    /// Sizes other than the bound to produce the code at: three, none of them 1 (a size of 1 broadcasts, which would
    /// change the graph), below the bound when it leaves room, above it otherwise (only the code is compared there).
    /// </summary>
    public static int[] ProbeSizes(int bound) => bound >= 5
        ? new[] { bound - 1, bound - 2, bound - 3 }
        : new[] { bound + 1, bound + 2, bound + 3 };

    public long At(long s) => C2 * s * s + C1 * s + C0;

    /// <summary>A C# expression over <paramref name="size"/> (a local or a member access such as <c>x.Shape[1]</c>),
    /// parenthesized unless it is that operand alone.</summary>
    public string Render(string size)
    {
        if (C2 == 0 && C1 == 1 && C0 == 0) return size;
        var terms = new List<string>();
        if (C2 != 0) terms.Add(Term(C2, size + " * " + size));
        if (C1 != 0) terms.Add(Term(C1, size));
        if (C0 != 0 || terms.Count == 0) terms.Add(C0.ToString(CultureInfo.InvariantCulture));
        return "(" + string.Join(" + ", terms).Replace("+ -", "- ") + ")";

        static string Term(long c, string power) => c == 1 ? power : c.ToString(CultureInfo.InvariantCulture) + " * " + power;
    }
}
