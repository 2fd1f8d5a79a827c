using System;
using System.Numerics;

namespace Aot.Runtime.Cpu;

/// <summary>
/// Recurrent layers for generated CPU code. <see cref="Lstm"/> is ONNX's LSTM (forward direction, layout 0, gates
/// i, o, f, c with sigmoid, tanh, tanh): the input projection of every step is one <see cref="Sgemm.Multiply"/>
/// (x [seq*batch, input] @ W^T, both biases added by its epilogue), then each step adds h @ R^T into its rows of
/// gates (a second Multiply against R packed once per call) and applies the activations and the cell update in float
/// (vectorized).
/// The gates (and W and R when they come unpacked) live in this thread's workspace, grown on first use and then
/// reused, so steady-state calls allocate nothing.
/// </summary>
public static class Recurrent
{
    [ThreadStatic]
    private static float[]? s_workspace;

    /// <summary>
    /// Runs the LSTM over x [seq, batch, input] with W [4*hidden, input], R [4*hidden, hidden], optional B [8*hidden]
    /// (W's biases then R's), initialH and initialC [batch, hidden] (zeros when empty). Writes whichever results are
    /// non-empty: <paramref name="sequence"/> Y [seq, batch, hidden] (h after every step), <paramref name="lastHidden"/>
    /// and <paramref name="lastCell"/> [batch, hidden]. <paramref name="clip"/> &gt; 0 clamps each gate's
    /// pre-activation to [-clip, clip]. kc/mc are the cache blocks of the projection (<paramref name="kcX"/>,
    /// <paramref name="mcX"/>) and of the per-step product (<paramref name="kcH"/>, <paramref name="mcH"/>).
    /// W and R are packed into the workspace on every call; <see cref="LstmPacked"/> takes them packed once.
    /// </summary>
    public static void Lstm(
        ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> r, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> initialH, ReadOnlySpan<float> initialC,
        int seq, int batch, int input, int hidden, float clip,
        Span<float> sequence, Span<float> lastHidden, Span<float> lastCell,
        int kcX, int mcX, int kcH, int mcH, WorkerPool? pool = null, CpuInstructionSet isa = CpuInstructionSet.Auto)
    {
        Check(x, bias, initialH, initialC, seq, batch, input, hidden, sequence, lastHidden, lastCell);
        int g = 4 * hidden;
        if (w.Length < (long)g * input || r.Length < (long)g * hidden) throw new ArgumentException($"Lstm: W needs {(long)g * input} elements, R {(long)g * hidden}");
        int packedW = GemmLayout.PackedLength(input, g), packedR = GemmLayout.PackedLength(hidden, g);
        var workspace = Workspace(packedW + packedR + StateLength(seq, batch, hidden));
        var wPacked = Take(ref workspace, packedW);
        var rPacked = Take(ref workspace, packedR);
        Sgemm.PackB(w, input, g, transposed: true, wPacked);
        Sgemm.PackB(r, hidden, g, transposed: true, rPacked);
        Run(x, wPacked, rPacked, bias, initialH, initialC, seq, batch, input, hidden, clip, sequence, lastHidden, lastCell, kcX, mcX, kcH, mcH, pool, isa, workspace);
    }

    /// <summary><see cref="Lstm"/> with W^T and R^T already packed by <see cref="Sgemm.PackB"/> (W [4*hidden, input] and
    /// R [4*hidden, hidden] packed with transposed = true), as the generated code does once for weights.</summary>
    public static void LstmPacked(
        ReadOnlySpan<float> x, ReadOnlySpan<float> packedW, ReadOnlySpan<float> packedR, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> initialH, ReadOnlySpan<float> initialC,
        int seq, int batch, int input, int hidden, float clip,
        Span<float> sequence, Span<float> lastHidden, Span<float> lastCell,
        int kcX, int mcX, int kcH, int mcH, WorkerPool? pool = null, CpuInstructionSet isa = CpuInstructionSet.Auto)
    {
        Check(x, bias, initialH, initialC, seq, batch, input, hidden, sequence, lastHidden, lastCell);
        int g = 4 * hidden;
        if (packedW.Length < GemmLayout.PackedLength(input, g) || packedR.Length < GemmLayout.PackedLength(hidden, g))
        {
            throw new ArgumentException($"Lstm: packed W needs {GemmLayout.PackedLength(input, g)} elements, packed R {GemmLayout.PackedLength(hidden, g)}");
        }

        Run(x, packedW, packedR, bias, initialH, initialC, seq, batch, input, hidden, clip, sequence, lastHidden, lastCell, kcX, mcX, kcH, mcH, pool, isa,
            Workspace(StateLength(seq, batch, hidden)));
    }

    private static void Check(
        ReadOnlySpan<float> x, ReadOnlySpan<float> bias, ReadOnlySpan<float> initialH, ReadOnlySpan<float> initialC,
        int seq, int batch, int input, int hidden, Span<float> sequence, Span<float> lastHidden, Span<float> lastCell)
    {
        if (seq < 0 || batch < 0 || input < 0 || hidden <= 0) throw new ArgumentException($"Lstm: bad sizes seq={seq}, batch={batch}, input={input}, hidden={hidden}");
        long rows = (long)seq * batch, state = (long)batch * hidden;
        if (x.Length < rows * input) throw new ArgumentException($"Lstm: x needs {rows * input} elements, has {x.Length}");
        if ((!bias.IsEmpty && bias.Length < 8L * hidden) || (!initialH.IsEmpty && initialH.Length < state) || (!initialC.IsEmpty && initialC.Length < state))
        {
            throw new ArgumentException($"Lstm: B needs {8L * hidden} elements, initial_h and initial_c {state}");
        }

        if ((!sequence.IsEmpty && sequence.Length < rows * hidden) || (!lastHidden.IsEmpty && lastHidden.Length < state) || (!lastCell.IsEmpty && lastCell.Length < state))
        {
            throw new ArgumentException($"Lstm: Y needs {rows * hidden} elements, Y_h and Y_c {state}");
        }
    }

    /// <summary>Floats of the workspace past the packed weights: gates [seq*batch, 4H], bias [4H], h, h', c [batch, H].</summary>
    private static long StateLength(int seq, int batch, int hidden) => (long)seq * batch * 4 * hidden + 4L * hidden + 3L * batch * hidden;

    private static Span<float> Workspace(long length)
    {
        var workspace = s_workspace;
        if (workspace is null || workspace.Length < length) s_workspace = workspace = new float[Math.Max(checked((int)length), 4096)];
        return workspace.AsSpan(0, (int)length);
    }

    private static void Run(
        ReadOnlySpan<float> x, ReadOnlySpan<float> wPacked, ReadOnlySpan<float> rPacked, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> initialH, ReadOnlySpan<float> initialC,
        int seq, int batch, int input, int hidden, float clip,
        Span<float> sequence, Span<float> lastHidden, Span<float> lastCell,
        int kcX, int mcX, int kcH, int mcH, WorkerPool? pool, CpuInstructionSet isa, Span<float> workspace)
    {
        if (batch == 0) return;
        int g = 4 * hidden, state = batch * hidden, rows = seq * batch;
        var gates = Take(ref workspace, rows * g);
        var biasSum = Take(ref workspace, g);
        var h0 = Take(ref workspace, state);
        var h1 = Take(ref workspace, state);
        var c = Take(ref workspace, state);
        if (!bias.IsEmpty)
        {
            for (int j = 0; j < g; j++) biasSum[j] = bias[j] + bias[g + j];
        }

        // gates = x @ W^T + (Wb + Rb) for every step at once.
        var projection = new GemmEpilogue { ColumnBias = bias.IsEmpty ? default : biasSum };
        Sgemm.Multiply(rows, g, input, x, input, wPacked, gates, g, 1f, accumulate: false, kcX, mcX, pool, projection, isa);

        if (initialC.IsEmpty) c.Clear();
        else initialC.Slice(0, state).CopyTo(c);
        ReadOnlySpan<float> h = initialH.IsEmpty ? h0 : initialH.Slice(0, state);
        if (initialH.IsEmpty) h0.Clear();
        for (int t = 0; t < seq; t++)
        {
            var step = gates.Slice(t * batch * g, batch * g);
            Sgemm.Multiply(batch, g, hidden, h, hidden, rPacked, step, g, 1f, accumulate: true, kcH, mcH, pool, default, isa);

            // h' goes straight into Y when Y is wanted (and is read from there by the next step).
            var next = sequence.IsEmpty ? (t % 2 == 0 ? h1 : h0) : sequence.Slice(t * state, state);
            Cell(step, c, next, batch, hidden, clip);
            h = next;
        }

        if (!lastHidden.IsEmpty) h.CopyTo(lastHidden);
        if (!lastCell.IsEmpty) c.CopyTo(lastCell);
    }

    private static Span<float> Take(ref Span<float> rest, int count)
    {
        var part = rest.Slice(0, count);
        rest = rest.Slice(count);
        return part;
    }

    /// <summary>One step's activations and cell update from its gate pre-activations [batch, 4H] (order i, o, f, c): the
    /// four gates of a unit are H apart, so a vector of consecutive units reads four contiguous runs; the activations
    /// are <see cref="KernelMath"/>'s vector forms (what the elementwise kernels use), the tail scalar.</summary>
    private static void Cell(Span<float> gates, Span<float> c, Span<float> h, int batch, int hidden, float clip)
    {
        int lanes = Vector<float>.Count;
        var low = new Vector<float>(-clip);
        var high = new Vector<float>(clip);
        Vector<float> ClipV(Vector<float> v) => clip > 0 ? Vector.Min(Vector.Max(v, low), high) : v;
        for (int n = 0; n < batch; n++)
        {
            var z = gates.Slice(n * 4 * hidden, 4 * hidden);
            var cs = c.Slice(n * hidden, hidden);
            var hs = h.Slice(n * hidden, hidden);
            int u = 0;
            for (; u <= hidden - lanes; u += lanes)
            {
                var i = KernelMath.Sigmoid(ClipV(new Vector<float>(z.Slice(u))));
                var o = KernelMath.Sigmoid(ClipV(new Vector<float>(z.Slice(hidden + u))));
                var f = KernelMath.Sigmoid(ClipV(new Vector<float>(z.Slice(2 * hidden + u))));
                var candidate = KernelMath.Tanh(ClipV(new Vector<float>(z.Slice(3 * hidden + u))));
                var cell = f * new Vector<float>(cs.Slice(u)) + i * candidate;
                cell.CopyTo(cs.Slice(u));
                (o * KernelMath.Tanh(cell)).CopyTo(hs.Slice(u));
            }

            for (; u < hidden; u++)
            {
                float i = Sigmoid(Clip(z[u], clip)), o = Sigmoid(Clip(z[hidden + u], clip)), f = Sigmoid(Clip(z[2 * hidden + u], clip));
                float candidate = MathF.Tanh(Clip(z[3 * hidden + u], clip));
                float cell = f * cs[u] + i * candidate;
                cs[u] = cell;
                hs[u] = o * MathF.Tanh(cell);
            }
        }
    }

    private static float Clip(float v, float clip) => clip > 0 ? Math.Clamp(v, -clip, clip) : v;

    private static float Sigmoid(float v) => 1f / (1f + MathF.Exp(-v));
}
