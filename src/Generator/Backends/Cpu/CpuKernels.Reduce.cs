using System.Linq;
using Aot.Generator.IR;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends.Cpu;

// Reductions (ReduceSum/Mean/Max, also GlobalAvgPool), Softmax and LayerNorm.
internal static partial class CpuKernels
{
    private enum ReduceKind
    {
        Sum,
        Mean,
        Max,
    }

    private static void EmitReduceNode(CodeWriter w, Graph graph, Node node)
    {
        var kind = node.Op switch
        {
            OpKind.ReduceSum => ReduceKind.Sum,
            OpKind.ReduceMean => ReduceKind.Mean,
            _ => ReduceKind.Max,
        };
        var axes = node.Attrs.Ints(AttrNames.Axes);
        var inShape = Shapes.Of(graph, node.Inputs[0]);
        w.Line($"// {node.Op} of x0{Fmt(inShape)} over axes {Fmt(axes)} -> y{Fmt(Shapes.Of(graph, node.Output))}");
        EmitReduce(w, inShape, axes, kind);
    }

    /// <summary>
    /// y = reduce(x0) over <paramref name="axes"/>; y holds the kept axes in order (keepdims only adds size-1
    /// axes, which do not change the layout). A loop nest over the kept axes (outer) contains one over the reduced
    /// axes (inner), each coalesced. Sums accumulate in double; Max uses MathF.Max, so NaN propagates; the mean
    /// of an empty set is NaN and its max -infinity.
    /// </summary>
    private static void EmitReduce(CodeWriter w, int[] inShape, int[] axes, ReduceKind kind)
    {
        var inStrides = RowMajorStrides(inShape);
        var kept = Enumerable.Range(0, inShape.Length).Where(d => !axes.Contains(d)).ToArray();
        var reduced = axes.OrderBy(d => d).ToArray();
        var keptShape = kept.Select(d => inShape[d]).ToArray();
        var reducedShape = reduced.Select(d => inShape[d]).ToArray();
        long count = reducedShape.Aggregate(1L, (p, d) => p * d);

        var (outer, outerStrides) = Coalesce(keptShape, new[] { RowMajorStrides(keptShape), kept.Select(d => inStrides[d]).ToArray() });
        var (inner, innerStrides) = Coalesce(reducedShape, new[] { reduced.Select(d => inStrides[d]).ToArray() });
        var outerViews = new[] { new View("oy", outerStrides[0]), new View("ox", outerStrides[1]) };
        EmitLoops(w, outer, outerViews, offsets =>
        {
            w.Line(kind == ReduceKind.Max ? "float acc = float.NegativeInfinity;" : "double acc = 0.0;");
            w.Line($"// over the {Lit(count)} reduced elements");
            EmitLoops(w, inner, new[] { new View("rx", innerStrides[0], offsets[1]) }, at =>
            {
                w.Line(kind == ReduceKind.Max ? $"acc = {FMath}.Max(acc, x0[{at[0]}]);" : $"acc += x0[{at[0]}];");
            }, index: "r");
            w.Line(kind switch
            {
                ReduceKind.Sum => $"y[{offsets[0]}] = (float)acc;",
                ReduceKind.Mean => $"y[{offsets[0]}] = (float)(acc / {Lit(count)});",
                _ => $"y[{offsets[0]}] = acc;",
            });
        });
    }

    /// <summary>
    /// Splits <paramref name="shape"/> around the axes [from, to): outer = product before, n = product of those
    /// axes, inner = product after. Rows of n elements (stride inner) start at o * n * inner + q for o &lt; outer,
    /// q &lt; inner; returns the coalesced loop nest over (o, q) and its start stride per dimension.
    /// </summary>
    private static (int N, int Inner, int[] Shape, int[] Strides) Rows(int[] shape, int from, int to)
    {
        int outer = Product(shape, 0, from), n = Product(shape, from, to), inner = Product(shape, to, shape.Length);
        var (loops, strides) = Coalesce(new[] { outer, inner }, new[] { new[] { n * inner, 1 } });
        return (n, inner, loops, strides[0]);
    }

    private static void EmitSoftmax(CodeWriter w, Graph graph, Node node)
    {
        var shape = Shapes.Of(graph, node.Inputs[0]);
        int axis = (int)node.Attrs.Int(AttrNames.Axis);
        var (n, inner, loops, strides) = Rows(shape, axis, axis + 1);
        string at = Times("t", inner);
        w.Line($"// Softmax of x0{Fmt(shape)} along axis {axis}: rows of {n} elements with stride {inner}; exp(x - max) / sum");
        if (inner == 1)
        {
            // Contiguous rows: one runtime call over all of them, split between the pool's threads when large enough.
            int rows = Product(shape, 0, axis);
            w.Line($"{RowKernels}.Softmax(x0, y, {Lit(rows)}, {Lit(n)}, _pool);");
            return;
        }

        EmitLoops(w, loops, new[] { new View("row", strides) }, offsets =>
        {
            string start = offsets[0];
            string At(string s) => Plus(s, at);
            w.Line("float max = float.NegativeInfinity;");
            w.Line($"for (int t = 0; t < {Lit(n)}; t++) max = {FMath}.Max(max, x0[{At(start)}]);");
            w.Line("double sum = 0.0;");
            using (w.Block($"for (int t = 0; t < {Lit(n)}; t++)"))
            {
                w.Line($"float e = {FMath}.Exp(x0[{At(start)}] - max);");
                w.Line($"y[{At(start)}] = e;");
                w.Line("sum += e;");
            }

            w.Line("float scale = (float)(1.0 / sum);");
            w.Line($"for (int t = 0; t < {Lit(n)}; t++) y[{At(start)}] *= scale;");
        }, index: "q");
    }

    private static void EmitLayerNorm(CodeWriter w, Graph graph, Node node)
    {
        var shape = Shapes.Of(graph, node.Inputs[0]);
        int axis = (int)node.Attrs.Int(AttrNames.Axis);
        float epsilon = node.Attrs.Float(AttrNames.Epsilon);
        int n = Product(shape, axis, shape.Length), rows = Product(shape, 0, axis);
        w.Line($"// LayerNorm of x0{Fmt(shape)} over axes {axis}..{shape.Length - 1} ({n} elements per row): (x - mean) / sqrt(biased var + {Lit(epsilon)}) * x1 + x2");
        w.Line($"{RowKernels}.LayerNorm(x0, x1, x2, {Lit(epsilon)}, y, {Lit(rows)}, {Lit(n)}, _pool);");
    }
}
