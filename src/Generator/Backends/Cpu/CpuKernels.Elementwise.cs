using System;
using System.Collections.Generic;
using System.Linq;
using Aot.Generator.IR;

namespace Aot.Generator.Backends.Cpu;

// Elementwise ops: one broadcasting emitter, driven by a table of expressions.
internal static partial class CpuKernels
{
    /// <summary>
    /// An elementwise function as C# format strings over its operands {0}, {1} (locals of type float, or of type
    /// <c>Vector&lt;float&gt;</c> for <see cref="Vector"/>). <see cref="Vector"/> is null when no vector form
    /// computes exactly what the scalar form does; such ops run the scalar loop only.
    /// </summary>
    internal sealed record ElementwiseExpr(string Scalar, string? Vector);

    /// <summary>The table: what each elementwise op computes.</summary>
    private static ElementwiseExpr ElementwiseOf(Node node) => node.Op switch
    {
        OpKind.Add => new("{0} + {1}", "{0} + {1}"),
        OpKind.Sub => new("{0} - {1}", "{0} - {1}"),
        OpKind.Mul => new("{0} * {1}", "{0} * {1}"),
        OpKind.Div => new("{0} / {1}", "{0} / {1}"),
        OpKind.Max => new(FMath + ".Max({0}, {1})", KernelMath + ".Max({0}, {1})"),
        OpKind.Min => new(FMath + ".Min({0}, {1})", KernelMath + ".Min({0}, {1})"),
        OpKind.Pow => new(FMath + ".Pow({0}, {1})", null),
        OpKind.Relu => new(FMath + ".Max({0}, 0f)", KernelMath + ".Max({0}, " + Vec + ".Zero)"),

        // Exact Gelu as 0.5 x erfc(-x / sqrt 2) (= 0.5 x (1 + erf(x / sqrt 2)), without the cancellation for x << 0);
        // tanh Gelu as x / (1 + exp(-2u)) (= 0.5 x (1 + tanh u), u = sqrt(2/pi) (x + 0.044715 x^3), likewise).
        OpKind.Gelu => node.Attrs.Int(AttrNames.Mode) == 0
            ? new("0.5f * {0} * " + KernelMath + ".Erfc({0} * -0.70710677f)", null)
            : new("{0} / (1f + " + FMath + ".Exp(-1.5957692f * ({0} + 0.044715f * {0} * {0} * {0})))", null),
        OpKind.Sigmoid => new("1f / (1f + " + FMath + ".Exp(-{0}))", null),
        OpKind.Tanh => new(FMath + ".Tanh({0})", null),
        OpKind.Exp => new(FMath + ".Exp({0})", null),
        OpKind.Log => new(FMath + ".Log({0})", null),
        OpKind.Sqrt => new(FMath + ".Sqrt({0})", VectorOps + ".SquareRoot({0})"),
        OpKind.Rsqrt => new("1f / " + FMath + ".Sqrt({0})", Vec + ".One / " + VectorOps + ".SquareRoot({0})"),
        OpKind.Neg => new("-{0}", "-{0}"),
        OpKind.Abs => new(FMath + ".Abs({0})", VectorOps + ".Abs({0})"),
        OpKind.Erf => new(KernelMath + ".Erf({0})", null),
        _ => throw new NotSupportedException(node.Op + " is not elementwise"),
    };

    private static void EmitElementwiseNode(CodeWriter w, Graph graph, Node node)
    {
        var operands = node.Inputs.Select((v, i) => new ElementwiseOperand("x" + Lit(i), ShapeOf(graph, v))).ToArray();
        var outShape = ShapeOf(graph, node.Output);
        string args = string.Join(", ", operands.Select(o => o.Span + Fmt(o.Shape)));
        w.Line($"// y{Fmt(outShape)} = {node.Op}({args}), elementwise{(operands.Any(o => !o.Shape.SequenceEqual(outShape)) ? " with broadcasting" : "")}");
        EmitElementwise(w, outShape, operands, ElementwiseOf(node));
    }

    /// <summary>An operand of <see cref="EmitElementwise"/>: a span local and the shape it holds.</summary>
    internal sealed record ElementwiseOperand(string Span, int[] Shape);

    /// <summary>
    /// <c>y = f(operands)</c> over <paramref name="outShape"/>, operands broadcast with numpy rules. The iteration
    /// space is coalesced (see <see cref="Coalesce"/>), so same-shape operands and scalars become a single
    /// contiguous row; outer dimensions become loops that advance each operand by its broadcast stride (0 on
    /// broadcast axes), and every row runs a <c>Vector&lt;float&gt;</c> loop plus a scalar tail when the function has
    /// a vector form and each operand is either contiguous or constant along the row, the scalar loop otherwise.
    /// </summary>
    internal static void EmitElementwise(CodeWriter w, int[] outShape, IReadOnlyList<ElementwiseOperand> operands, ElementwiseExpr f)
    {
        var strides = new List<int[]> { RowMajorStrides(outShape) };
        strides.AddRange(operands.Select(o => BroadcastStrides(o.Shape, outShape)));
        var (shape, coalesced) = Coalesce(outShape, strides);
        var names = new[] { "oy" }.Concat(operands.Select((_, k) => "o" + OperandLetter(k))).ToArray();
        if (shape.Length == 0)
        {
            // A single element.
            w.Line($"y[0] = {string.Format(f.Scalar, operands.Select(o => o.Span + "[0]").ToArray())};");
            return;
        }

        int rank = shape.Length;
        var outerViews = names.Select((name, k) => new View(name, coalesced[k].Take(rank - 1).ToArray())).ToArray();
        var rowStrides = coalesced.Select(s => s[rank - 1]).ToArray();
        if (rank > 1) w.Line($"// {Lit(shape.Take(rank - 1).Aggregate(1L, (p, d) => p * d))} rows of {Lit(shape[rank - 1])}");
        EmitLoops(w, shape.Take(rank - 1).ToArray(), outerViews, offsets => EmitElementwiseRow(w, shape[rank - 1], offsets, rowStrides, operands, f));
    }

    /// <summary>a, b, c, ...: the name of operand k's element inside a row.</summary>
    private static string OperandLetter(int k) => ((char)('a' + k)).ToString();

    /// <summary>One row of <paramref name="n"/> outputs, contiguous in y; operand k starts at offsets[k + 1] and
    /// steps by rowStrides[k + 1] (offsets[0] is y's).</summary>
    private static void EmitElementwiseRow(CodeWriter w, int n, string[] offsets, int[] rowStrides, IReadOnlyList<ElementwiseOperand> operands, ElementwiseExpr f)
    {
        string oy = offsets[0];
        bool vector = f.Vector is not null && n >= MinVectorLength && rowStrides.Skip(1).All(s => s is 0 or 1);
        var scalars = new string[operands.Count];
        var vectors = new string[operands.Count];
        for (int k = 0; k < operands.Count; k++)
        {
            string letter = OperandLetter(k);
            scalars[k] = letter;
            vectors[k] = "v" + letter;
            if (rowStrides[k + 1] == 0)
            {
                // Constant along the row (broadcast): load once.
                w.Line($"float {letter} = {operands[k].Span}[{offsets[k + 1]}];");
                if (vector) w.Line($"var v{letter} = new {Vec}({letter});");
            }
        }

        void LoadRowElements(bool asVectors, string j)
        {
            for (int k = 0; k < operands.Count; k++)
            {
                if (rowStrides[k + 1] == 0) continue;
                string at = Plus(offsets[k + 1], Times(j, rowStrides[k + 1]));
                w.Line(asVectors
                    ? $"var v{OperandLetter(k)} = new {Vec}({operands[k].Span}.Slice({at}));"
                    : $"float {OperandLetter(k)} = {operands[k].Span}[{at}];");
            }
        }

        string scalar = string.Format(f.Scalar, scalars);
        if (!vector)
        {
            using (w.Block($"for (int j = 0; j < {Lit(n)}; j++)"))
            {
                LoadRowElements(false, "j");
                w.Line($"y[{Plus(oy, "j")}] = {scalar};");
            }

            return;
        }

        w.Line("int j = 0;");
        using (w.Block($"for (; j <= {Lit(n)} - {Lanes}; j += {Lanes})"))
        {
            LoadRowElements(true, "j");
            w.Line($"({string.Format(f.Vector!, vectors)}).CopyTo(y.Slice({Plus(oy, "j")}));");
        }

        using (w.Block($"for (; j < {Lit(n)}; j++)"))
        {
            LoadRowElements(false, "j");
            w.Line($"y[{Plus(oy, "j")}] = {scalar};");
        }
    }
}
