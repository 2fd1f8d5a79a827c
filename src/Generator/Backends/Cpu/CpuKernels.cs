using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Aot.Generator.IR;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends.Cpu;

/// <summary>
/// Emits the body of one node's kernel. The caller has declared, in a fresh block, the operands as
/// <c>ReadOnlySpan&lt;T&gt; x0, x1, ...</c> and the result as <c>Span&lt;T&gt; y</c>, all dense row-major with
/// the shapes in the graph; the result never overlaps an operand. <c>_pool</c> (a WorkerPool, null for one
/// thread) is in scope for kernels that split work across threads.
/// <para>
/// Every shape is known here, so kernels are loops specialized to constant extents and strides (computed in the
/// generator, emitted as literals). One mechanism per op family, in the partial files: elementwise, single or
/// fused (one broadcasting emitter driven by a table of scalar/vector expressions), matrix products, reductions and
/// normalizations, data movement (one strided copy), convolution and pooling. The shared pieces live here:
/// <see cref="Coalesce"/> + <see cref="EmitLoops"/> (a loop nest over strided views) and <see cref="EmitAxpy"/>.
/// </para>
/// <para>
/// Generated-code conventions: no allocation (spans and locals only; the only <c>new</c> on a hot path is
/// <c>Vector&lt;float&gt;</c>, a struct), fully qualified <c>global::</c> names, loop indices i0, i1, ... and
/// offset locals named after the view they address (oy0 = offset into y at loop depth 0).
/// </para>
/// </summary>
internal static partial class CpuKernels
{
    internal const string FMath = "global::System.MathF";
    internal const string DMath = "global::System.Math";
    internal const string SpanF = "global::System.Span<float>";
    internal const string ReadOnlySpanF = "global::System.ReadOnlySpan<float>";
    internal const string Vec = "global::System.Numerics.Vector<float>";
    internal const string VectorOps = "global::System.Numerics.Vector";
    internal const string KernelMath = "global::Aot.Runtime.KernelMath";
    internal const string Sgemm = "global::Aot.Runtime.Cpu.Sgemm";
    internal const string RowKernels = "global::Aot.Runtime.Cpu.RowKernels";

    /// <summary>Lanes of <c>Vector&lt;float&gt;</c>: a JIT-time constant (8 with AVX2, 4 with SSE/NEON).</summary>
    internal const string Lanes = Vec + ".Count";

    /// <summary>
    /// The vector type a loop is written in: <see cref="Numerics"/> (<c>System.Numerics.Vector&lt;float&gt;</c>, whose
    /// width the runtime picks) or <see cref="Wide"/> (<c>Vector512&lt;float&gt;</c>, emitted ahead of it under
    /// <c>Vector512.IsHardwareAccelerated</c>). Vector expressions are written once with the tokens <see cref="One"/>,
    /// <see cref="Splat"/>, <see cref="Sqrt"/> and <see cref="Abs"/>, which <see cref="Expand"/> spells for a type;
    /// arithmetic operators and KernelMath's overloads are the same for both.
    /// </summary>
    internal sealed record VectorType(string Name, string Ops, string Lanes, string SplatCall, string SqrtCall)
    {
        public const string One = "$One", Splat = "$Splat", Sqrt = "$Sqrt", Abs = "$Abs";

        /// <summary>Floats in a <see cref="Wide"/> vector (and in a 64-byte cache line).</summary>
        public const int WideLanes = 16;

        public static readonly VectorType Numerics = new(Vec, VectorOps, CpuKernels.Lanes, "new " + Vec, VectorOps + ".SquareRoot");

        public static readonly VectorType Wide = new(
            "global::System.Runtime.Intrinsics.Vector512<float>", "global::System.Runtime.Intrinsics.Vector512", "16" /* WideLanes */,
            "global::System.Runtime.Intrinsics.Vector512.Create", "global::System.Runtime.Intrinsics.Vector512.Sqrt");

        public string Expand(string template) => template
            .Replace(One, Name + ".One").Replace(Splat, SplatCall).Replace(Sqrt, SqrtCall).Replace(Abs, Ops + ".Abs");
    }

    /// <summary>Rows shorter than this are not worth a vector loop (the narrowest <c>Vector&lt;float&gt;</c> has 4 lanes).</summary>
    private const int MinVectorLength = 4;

    /// <param name="staticLambdas">Whether a kernel may move its loops into a static lambda run by the worker pool;
    /// false when sizes are read at run time (<see cref="DynamicCode"/>): a static lambda cannot read them.</param>
    /// <param name="views">The Transposes folded into matrix products' strides (<see cref="MatMulViews"/>); none by default.</param>
    public static void Emit(CodeWriter w, Graph graph, Node node, bool staticLambdas = true, MatMulViews? views = null)
    {
        views ??= MatMulViews.None;
        if (graph.TypeOf(node.Output).ElementCount == 0)
        {
            w.Line("// The result is empty: nothing to compute.");
            return;
        }

        if (Epilogue.Has(node))
        {
            EmitWithEpilogue(w, graph, node, views);
            return;
        }

        switch (node.Op)
        {
            case OpKind.Constant:
                w.Line($"y[0] = {Lit(node.Attrs.Float(AttrNames.Value))};");
                break;
            case var op when OpKindInfo.IsElementwise(op) || op == OpKind.Fused:
                EmitElementwiseNode(w, graph, node, staticLambdas);
                break;
            case OpKind.MatMul:
                EmitMatMul(w, graph, node, views);
                break;
            case OpKind.Gemm:
                EmitGemm(w, graph, node);
                break;
            case OpKind.PackB:
                EmitPackB(w, graph, node);
                break;
            case OpKind.PackedGemm:
                EmitPackedGemm(w, graph, node);
                break;
            case OpKind.ConvGemm:
                EmitConvGemm(w, graph, node);
                break;
            case OpKind.SmallConv:
                EmitSmallConv(w, graph, node);
                break;
            case OpKind.WinogradWeights:
                EmitWinogradWeights(w, graph, node);
                break;
            case OpKind.WinogradConv:
                EmitWinogradConv(w, graph, node);
                break;
            case var op when OpKindInfo.IsReduction(op):
                EmitReduceNode(w, graph, node);
                break;
            case OpKind.Softmax:
                EmitSoftmax(w, graph, node);
                break;
            case OpKind.LayerNorm:
                EmitLayerNorm(w, graph, node);
                break;
            case OpKind.Reshape:
                w.Line("// Reshape into its own buffer: the elements are unchanged, so a plain copy.");
                w.Line("x0.CopyTo(y);");
                break;
            case OpKind.Transpose:
                EmitTranspose(w, graph, node, staticLambdas);
                break;
            case OpKind.Concat:
                EmitConcat(w, graph, node);
                break;
            case OpKind.Slice:
                EmitSlice(w, graph, node);
                break;
            case OpKind.Gather:
                EmitGather(w, graph, node);
                break;
            case OpKind.Conv2d:
                EmitDirectConvolution(w, graph, node);
                break;
            case OpKind.ConvTranspose2d:
                EmitDirectConvolution(w, graph, node);
                break;
            case OpKind.MaxPool2d:
            case OpKind.AvgPool2d:
                EmitPool2d(w, graph, node);
                break;
            case OpKind.GlobalAvgPool:
                EmitGlobalAvgPool(w, graph, node);
                break;
            case OpKind.Resize:
                EmitResize(w, graph, node);
                break;
            case OpKind.Lstm:
                EmitLstm(w, graph, node);
                break;
            default:
                throw new NotSupportedException("CPU backend has no kernel for " + node.Op);
        }
    }

    // ---- Shapes and strides (computed here, emitted as literals) ------------------------------------------

    /// <summary>A view walked by <see cref="EmitLoops"/>: element offset = Base + sum(index[d] * Strides[d]).
    /// <see cref="Name"/> prefixes its offset locals (Name + depth: oy0, oy1, ...), so it must differ from "x" and
    /// "y", whose numbered names are the kernel's spans.</summary>
    internal sealed record View(string Name, int[] Strides, string Base = "0");

    /// <summary>
    /// Emits one <c>for</c> loop per dimension of <paramref name="shape"/> (outermost first, indices
    /// <paramref name="index"/>0, 1, ...) and, in the innermost body, calls <paramref name="body"/> with each view's
    /// element offset as a C# expression. Offsets are accumulated per depth (a local per view and loop whose stride
    /// is not 0), so the innermost body adds one term. A rank-0 shape emits the body once, unlooped.
    /// </summary>
    /// <param name="outerRange">When set, the outermost loop runs from its first to its second expression instead of
    /// over the whole dimension (a chunk of rows run by one thread).</param>
    internal static void EmitLoops(CodeWriter w, int[] shape, IReadOnlyList<View> views, Action<string[]> body, string index = "i", (string From, string To)? outerRange = null)
    {
        Nest(0, views.Select(v => v.Base).ToArray());

        void Nest(int d, string[] offsets)
        {
            if (d == shape.Length)
            {
                body(offsets);
                return;
            }

            string i = index + Lit(d);
            var (from, to) = d == 0 && outerRange is { } range ? range : ("0", Lit(shape[d]));
            using (w.Block($"for (int {i} = {from}; {i} < {to}; {i}++)"))
            {
                var inner = (string[])offsets.Clone();
                for (int k = 0; k < views.Count; k++)
                {
                    int stride = views[k].Strides[d];
                    if (stride == 0) continue;
                    inner[k] = views[k].Name + Lit(d);
                    w.Line($"int {inner[k]} = {Plus(offsets[k], Times(i, stride))};");
                }

                Nest(d + 1, inner);
            }
        }
    }

    /// <summary>Writes a comment and opens a block, to keep one step's locals apart from the next step's.</summary>
    internal static IDisposable Step(CodeWriter w, string comment)
    {
        w.Line("// " + comment);
        return w.Block();
    }

    /// <summary>
    /// <c>dst[j] += scale * src[j]</c> for j &lt; <paramref name="length"/>: a <c>Vector&lt;float&gt;</c> loop plus a
    /// scalar tail. <paramref name="dst"/> and <paramref name="src"/> are span expressions (a local or a Slice) of
    /// at least <paramref name="length"/> elements; declares the locals j and vs in the current block.
    /// </summary>
    internal static void EmitAxpy(CodeWriter w, string dst, string src, string scale, string length)
    {
        w.Line("int j = 0;");
        w.Line($"var vs = new {Vec}({scale});");
        using (w.Block($"for (; j <= {length} - {Lanes}; j += {Lanes})"))
        {
            w.Line($"(new {Vec}({dst}.Slice(j)) + vs * new {Vec}({src}.Slice(j))).CopyTo({dst}.Slice(j));");
        }

        w.Line($"for (; j < {length}; j++) {dst}[j] += {scale} * {src}[j];");
    }
}
