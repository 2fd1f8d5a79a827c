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
        OpKind.Relu => GMath + ".Relu({0})",

        // Exact Gelu as 0.5 x erfc(-x / sqrt 2), tanh Gelu as x / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3):
        // the same forms as the CPU backend, free of cancellation for x << 0.
        OpKind.Gelu => node.Attrs.Int(AttrNames.Mode) == 0
            ? "0.5f * {0} * " + GMath + ".Erfc({0} * -0.70710677f)"
            : "{0} / (1f + " + GMath + ".Exp(-1.5957692f * ({0} + 0.044715f * {0} * {0} * {0})))",
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
        return new GpuKernel(summary, NodeParams(node), groups, groupSize, 0, w =>
        {
            if (node.Op == OpKind.Fused)
            {
                w.Line($"// registers r0..r{node.Inputs.Count - 1} are the operands:");
                foreach (var b in node.Body) w.Line($"//   r{b.Output} = {b.Op}({string.Join(", ", b.Inputs.Select(r => "r" + r))}){(b.Attrs.Items.IsEmpty ? "" : " " + b.Attrs)}");
            }

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
                    if (node.Op != OpKind.Fused)
                    {
                        w.Line($"y[{i}] = " + string.Format(DeviceExpr(node), registers.Cast<object>().ToArray()) + ";");
                        return;
                    }

                    for (int j = 0; j < node.Body.Count; j++)
                    {
                        var b = node.Body[j];
                        string value = string.Format(DeviceExpr(b), b.Inputs.Select(r => (object)registers[r]).ToArray());
                        if (j == node.Body.Count - 1)
                        {
                            w.Line($"y[{i}] = {value};");
                        }
                        else
                        {
                            w.Line($"float r{b.Output}{sfx} = {value};");
                            registers.Add($"r{b.Output}{sfx}");
                        }
                    }
                });
        });
    }
}
