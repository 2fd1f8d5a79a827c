using System.Linq;
using Aot.Generator.IR;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends.Cpu;

// Data movement: Transpose, Slice and Concat through one strided copy; Gather (checked indices). Reshape is a
// plain copy (in CpuKernels.Emit). These kernels only move elements, so they work for any element type.
internal static partial class CpuKernels
{
    /// <summary>
    /// Copies a strided view of <paramref name="src"/> into a strided view of y, both walked over
    /// <paramref name="shape"/>. After coalescing, a row that is contiguous on both sides is one span copy.
    /// </summary>
    /// <param name="parallel">Whether a large float copy may be split between threads over its outermost loop (the
    /// source must then be x0; see <see cref="EmitParallelLoops"/>).</param>
    private static void EmitStridedCopy(CodeWriter w, int[] shape, string src, int[] srcStrides, int srcBase, int[] dstStrides, int dstBase, bool parallel = false)
    {
        var (loops, strides) = Coalesce(shape, new[] { dstStrides, srcStrides });
        long elements = loops.Aggregate(1L, (p, d) => p * d);
        if (parallel && src == "x0" && loops.Length > 1 && elements >= ParallelMinElements)
        {
            w.Line($"// Split between threads over the outermost loop when there is a pool.");
            EmitParallelLoops(w, loops[0], 1, elements, 1, range => EmitStridedCopyLoops(w, loops, strides, src, srcBase, dstBase, range));
            return;
        }

        EmitStridedCopyLoops(w, loops, strides, src, srcBase, dstBase, null);
    }

    private static void EmitStridedCopyLoops(CodeWriter w, int[] loops, int[][] strides, string src, int srcBase, int dstBase, (string From, string To)? outerRange)
    {
        if (loops.Length == 0)
        {
            w.Line($"y[{Lit(dstBase)}] = {src}[{Lit(srcBase)}];");
            return;
        }

        int rank = loops.Length, n = loops[rank - 1];
        int dstStep = strides[0][rank - 1], srcStep = strides[1][rank - 1];
        var views = new[]
        {
            new View("oy", strides[0].Take(rank - 1).ToArray(), Lit(dstBase)),
            new View("ox", strides[1].Take(rank - 1).ToArray(), Lit(srcBase)),
        };
        if (rank > 1) w.Line($"// {Lit(loops.Take(rank - 1).Aggregate(1L, (p, d) => p * d))} rows of {Lit(n)}");
        EmitLoops(w, loops.Take(rank - 1).ToArray(), views, offsets =>
        {
            if (dstStep == 1 && srcStep == 1)
            {
                w.Line($"{src}.Slice({offsets[1]}, {Lit(n)}).CopyTo(y.Slice({offsets[0]}, {Lit(n)}));");
            }
            else
            {
                w.Line($"for (int j = 0; j < {Lit(n)}; j++) y[{Plus(offsets[0], Times("j", dstStep))}] = {src}[{Plus(offsets[1], Times("j", srcStep))}];");
            }
        }, outerRange: outerRange);
    }

    private static void EmitTranspose(CodeWriter w, Graph graph, Node node, bool staticLambdas)
    {
        var inShape = Shapes.Of(graph, node.Inputs[0]);
        var outShape = Shapes.Of(graph, node.Output);
        var perm = node.Attrs.Ints(AttrNames.Perm);
        var inStrides = RowMajorStrides(inShape);
        w.Line($"// Transpose x0{Fmt(inShape)} by {Fmt(perm)} -> y{Fmt(outShape)}: y walked in order, x0 with permuted strides");
        EmitStridedCopy(w, outShape, "x0", perm.Select(p => inStrides[p]).ToArray(), 0, RowMajorStrides(outShape), 0,
            parallel: staticLambdas && graph.TypeOf(node.Inputs[0]).DType == DType.Float32);
    }

    private static void EmitSlice(CodeWriter w, Graph graph, Node node)
    {
        var inShape = Shapes.Of(graph, node.Inputs[0]);
        var outShape = Shapes.Of(graph, node.Output);
        int axis = (int)node.Attrs.Int(AttrNames.Axis);
        int start = (int)node.Attrs.Int(AttrNames.Start);
        int step = (int)node.Attrs.Int(AttrNames.Step);
        var strides = RowMajorStrides(inShape);
        int first = start * strides[axis];
        if (outShape[axis] > 1) strides[axis] *= step; // a single element never takes the step (which may be huge)
        w.Line($"// Slice x0{Fmt(inShape)} along axis {axis}: {start}, {start}+{step}, ... -> y{Fmt(outShape)}");
        EmitStridedCopy(w, outShape, "x0", strides, first, RowMajorStrides(outShape), 0);
    }

    private static void EmitConcat(CodeWriter w, Graph graph, Node node)
    {
        var outShape = Shapes.Of(graph, node.Output);
        int axis = (int)node.Attrs.Int(AttrNames.Axis);
        var outStrides = RowMajorStrides(outShape);
        w.Line($"// Concat along axis {axis} -> y{Fmt(outShape)}: each input is copied into its band of y");
        int offset = 0;
        for (int i = 0; i < node.Inputs.Count; i++)
        {
            var shape = Shapes.Of(graph, node.Inputs[i]);
            if (shape.Contains(0))
            {
                w.Line($"// x{i}{Fmt(shape)} is empty.");
                continue;
            }

            using (Step(w, $"x{i}{Fmt(shape)} -> y[..., {offset}:{offset + shape[axis]}, ...]"))
            {
                EmitStridedCopy(w, shape, "x" + Lit(i), RowMajorStrides(shape), 0, outStrides, offset * outStrides[axis]);
            }

            offset += shape[axis];
        }
    }

    private static void EmitGather(CodeWriter w, Graph graph, Node node)
    {
        var dataShape = Shapes.Of(graph, node.Inputs[0]);
        var indexShape = Shapes.Of(graph, node.Inputs[1]);
        int axis = (int)node.Attrs.Int(AttrNames.Axis);
        int outer = Product(dataShape, 0, axis), dim = dataShape[axis], inner = Product(dataShape, axis + 1, dataShape.Length);
        int count = Product(indexShape, 0, indexShape.Length);
        bool floatIndices = graph.TypeOf(node.Inputs[1]).DType == DType.Float32;
        w.Line($"// Gather x0{Fmt(dataShape)} along axis {axis} at indices x1{Fmt(indexShape)} -> y{Fmt(Shapes.Of(graph, node.Output))}: copies of {inner}-element blocks");
        EmitLoops(w, outer == 1 ? new int[0] : new[] { outer }, new[] { new View("oy", new[] { count * inner }), new View("ox", new[] { dim * inner }) }, offsets =>
        {
            using (w.Block($"for (int t = 0; t < {Lit(count)}; t++)"))
            {
                if (floatIndices)
                {
                    // Float32 indices (integer ONNX inputs): exact integers only; the range check below is done on the
                    // float so that a huge value is not wrapped by the conversion.
                    w.Line("float f = x1[t];");
                    w.Line($"if (f < 0f) f += {Lit(dim)};");
                    w.Line($"int index = f >= 0f && f < {Lit(dim)}f ? (int)f : -1;");
                    w.Line($"if (index < 0 || (float)index != f) throw new global::System.IndexOutOfRangeException($\"Gather: index {{x1[t]}} is out of range or not an integer for axis {axis} of size {dim} (valid: integers {-dim} to {dim - 1})\");");
                }
                else
                {
                    w.Line("int index = x1[t];");
                    w.Line($"if (index < 0) index += {Lit(dim)};");
                    w.Line($"if ((uint)index >= {Lit(dim)}u) throw new global::System.IndexOutOfRangeException($\"Gather: index {{x1[t]}} is out of range for axis {axis} of size {dim} (valid: {-dim} to {dim - 1})\");");
                }

                string from = Plus(offsets[1], Times("index", inner));
                string to = Plus(offsets[0], Times("t", inner));
                w.Line(inner == 1
                    ? $"y[{to}] = x0[{from}];"
                    : $"x0.Slice({from}, {Lit(inner)}).CopyTo(y.Slice({to}, {Lit(inner)}));");
            }
        }, index: "o");
    }
}
