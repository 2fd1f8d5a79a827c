using System;
using System.Collections.Generic;
using System.Linq;
using Aot.Generator.IR;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends.Gpu;

/// <summary>A kernel parameter: its name inside the kernel and the graph value the launch binds to it.</summary>
internal sealed record GpuParam(string Name, int Value);

/// <summary>
/// One generated ILGPU kernel and its launch: an explicitly grouped kernel (a static method taking one
/// <c>ArrayView</c> per parameter) launched as <see cref="Groups"/> groups of <see cref="GroupSize"/> threads, with
/// every shape, stride and size baked into <see cref="Body"/> as literals. <see cref="Helpers"/> writes extra static
/// methods the body calls (device functions, inlined by ILGPU).
/// <para>
/// A vectorized kernel names the parameters it accesses 128 bits at a time (<see cref="VectorParams"/>): they must be
/// 16-byte aligned. Arena and weight slots always are (PlanMemory aligns them to 64 bytes); where a caller's view is
/// bound to one of them, the launcher checks it on each run and launches <see cref="Fallback"/> (the same work without
/// vector accesses, loaded on first need) when it is not aligned.
/// </para>
/// </summary>
internal sealed record GpuKernel(
    string Summary,
    IReadOnlyList<GpuParam> Params,
    int Groups,
    int GroupSize,
    int SharedBytes,
    Action<CodeWriter> Body,
    Action<CodeWriter, string>? Helpers = null,
    IReadOnlyList<string>? VectorParams = null,
    GpuKernel? Fallback = null);

/// <summary>
/// Builds the kernels of one node. One mechanism per op family, in the partial files: elementwise and fused
/// elementwise (grid-stride loops with constant broadcast strides), tiled GEMM (MatMul, Gemm and Conv2d as an
/// implicit GEMM), group reductions (Softmax, LayerNorm, ReduceSum/Mean/Max, GlobalAvgPool), pooling, and data
/// movement (strided copies, Gather). The shared pieces live here: grid-stride loops and the decomposition of a
/// linear index into strided offsets.
/// <para>
/// Kernel-code conventions: parameters x0, x1, ... are the node's operands and y its result, all dense row-major;
/// the result never overlaps an operand (PlanMemory guarantees it). Kernels call only ILGPU intrinsics and
/// <c>Aot.Runtime.Gpu.GpuMath</c>, never Aot.Runtime, and allocate nothing.
/// </para>
/// </summary>
internal static partial class GpuKernels
{
    internal const string Grid = "global::ILGPU.Grid";
    internal const string Group = "global::ILGPU.Group";
    internal const string Shared = "global::ILGPU.SharedMemory";
    internal const string GMath = "global::Aot.Runtime.Gpu.GpuMath";

    /// <summary>ILGPU loads explicitly grouped kernels with at most 14 parameters.</summary>
    public const int MaxParams = 14;

    public static IReadOnlyList<GpuKernel> Build(Graph graph, Node node, GpuTarget target) => Build(graph, node, target, MatMulViews.None);

    /// <summary>The kernels of one node; <paramref name="views"/> says which operands and results of matrix products are
    /// strided views (folded Transposes).</summary>
    public static IReadOnlyList<GpuKernel> Build(Graph graph, Node node, GpuTarget target, MatMulViews views)
    {
        if (graph.TypeOf(node.Output).ElementCount == 0) return Array.Empty<GpuKernel>();
        var kernels = node.Op switch
        {
            OpKind.Constant => new[] { Constant(node, target) },
            var op when OpKindInfo.IsElementwise(op) || op == OpKind.Fused => new[] { Elementwise(graph, node, target) },
            OpKind.MatMul => new[] { MatMul(graph, node, target, views) },
            OpKind.Gemm => new[] { Gemm(graph, node, target) },
            OpKind.Conv2d => new[] { Conv2d(graph, node, target) },
            OpKind.ConvTranspose2d => new[] { ConvTranspose2d(graph, node, target) },
            var op when OpKindInfo.IsReduction(op) => new[] { Reduce(graph, node, target) },
            OpKind.GlobalAvgPool => new[] { GlobalAvgPool(graph, node, target) },
            OpKind.Softmax => new[] { Softmax(graph, node, target) },
            OpKind.LayerNorm => new[] { LayerNorm(graph, node, target) },
            OpKind.MaxPool2d or OpKind.AvgPool2d => new[] { Pool2d(graph, node, target) },
            OpKind.Resize => new[] { Resize(graph, node, target) },
            OpKind.Reshape => new[] { ReshapeCopy(graph, node, target) },
            OpKind.Transpose => new[] { Transpose(graph, node, target) },
            OpKind.Slice => new[] { Slice(graph, node, target) },
            OpKind.Concat => Concat(graph, node, target),
            OpKind.Gather => new[] { Gather(graph, node, target) },
            OpKind.Lstm => new[] { Lstm(graph, node, target) },
            _ => throw new NotSupportedException("the GPU backend has no kernel for " + node.Op),
        };
        foreach (var k in kernels)
        {
            if (k.Params.Count > MaxParams)
            {
                throw new NotSupportedException($"the GPU backend cannot launch {node.Op} with {k.Params.Count} tensor operands: ILGPU kernels take at most {MaxParams} parameters");
            }
        }

        return kernels;
    }

    /// <summary>x0, x1, ... for the node's operands, then y for its result.</summary>
    internal static List<GpuParam> NodeParams(Node node)
    {
        var ps = node.Inputs.Select((v, i) => new GpuParam("x" + Lit(i), v)).ToList();
        ps.Add(new GpuParam("y", node.Output));
        return ps;
    }

    private static GpuKernel Constant(Node node, GpuTarget target)
    {
        float value = node.Attrs.Float(AttrNames.Value);
        return new GpuKernel($"Constant {Lit(value)} -> y[]", NodeParams(node), 1, target.WarpSize, 0,
            w => w.Line($"if ({Grid}.IdxX == 0 && {Group}.IdxX == 0) y[0] = {Lit(value)};"));
    }

    // ---- Shared pieces ------------------------------------------------------------------------------------

    /// <summary>
    /// A grid-stride loop over <paramref name="n"/> elements with index <paramref name="index"/>: each of the
    /// launch's groups x threads starts at its global index and steps by the total thread count (a literal).
    /// </summary>
    internal static void GridStrideLoop(CodeWriter w, long n, int groups, int groupSize, string index, Action body)
    {
        using (w.Block($"for (int {index} = {Grid}.IdxX * {Lit(groupSize)} + {Group}.IdxX; {index} < {Lit(n)}; {index} += {Lit((long)groups * groupSize)})"))
        {
            body();
        }
    }

    /// <summary>
    /// A grid-stride loop over <paramref name="n"/> elements unrolled <paramref name="unroll"/> times: while all of a
    /// thread's next <paramref name="unroll"/> elements (index, index + stride, ...) exist, <paramref name="load"/> runs
    /// for each of them before <paramref name="store"/> runs for any, so every thread keeps that many independent loads in
    /// flight (a store between them would keep the compiler from moving later loads up, since it cannot rule out
    /// aliasing); the remaining elements take the plain loop. Both callbacks get the element's index expression and a
    /// suffix for their locals.
    /// </summary>
    internal static void UnrolledGridStride(CodeWriter w, long n, int groups, int groupSize, int unroll, Action<string, string> load, Action<string, string> store)
    {
        long stride = (long)groups * groupSize;
        if (n + unroll * stride > int.MaxValue) throw new NotSupportedException($"the GPU backend indexes tensors with 32-bit integers: {n} elements are too many");
        w.Line($"int i = {Grid}.IdxX * {Lit(groupSize)} + {Group}.IdxX;");
        if (unroll > 1 && n - (unroll - 1) * stride > 0)
        {
            using (w.Block($"for (; i < {Lit(n - (unroll - 1) * stride)}; i += {Lit(unroll * stride)})"))
            {
                for (int u = 0; u < unroll; u++)
                {
                    if (u > 0) w.Line($"int i_{u} = i + {Lit(u * stride)};");
                    load(u == 0 ? "i" : "i_" + u, "_" + u);
                }

                for (int u = 0; u < unroll; u++) store(u == 0 ? "i" : "i_" + u, "_" + u);
            }
        }

        using (w.Block($"for (; i < {Lit(n)}; i += {Lit(stride)})"))
        {
            load("i", "");
            store("i", "");
        }
    }

    /// <summary>A view addressed by <see cref="EmitOffsets"/>: offset = Base + sum(coordinate[d] * Strides[d]).</summary>
    internal sealed record StridedView(string Name, int[] Strides, string Base = "0");

    /// <summary>
    /// Declares, for linear index <paramref name="index"/> of a row-major walk over <paramref name="shape"/>, each
    /// view's element offset, and returns them as C# expressions. Coordinates come from divisions by literal extents
    /// (innermost first); the outermost coordinate needs no modulo. A rank-0 or rank-1 walk needs no locals.
    /// Locals are named <paramref name="prefix"/> + view name.
    /// </summary>
    internal static string[] EmitOffsets(CodeWriter w, string index, int[] shape, IReadOnlyList<StridedView> views, string prefix)
    {
        if (shape.Length == 0) return views.Select(v => v.Base).ToArray();
        if (shape.Length == 1) return views.Select(v => Plus(v.Base, Times(index, v.Strides[0]))).ToArray();
        var names = views.Select(v => prefix + v.Name).ToArray();
        for (int k = 0; k < views.Count; k++) w.Line($"int {names[k]} = {views[k].Base};");
        string q = prefix + "q";
        w.Line($"int {q} = {index};");
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            string c = prefix + "c" + Lit(d);
            if (d == 0) w.Line($"int {c} = {q};");
            else
            {
                w.Line($"int {c} = {q} % {Lit(shape[d])};");
                w.Line($"{q} /= {Lit(shape[d])};");
            }

            for (int k = 0; k < views.Count; k++)
            {
                if (views[k].Strides[d] != 0) w.Line($"{names[k]} += {Times(c, views[k].Strides[d])};");
            }
        }

        return names;
    }

    /// <summary>
    /// A shared-memory tree reduction of each thread's <paramref name="value"/> over a group of
    /// <paramref name="groupSize"/> (a power of two) threads, through the scratch buffer <paramref name="scratch"/>
    /// (at least groupSize floats); <paramref name="combine"/> is a format string over {0}, {1}. Leaves the result in
    /// <paramref name="result"/> (declared here) for every thread and ends with a barrier, so the scratch buffer can be
    /// reused. Every thread of the group must reach it.
    /// </summary>
    internal static void EmitGroupReduce(CodeWriter w, int groupSize, string scratch, string value, string combine, string result)
    {
        w.Line($"{scratch}[t] = {value};");
        w.Line($"{Group}.Barrier();");
        for (int s = groupSize / 2; s > 0; s /= 2)
        {
            w.Line($"if (t < {Lit(s)}) {scratch}[t] = {string.Format(combine, scratch + "[t]", scratch + "[t + " + Lit(s) + "]")};");
            w.Line($"{Group}.Barrier();");
        }

        w.Line($"float {result} = {scratch}[0];");
        w.Line($"{Group}.Barrier();");
    }

    internal static string ElementType(DType d) => d == DType.Int32 ? "int" : "float";
}
