using System;
using System.Collections.Generic;
using System.Linq;
using Aot.Generator.IR;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends.Gpu;

// Elementwise ops and fused elementwise bodies: one grid-stride kernel with broadcast offsets.
internal static partial class GpuKernels
{
    /// <summary>What each elementwise op computes on the device, as a format string over its operands {0}, {1}
    /// (float locals). Everything not plain arithmetic goes through GpuMath, which every ILGPU backend compiles.</summary>
    internal static string DeviceExpr(Node node) => node.Op switch
    {
        OpKind.Add => "{0} + {1}",
        OpKind.Sub => "{0} - {1}",
        OpKind.Mul => "{0} * {1}",
        OpKind.Div => "{0} / {1}",
        OpKind.Max => GMath + ".Max({0}, {1})",
        OpKind.Min => GMath + ".Min({0}, {1})",
        OpKind.Pow => GMath + ".Pow({0}, {1})",
        OpKind.Equal => "({0} == {1} ? 1f : 0f)",
        OpKind.Greater => "({0} > {1} ? 1f : 0f)",
        OpKind.GreaterOrEqual => "({0} >= {1} ? 1f : 0f)",
        OpKind.Less => "({0} < {1} ? 1f : 0f)",
        OpKind.LessOrEqual => "({0} <= {1} ? 1f : 0f)",
        OpKind.Where => "({0} != 0f ? {1} : {2})",
        OpKind.Not => "1f - {0}",
        OpKind.Relu => GMath + ".Relu({0})",

        // Exact Gelu as 0.5 x erfc(-x / sqrt 2), tanh Gelu as x / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3):
        // the same forms as the CPU backend, free of cancellation for x << 0.
        OpKind.Gelu => node.Attrs.Int(AttrNames.Mode) == 0
            ? "0.5f * {0} * " + GMath + ".Erfc({0} * -0.70710677f)"
            : "{0} / (1f + " + GMath + ".FastExp(-1.5957692f * ({0} + 0.044715f * {0} * {0} * {0})))",
        OpKind.Sigmoid => GMath + ".Sigmoid({0})",
        OpKind.Tanh => GMath + ".Tanh({0})",
        OpKind.Exp => GMath + ".Exp({0})",
        OpKind.Log => GMath + ".Log({0})",
        OpKind.Sqrt => GMath + ".Sqrt({0})",
        OpKind.Rsqrt => "1f / " + GMath + ".Sqrt({0})",
        OpKind.Neg => "-{0}",
        OpKind.Abs => GMath + ".Abs({0})",
        OpKind.Erf => GMath + ".Erf({0})",
        OpKind.Constant => Lit(node.Attrs.Float(AttrNames.Value)),
        _ => throw new NotSupportedException(node.Op + " is not elementwise"),
    };

    /// <summary>
    /// y = f(x0, x1, ...) over the output shape, operands broadcast with numpy rules. The iteration space is
    /// coalesced over all views, so same-shape operands read at the loop index itself; a broadcast operand's offset
    /// comes from the output coordinates times its constant strides (0 on broadcast axes). A fused node's body runs
    /// per element in registers: body register r becomes the local rN.
    /// <para>
    /// Float kernels whose innermost (coalesced) extent is a multiple of 4 are vectorized (<see cref="ElementwiseVector"/>):
    /// each thread step handles 4 consecutive elements with 128-bit loads and stores. The scalar kernel built here is
    /// kept as the fallback for callers' device views that are not 16-byte aligned.
    /// </para>
    /// </summary>
    private static GpuKernel Elementwise(Graph graph, Node node, GpuTarget target)
    {
        var outShape = Shapes.Of(graph, node.Output);
        var operandShapes = node.Inputs.Select(v => Shapes.Of(graph, v)).ToArray();
        long n = Count(outShape);
        var strides = new List<int[]> { RowMajorStrides(outShape) };
        strides.AddRange(operandShapes.Select(s => BroadcastStrides(s, outShape)));
        var (shape, coalesced) = Coalesce(outShape, strides);

        string args = string.Join(", ", operandShapes.Select((s, i) => "x" + i + Fmt(s)));
        bool broadcast = operandShapes.Any(s => !s.SequenceEqual(outShape));
        string summary = node.Op == OpKind.Fused
            ? $"y{Fmt(outShape)} = fused elementwise body over ({args}){(broadcast ? " with broadcasting" : "")}"
            : $"y{Fmt(outShape)} = {node.Op}({args}){(broadcast ? " with broadcasting" : "")}";
        var (groups, groupSize) = target.GridStride(n);
        var scalar = new GpuKernel(summary, NodeParams(node), groups, groupSize, 0, w =>
        {
            EmitBodyComment(w, node);

            // Views: y (the loop index itself after coalescing) and each operand.
            // An operand with the output's shape reads at the loop index itself; only broadcast ones need offsets.
            var views = coalesced.Skip(1).Select((s, k) => new StridedView("x" + Lit(k), s)).ToArray();
            var broadcastViews = views.Where(v => !v.Strides.SequenceEqual(coalesced[0])).ToArray();
            UnrolledGridStride(w, n, groups, groupSize, target.ElementwiseUnroll,
                (i, sfx) =>
                {
                    var offsets = broadcastViews.Length == 0 ? Array.Empty<string>() : EmitOffsets(w, i, shape, broadcastViews, "o" + sfx);
                    for (int k = 0; k < node.Inputs.Count; k++)
                    {
                        int b = Array.IndexOf(broadcastViews, views[k]);
                        w.Line($"float r{k}{sfx} = x{k}[{(b < 0 ? i : offsets[b])}];");
                    }
                },
                (i, sfx) =>
                {
                    var registers = Enumerable.Range(0, node.Inputs.Count).Select(k => $"r{k}{sfx}").ToList();
                    w.Line($"y[{i}] = {EmitBody(w, node, registers, sfx)};");
                });
        });

        return ElementwiseVector(graph, node, target, summary, shape, coalesced, scalar) ?? scalar;
    }

    /// <summary>The fused body as a comment (registers r0..rE-1 are the operands).</summary>
    private static void EmitBodyComment(CodeWriter w, Node node)
    {
        if (node.Op != OpKind.Fused) return;
        w.Line($"// registers r0..r{node.Inputs.Count - 1} are the operands:");
        foreach (var b in node.Body) w.Line($"//   r{b.Output} = {b.Op}({string.Join(", ", b.Inputs.Select(r => "r" + r))}){(b.Attrs.Items.IsEmpty ? "" : " " + b.Attrs)}");
    }

    /// <summary>
    /// Emits the computation of one element from its operand expressions <paramref name="operands"/> (float locals or
    /// expressions, in input order): a plain op is one expression; a fused body declares a local per step (suffixed
    /// with <paramref name="sfx"/>) but the last. Returns the expression of the result.
    /// </summary>
    private static string EmitBody(CodeWriter w, Node node, IReadOnlyList<string> operands, string sfx)
    {
        if (node.Op != OpKind.Fused) return string.Format(DeviceExpr(node), operands.Cast<object>().ToArray());
        return EmitBodyNodes(w, node.Body, operands, sfx);
    }

    /// <summary>
    /// Emits an SSA body (a Fused node's, or a product's epilogue) over <paramref name="registers"/> (the expressions of
    /// registers 0, 1, ..., in order; body node j defines the next one): a float local rN + <paramref name="sfx"/> per
    /// node but the last, whose expression is returned.
    /// </summary>
    internal static string EmitBodyNodes(CodeWriter w, IReadOnlyList<Node> body, IReadOnlyList<string> registers, string sfx)
    {
        var defined = registers.ToList();
        for (int j = 0; j < body.Count; j++)
        {
            var b = body[j];
            string value = string.Format(DeviceExpr(b), b.Inputs.Select(r => (object)defined[r]).ToArray());
            if (j == body.Count - 1) return value;
            w.Line($"float r{b.Output}{sfx} = {value};");
            defined.Add($"r{b.Output}{sfx}");
        }

        throw new InvalidOperationException("a body without nodes");
    }

    /// <summary>Elements per vector access of the vectorized kernels (one <c>GpuFloat4</c>, 16 bytes).</summary>
    internal const int VectorWidth = 4;

    internal const string Float4 = "global::Aot.Runtime.Gpu.GpuFloat4";

    internal static readonly string[] Lanes = { "X", "Y", "Z", "W" };

    /// <summary>A 16-byte aligned <c>GpuFloat4</c> view of float view <paramref name="view"/>: the alignment tells ILGPU's PTX
    /// backend it may use 128-bit accesses (it cannot prove it for a cast view).</summary>
    internal static string VectorView(string view) => $"global::ILGPU.Runtime.ArrayViewExtensions.AsAligned({view}.Cast<{Float4}>(), 16)";

    /// <summary>
    /// The vectorized form of an elementwise kernel, or null when it does not apply: all values Float32, and the
    /// innermost coalesced extent a multiple of 4, so the 4 consecutive elements of one vector index share every outer
    /// coordinate. Each operand is then read per vector as: the output's own index (same shape), one 128-bit load at
    /// its offset / 4 (a broadcast operand contiguous along the innermost axis, e.g. a bias row: its offset is a
    /// multiple of 4 since all its other strides are), or one scalar load used for all 4 lanes (broadcast along the
    /// innermost axis, e.g. a per-row scale). The broadcast offsets are computed once per 4 elements.
    /// </summary>
    private static GpuKernel? ElementwiseVector(Graph graph, Node node, GpuTarget target, string summary, int[] shape, int[][] coalesced, GpuKernel scalar)
    {
        if (!target.VectorizeElementwise) return null;
        if (graph.TypeOf(node.Output).DType != DType.Float32 || node.Inputs.Any(v => graph.TypeOf(v).DType != DType.Float32)) return null;
        if (shape.Length == 0 || shape[shape.Length - 1] % VectorWidth != 0) return null;
        long n = Count(shape);
        if (n + VectorWidth > int.MaxValue) return null;
        int inner = shape.Length - 1;
        var yStrides = coalesced[0];
        var kinds = new OperandAccess[node.Inputs.Count];
        for (int k = 0; k < kinds.Length; k++)
        {
            var s = coalesced[k + 1];
            if (s.SequenceEqual(yStrides)) kinds[k] = OperandAccess.Same;
            else if (s[inner] == 1 && s.Take(inner).All(x => x % VectorWidth == 0)) kinds[k] = OperandAccess.Vector;
            else if (s[inner] == 0) kinds[k] = OperandAccess.Scalar;
            else return null;
        }

        long vectors = n / VectorWidth;
        var (groups, groupSize) = target.GridStride(vectors);
        var vectorParams = new List<string> { "y" };
        vectorParams.AddRange(Enumerable.Range(0, kinds.Length).Where(k => kinds[k] != OperandAccess.Scalar).Select(k => "x" + Lit(k)));
        return new GpuKernel(summary + $"; vectorized: {VectorWidth} elements per 128-bit access", NodeParams(node), groups, groupSize, 0, w =>
        {
            EmitBodyComment(w, node);
            for (int k = 0; k < kinds.Length; k++)
            {
                if (kinds[k] != OperandAccess.Scalar) w.Line($"var v{k} = {VectorView("x" + Lit(k))};");
            }

            w.Line($"var vy = {VectorView("y")};");
            var views = coalesced.Skip(1).Select((s, k) => new StridedView("x" + Lit(k), s)).ToArray();
            var broadcastViews = Enumerable.Range(0, kinds.Length).Where(k => kinds[k] != OperandAccess.Same).Select(k => views[k]).ToArray();
            UnrolledGridStride(w, vectors, groups, groupSize, target.VectorUnroll,
                (i, sfx) =>
                {
                    string[] offsets = Array.Empty<string>();
                    if (broadcastViews.Length > 0)
                    {
                        w.Line($"int e{sfx} = {i} * {Lit(VectorWidth)};");
                        offsets = EmitOffsets(w, "e" + sfx, shape, broadcastViews, "o" + sfx);
                    }

                    for (int k = 0; k < kinds.Length; k++)
                    {
                        int b = Array.IndexOf(broadcastViews, views[k]);
                        switch (kinds[k])
                        {
                            case OperandAccess.Same:
                                w.Line($"var r{k}{sfx} = v{k}[{i}];");
                                break;
                            case OperandAccess.Vector:
                                w.Line($"var r{k}{sfx} = v{k}[({offsets[b]}) >> 2];");
                                break;
                            default:
                                w.Line($"float r{k}{sfx} = x{k}[{offsets[b]}];");
                                break;
                        }
                    }
                },
                (i, sfx) =>
                {
                    var results = new string[VectorWidth];
                    for (int l = 0; l < VectorWidth; l++)
                    {
                        var operands = Enumerable.Range(0, kinds.Length).Select(k => kinds[k] == OperandAccess.Scalar ? $"r{k}{sfx}" : $"r{k}{sfx}.{Lanes[l]}").ToList();
                        results[l] = $"y{sfx}{Lanes[l]}";
                        w.Line($"float {results[l]} = {EmitBody(w, node, operands, sfx + Lanes[l])};");
                    }

                    w.Line($"vy[{i}] = new {Float4}({string.Join(", ", results)});");
                });
        }, VectorParams: vectorParams, Fallback: scalar);
    }

    private enum OperandAccess
    {
        /// <summary>Same shape as the output: the vector at the loop's own index.</summary>
        Same,

        /// <summary>Broadcast, contiguous along the innermost axis: one aligned vector at its offset.</summary>
        Vector,

        /// <summary>Broadcast along the innermost axis: one element for all lanes.</summary>
        Scalar,
    }
}
