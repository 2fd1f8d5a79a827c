using System;
using Aot.Generator.IR;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends.Gpu;

// Recurrent layers: LSTM as one kernel that runs the whole recurrence, a group per sequence of the batch.
internal static partial class GpuKernels
{
    /// <summary>
    /// LSTM (ONNX, forward, gates i, o, f, c): a group per batch element (grid-stride over the batch), its threads
    /// owning hidden units t, t + G, ... The previous h is in shared memory; each thread keeps its units' c and h in
    /// registers, computes their four gate pre-activations (x_t W^T + h R^T + both biases, in float), and after a
    /// barrier publishes its new h. Steps are sequential inside the kernel, so one launch computes every step.
    /// </summary>
    private static GpuKernel Lstm(Graph graph, Node node, GpuTarget target)
    {
        var x = Shapes.Of(graph, node.Inputs[LstmOperands.X]);
        int seq = x[0], batch = x[1], input = x[2], hidden = Shapes.Of(graph, node.Inputs[LstmOperands.R])[2];
        var operands = LstmOperands.Of(node.Attrs);
        long output = node.Attrs.Int(AttrNames.Output);
        float clip = node.Attrs.Float(AttrNames.Clip);
        if ((long)hidden * sizeof(float) > target.SharedMemoryPerGroup)
        {
            throw new NotSupportedException($"the GPU LSTM keeps h in shared memory: hidden size {hidden} needs {hidden * sizeof(float)} bytes, the device has {target.SharedMemoryPerGroup} per group");
        }

        int g = (int)Math.Min(target.GroupSizeLimit, CeilDiv(hidden, target.WarpSize) * (long)target.WarpSize);
        int units = CeilDiv(hidden, g);
        int groups = Math.Max(1, Math.Min(batch, target.Multiprocessors * (target.MaxThreadsPerMultiprocessor / g)));
        string[] results = { "Y", "Y_h", "Y_c" };
        string summary = $"Lstm over x0{Fmt(x)}, hidden {hidden}{(clip > 0 ? ", clip " + Lit(clip) : "")} -> {results[output]}: a group of {g} per batch element, {units} unit(s) per thread, h in shared memory";
        // A thread's unit e exists unless it is in the last, partial round of units.
        string? Guarded(int e) => (e + 1) * g > hidden ? $"u{e} < {Lit(hidden)}" : null;
        string Clipped(string v) => clip > 0 ? $"{GMath}.Min({GMath}.Max({v}, {Lit(-clip)}), {Lit(clip)})" : v;
        return new GpuKernel(summary, NodeParams(node), groups, g, hidden * sizeof(float), w =>
        {
            // A block per unit keeps each unit's locals (its gate sums) apart.
            void Unit(int e, Action body)
            {
                using (Guarded(e) is { } guard ? w.Block($"if ({guard})") : w.Block()) body();
            }

            w.Line($"var hs = {Shared}.Allocate<float>({Lit(hidden)});");
            w.Line($"int t = {Group}.IdxX;");
            using (w.Block($"for (int n = {Grid}.IdxX; n < {Lit(batch)}; n += {Lit(groups)})"))
            {
                for (int e = 0; e < units; e++)
                {
                    string State(int operand) => operand < 0 ? "0f" : Guarded(e) is { } guard ? $"{guard} ? x{operand}[n * {Lit(hidden)} + u{e}] : 0f" : $"x{operand}[n * {Lit(hidden)} + u{e}]";
                    w.Line($"int u{e} = {Plus("t", Lit(e * g))};");
                    w.Line($"float h{e} = {State(operands.InitialH)};");
                    w.Line($"float c{e} = {State(operands.InitialC)};");
                    Unit(e, () => w.Line($"hs[u{e}] = h{e};"));
                }

                w.Line($"{Group}.Barrier();");
                using (w.Block($"for (int s = 0; s < {Lit(seq)}; s++)"))
                {
                    w.Line($"int xs = (s * {Lit(batch)} + n) * {Lit(input)};");
                    for (int e = 0; e < units; e++)
                    {
                        Unit(e, () =>
                        {
                            // Rows u, H + u, 2H + u, 3H + u of W and R: the gates i, o, f, c of unit u.
                            var gates = new[] { "zi", "zo", "zf", "zc" };
                            for (int q = 0; q < 4; q++)
                            {
                                string row = Plus(Lit(q * hidden), $"u{e}");
                                w.Line($"float {gates[q]} = {(operands.Bias >= 0 ? $"x{operands.Bias}[{row}] + x{operands.Bias}[{Plus(Lit(4 * hidden + q * hidden), $"u{e}")}]" : "0f")};");
                            }

                            using (w.Block($"for (int k = 0; k < {Lit(input)}; k++)"))
                            {
                                w.Line("float xk = x0[xs + k];");
                                for (int q = 0; q < 4; q++) w.Line($"{gates[q]} += xk * x1[({Plus(Lit(q * hidden), $"u{e}")}) * {Lit(input)} + k];");
                            }

                            using (w.Block($"for (int k = 0; k < {Lit(hidden)}; k++)"))
                            {
                                w.Line("float hk = hs[k];");
                                for (int q = 0; q < 4; q++) w.Line($"{gates[q]} += hk * x2[({Plus(Lit(q * hidden), $"u{e}")}) * {Lit(hidden)} + k];");
                            }

                            w.Line($"c{e} = {GMath}.Sigmoid({Clipped("zf")}) * c{e} + {GMath}.Sigmoid({Clipped("zi")}) * {GMath}.Tanh({Clipped("zc")});");
                            w.Line($"h{e} = {GMath}.Sigmoid({Clipped("zo")}) * {GMath}.Tanh(c{e});");
                        });
                    }

                    w.Line($"{Group}.Barrier(); // every thread has read the previous h");
                    for (int e = 0; e < units; e++)
                    {
                        Unit(e, () =>
                        {
                            w.Line($"hs[u{e}] = h{e};");
                            if (output == LstmOperands.Sequence) w.Line($"y[(s * {Lit(batch)} + n) * {Lit(hidden)} + u{e}] = h{e};");
                        });
                    }

                    w.Line($"{Group}.Barrier(); // the new h is visible to the group");
                }

                if (output != LstmOperands.Sequence)
                {
                    for (int e = 0; e < units; e++)
                    {
                        Unit(e, () => w.Line($"y[n * {Lit(hidden)} + u{e}] = {(output == LstmOperands.LastHidden ? "h" : "c")}{e};"));
                    }
                }
            }
        });
    }
}
