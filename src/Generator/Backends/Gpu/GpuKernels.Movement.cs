using System.Collections.Generic;
using System.Linq;
using Aot.Generator.IR;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends.Gpu;

// Data movement: Reshape (into its own buffer), Transpose, Slice and Concat through one strided copy, one thread per
// output element; Gather. These kernels only move elements, so they work for any element type.
internal static partial class GpuKernels
{
    /// <summary>
    /// y[dstBase + sum(c[d] * dstStrides[d])] = src[srcBase + sum(c[d] * srcStrides[d])] for every coordinate c of
    /// <paramref name="shape"/>, walked in y's order by a grid-stride loop. The walk is coalesced first, so a
    /// contiguous copy is a single index.
    /// </summary>
    private static GpuKernel StridedCopy(string summary, IReadOnlyList<GpuParam> parameters, string src, int[] shape, int[] srcStrides, int srcBase, int[] dstStrides, int dstBase, GpuTarget target)
    {
        var (loops, strides) = Coalesce(shape, new[] { dstStrides, srcStrides });
        long n = Count(shape);
        var (groups, groupSize) = target.GridStride(n);
        return new GpuKernel(summary, parameters, groups, groupSize, 0, w =>
        {
            var dst = new Dictionary<string, string>();
            UnrolledGridStride(w, n, groups, groupSize, target.ElementwiseUnroll,
                (i, sfx) =>
                {
                    var offsets = EmitOffsets(w, i, loops, new[] { new StridedView("y", strides[0], Lit(dstBase)), new StridedView("x", strides[1], Lit(srcBase)) }, "o" + sfx);
                    w.Line($"var v{sfx} = {src}[{offsets[1]}];");
                    dst[sfx] = offsets[0];
                },
                (_, sfx) => w.Line($"y[{dst[sfx]}] = v{sfx};"));
        });
    }

    private static GpuKernel ReshapeCopy(Graph graph, Node node, GpuTarget target)
    {
        var shape = Shapes.Of(graph, node.Output);
        long n = Count(shape);
        return StridedCopy($"Reshape x0{Fmt(Shapes.Of(graph, node.Inputs[0]))} -> y{Fmt(shape)} into its own buffer: a plain copy",
            NodeParams(node), "x0", new[] { (int)n }, new[] { 1 }, 0, new[] { 1 }, 0, target);
    }

    private static GpuKernel Transpose(Graph graph, Node node, GpuTarget target)
    {
        var inShape = Shapes.Of(graph, node.Inputs[0]);
        var outShape = Shapes.Of(graph, node.Output);
        var perm = node.Attrs.Ints(AttrNames.Perm);
        var inStrides = RowMajorStrides(inShape);
        return StridedCopy($"Transpose x0{Fmt(inShape)} by {Fmt(perm)} -> y{Fmt(outShape)}: y walked in order, x0 with permuted strides",
            NodeParams(node), "x0", outShape, perm.Select(p => inStrides[p]).ToArray(), 0, RowMajorStrides(outShape), 0, target);
    }

    private static GpuKernel Slice(Graph graph, Node node, GpuTarget target)
    {
        var inShape = Shapes.Of(graph, node.Inputs[0]);
        var outShape = Shapes.Of(graph, node.Output);
        int axis = (int)node.Attrs.Int(AttrNames.Axis);
        int start = (int)node.Attrs.Int(AttrNames.Start);
        int step = (int)node.Attrs.Int(AttrNames.Step);
        var strides = RowMajorStrides(inShape);
        int first = start * strides[axis];
        if (outShape[axis] > 1) strides[axis] *= step; // a single element never takes the step (which may be huge)
        return StridedCopy($"Slice x0{Fmt(inShape)} along axis {axis}: {start}, {start}+{step}, ... -> y{Fmt(outShape)}",
            NodeParams(node), "x0", outShape, strides, first, RowMajorStrides(outShape), 0, target);
    }

    /// <summary>Concat: one copy launch per (non-empty) input into its band of y, so any number of inputs fits the
    /// kernel parameter limit.</summary>
    private static IReadOnlyList<GpuKernel> Concat(Graph graph, Node node, GpuTarget target)
    {
        var outShape = Shapes.Of(graph, node.Output);
        int axis = (int)node.Attrs.Int(AttrNames.Axis);
        var outStrides = RowMajorStrides(outShape);
        var kernels = new List<GpuKernel>();
        int offset = 0;
        for (int i = 0; i < node.Inputs.Count; i++)
        {
            var shape = Shapes.Of(graph, node.Inputs[i]);
            if (Count(shape) > 0)
            {
                kernels.Add(StridedCopy($"Concat along axis {axis}, input {i}: x0{Fmt(shape)} -> y{Fmt(outShape)}[..., {offset}:{offset + shape[axis]}, ...]",
                    new[] { new GpuParam("x0", node.Inputs[i]), new GpuParam("y", node.Output) },
                    "x0", shape, RowMajorStrides(shape), 0, outStrides, offset * outStrides[axis], target));
            }

            offset += shape[axis];
        }

        return kernels;
    }

    /// <summary>
    /// Gather along an axis, one thread per output element: y[o, t, q] = x0[o, index(t), q]. Negative indices count
    /// from the end; Float32 indices must hold integers. A kernel cannot throw, so an index still out of range after that (or a
    /// Float32 index that is not an integer) reads nothing and writes NaN
    /// (0 for Int32 data) instead of the CPU backend's IndexOutOfRangeException.
    /// </summary>
    private static GpuKernel Gather(Graph graph, Node node, GpuTarget target)
    {
        var dataShape = Shapes.Of(graph, node.Inputs[0]);
        var indexShape = Shapes.Of(graph, node.Inputs[1]);
        int axis = (int)node.Attrs.Int(AttrNames.Axis);
        int dim = dataShape[axis], inner = Product(dataShape, axis + 1, dataShape.Length);
        long count = Count(indexShape);
        long total = Count(Shapes.Of(graph, node.Output));
        string missing = graph.TypeOf(node.Inputs[0]).DType == DType.Int32 ? "0" : "float.NaN";
        string summary = $"Gather x0{Fmt(dataShape)} along axis {axis} at indices x1{Fmt(indexShape)} -> y{Fmt(Shapes.Of(graph, node.Output))}; " +
                         $"out-of-range indices give {missing}";
        var (groups, groupSize) = target.GridStride(total);
        return new GpuKernel(summary, NodeParams(node), groups, groupSize, 0, w =>
        {
            GridStrideLoop(w, total, groups, groupSize, "i", () =>
            {
                w.Line(inner == 1 ? "int q = 0, rest = i;" : $"int q = i % {Lit(inner)}, rest = i / {Lit(inner)};");
                w.Line(count == 1 ? "int t = 0, o = rest;" : $"int t = rest % {Lit(count)}, o = rest / {Lit(count)};");
                if (graph.TypeOf(node.Inputs[1]).DType == DType.Float32)
                {
                    // Float32 indices (integer ONNX inputs): a value that is not an integer, or out of range before the
                    // conversion, becomes -1 after the wrap below, so it is out of range too.
                    w.Line("float f = x1[t];");
                    w.Line($"if (f < 0f) f += {Lit(dim)};");
                    w.Line($"int index = f >= 0f && f < {Lit(dim)}f ? (int)f : -1;");
                    w.Line("if (index >= 0 && (float)index != f) index = -1;");
                }
                else
                {
                    w.Line("int index = x1[t];");
                    w.Line($"if (index < 0) index += {Lit(dim)};");
                }

                w.Line($"y[i] = (uint)index < {Lit(dim)}u ? x0[{Plus(Times("o", (long)dim * inner), Plus(Times("index", inner), "q"))}] : {missing};");
            });
        });
    }
}
