using System;

namespace Aot.Dsl;

// Eager reference: LSTM (ONNX semantics, forward direction). Each gate's pre-activation (the two dot products and
// both biases), its activation and the cell update are computed in double; h and c are rounded to float after every
// step, as the float tensors they are.
public static partial class Ops
{
    private static Tensor EagerLstm(Tensor x, Tensor w, Tensor r, Tensor? b, Tensor? initialH, Tensor? initialC, LstmOutput output, float clip)
    {
        const string op = "Lstm";
        ShapeMath.RequireFloat32(op, x, "input");
        ShapeMath.RequireFloat32(op, w, "W");
        ShapeMath.RequireFloat32(op, r, "R");
        if (x.Rank != 3) throw new ArgumentException($"{op}: input must be [seq, batch, input], got {ShapeMath.Format(x.Shape)}");
        int seq = x.Shape[0], batch = x.Shape[1], inputSize = x.Shape[2];
        if (w.Rank != 3 || w.Shape[0] != 1 || w.Shape[1] % 4 != 0 || w.Shape[1] == 0 || w.Shape[2] != inputSize)
        {
            throw new ArgumentException($"{op}: W has shape {ShapeMath.Format(w.Shape)}, expected [1, 4*hidden, {inputSize}] for the input {ShapeMath.Format(x.Shape)}");
        }

        int hidden = w.Shape[1] / 4;
        RequireShape(op, r, "R", 1, 4 * hidden, hidden);
        RequireShape(op, b, "B", 1, 8 * hidden);
        RequireShape(op, initialH, "initial_h", 1, batch, hidden);
        RequireShape(op, initialC, "initial_c", 1, batch, hidden);
        if (!(clip >= 0) || float.IsPositiveInfinity(clip)) throw new ArgumentException($"{op}: clip must be positive and finite (0: no clipping), got {clip}");
        if (!Enum.IsDefined(output)) throw new ArgumentException($"{op}: output {(int)output} is not an LstmOutput");

        ReadOnlySpan<float> xs = x.Floats, ws = w.Floats, rs = r.Floats;
        ReadOnlySpan<float> bs = b is null ? default : b.Floats;
        var h = initialH is null ? new float[batch * hidden] : initialH.Floats.ToArray();
        var c = initialC is null ? new float[batch * hidden] : initialC.Floats.ToArray();
        var next = new float[batch * hidden];
        var y = output == LstmOutput.Sequence ? Tensor.Zeros(seq, 1, batch, hidden) : Tensor.Zeros(1, batch, hidden);
        var gate = new double[4];
        for (int t = 0; t < seq; t++)
        {
            for (int n = 0; n < batch; n++)
            {
                for (int u = 0; u < hidden; u++)
                {
                    // Gate order i, o, f, c: row g * hidden + u of W, R and both halves of B.
                    for (int g = 0; g < 4; g++)
                    {
                        int row = g * hidden + u;
                        double sum = Dot(xs, (t * batch + n) * inputSize, 1, ws, row * inputSize, 1, inputSize)
                            + Dot(h, n * hidden, 1, rs, row * hidden, 1, hidden);
                        if (b is not null) sum += (double)bs[row] + bs[4 * hidden + row];
                        gate[g] = clip > 0 ? Math.Clamp(sum, -clip, clip) : sum;
                    }

                    double i = Logistic(gate[0]), o = Logistic(gate[1]), f = Logistic(gate[2]), candidate = Math.Tanh(gate[3]);
                    int at = n * hidden + u;
                    c[at] = (float)(f * c[at] + i * candidate);
                    next[at] = (float)(o * Math.Tanh(c[at]));
                }
            }

            (h, next) = (next, h);
            if (output == LstmOutput.Sequence) h.CopyTo(y.Floats.Slice(t * batch * hidden));
        }

        if (output != LstmOutput.Sequence) (output == LstmOutput.LastHidden ? h : c).CopyTo(y.Floats);
        return y;
    }

    private static double Logistic(double v) => 1.0 / (1.0 + Math.Exp(-v));

    private static void RequireShape(string op, Tensor? t, string name, params int[] shape)
    {
        if (t is null) return;
        ShapeMath.RequireFloat32(op, t, name);
        if (!t.Shape.SequenceEqual(shape)) throw new ArgumentException($"{op}: {name} has shape {ShapeMath.Format(t.Shape)}, expected {ShapeMath.Format(shape)}");
    }
}
