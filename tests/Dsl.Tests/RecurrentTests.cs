using Aot.Dsl;
using static Aot.Dsl.Tests.TestUtil;

namespace Aot.Dsl.Tests;

public class LstmTests
{
    [Fact]
    public void Lstm_one_unit_one_step_by_hand()
    {
        // input 1, hidden 1: gate pre-activations are w*x + r*h0 + wb + rb.
        var x = T(F(2), 1, 1, 1);
        var w = T(F(0.5f, -1, 0.25f, 1), 1, 4, 1);
        var r = T(F(1, 1, 1, 1), 1, 4, 1);
        var b = T(F(0, 0, 0, 0, 0.5f, 0, 0, 0), 1, 8);
        var h0 = T(F(0.5f), 1, 1, 1);
        var c0 = T(F(-1), 1, 1, 1);
        double i = Sig(2 * 0.5 + 0.5 + 0.5), o = Sig(-2 + 0.5), f = Sig(0.5 + 0.5), g = Math.Tanh(2 + 0.5);
        double c = f * -1 + i * g, h = o * Math.Tanh(c);
        AssertTensor(Ops.Lstm(x, w, r, b, h0, c0), new[] { 1, 1, 1, 1 }, F((float)h), 1e-6f);
        AssertTensor(Ops.Lstm(x, w, r, b, h0, c0, LstmOutput.LastHidden), new[] { 1, 1, 1 }, F((float)h), 1e-6f);
        AssertTensor(Ops.Lstm(x, w, r, b, h0, c0, LstmOutput.LastCell), new[] { 1, 1, 1 }, F((float)c), 1e-6f);
    }

    public static TheoryData<int, int, int, int, bool, bool, float> Shapes => new()
    {
        { 1, 1, 3, 2, false, false, 0f },
        { 5, 1, 3, 4, true, false, 0f },
        { 4, 3, 5, 6, true, true, 0f },
        { 3, 2, 4, 3, false, true, 0f },
        { 6, 2, 3, 5, true, true, 0.5f },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Lstm_matches_a_naive_implementation(int seq, int batch, int input, int hidden, bool bias, bool initial, float clip)
    {
        var x = Tensor.Random(1, -1, 1, seq, batch, input);
        var w = Tensor.Random(2, -0.8f, 0.8f, 1, 4 * hidden, input);
        var r = Tensor.Random(3, -0.8f, 0.8f, 1, 4 * hidden, hidden);
        var b = bias ? Tensor.Random(4, -0.5f, 0.5f, 1, 8 * hidden) : null;
        var h0 = initial ? Tensor.Random(5, -1, 1, 1, batch, hidden) : null;
        var c0 = initial ? Tensor.Random(6, -1, 1, 1, batch, hidden) : null;
        var (y, yh, yc) = Naive(x, w, r, b, h0, c0, clip);
        AssertTensor(Ops.Lstm(x, w, r, b, h0, c0, clip: clip), new[] { seq, 1, batch, hidden }, y, 1e-5f);
        AssertTensor(Ops.Lstm(x, w, r, b, h0, c0, LstmOutput.LastHidden, clip), new[] { 1, batch, hidden }, yh, 1e-5f);
        AssertTensor(Ops.Lstm(x, w, r, b, h0, c0, LstmOutput.LastCell, clip), new[] { 1, batch, hidden }, yc, 1e-5f);
        Assert.Equal(yh, y.AsSpan((seq - 1) * batch * hidden).ToArray());
    }

    [Fact]
    public void Lstm_rejects_wrong_shapes()
    {
        var x = Tensor.Zeros(2, 1, 3);
        var w = Tensor.Zeros(1, 8, 3);
        var r = Tensor.Zeros(1, 8, 2);
        Throws<ArgumentException>(() => Ops.Lstm(Tensor.Zeros(2, 3), w, r), "Lstm: input must be [seq, batch, input], got [2, 3]");
        Throws<ArgumentException>(() => Ops.Lstm(x, Tensor.Zeros(1, 8, 4), r), "W has shape [1, 8, 4], expected [1, 4*hidden, 3]");
        Throws<ArgumentException>(() => Ops.Lstm(x, Tensor.Zeros(1, 6, 3), r), "W has shape [1, 6, 3]");
        Throws<ArgumentException>(() => Ops.Lstm(x, w, Tensor.Zeros(1, 8, 3)), "R has shape [1, 8, 3], expected [1, 8, 2]");
        Throws<ArgumentException>(() => Ops.Lstm(x, w, r, Tensor.Zeros(1, 8)), "B has shape [1, 8], expected [1, 16]");
        Throws<ArgumentException>(() => Ops.Lstm(x, w, r, initialH: Tensor.Zeros(1, 2, 2)), "initial_h has shape [1, 2, 2], expected [1, 1, 2]");
        Throws<ArgumentException>(() => Ops.Lstm(x, w, r, initialC: Tensor.Zeros(2)), "initial_c has shape [2], expected [1, 1, 2]");
        Throws<ArgumentException>(() => Ops.Lstm(x, w, r, clip: -1), "clip must be positive");
    }

    private static double Sig(double v) => 1 / (1 + Math.Exp(-v));

    /// <summary>Per time step, the gate vectors as whole [batch, 4*hidden] matrices in float: z = x W^T + h R^T + Wb + Rb,
    /// then split into i, o, f, c.</summary>
    private static (float[] Y, float[] Yh, float[] Yc) Naive(Tensor x, Tensor w, Tensor r, Tensor? b, Tensor? h0, Tensor? c0, float clip)
    {
        int seq = x.Shape[0], batch = x.Shape[1], input = x.Shape[2], hidden = r.Shape[2];
        float[] xs = x.Floats.ToArray(), ws = w.Floats.ToArray(), rs = r.Floats.ToArray();
        float[] bs = b?.Floats.ToArray() ?? new float[8 * hidden];
        float[] h = h0?.Floats.ToArray() ?? new float[batch * hidden];
        float[] c = c0?.Floats.ToArray() ?? new float[batch * hidden];
        var y = new List<float>();
        for (int t = 0; t < seq; t++)
        {
            var z = new float[batch, 4 * hidden];
            for (int n = 0; n < batch; n++)
            {
                for (int j = 0; j < 4 * hidden; j++)
                {
                    float s = bs[j] + bs[4 * hidden + j];
                    for (int k = 0; k < input; k++) s += xs[(t * batch + n) * input + k] * ws[j * input + k];
                    for (int k = 0; k < hidden; k++) s += h[n * hidden + k] * rs[j * hidden + k];
                    z[n, j] = clip > 0 ? Math.Clamp(s, -clip, clip) : s;
                }
            }

            var hNew = new float[batch * hidden];
            for (int n = 0; n < batch; n++)
            {
                for (int u = 0; u < hidden; u++)
                {
                    float ig = (float)Sig(z[n, u]), og = (float)Sig(z[n, hidden + u]), fg = (float)Sig(z[n, 2 * hidden + u]);
                    float cg = MathF.Tanh(z[n, 3 * hidden + u]);
                    c[n * hidden + u] = fg * c[n * hidden + u] + ig * cg;
                    hNew[n * hidden + u] = og * MathF.Tanh(c[n * hidden + u]);
                }
            }

            h = hNew;
            y.AddRange(h);
        }

        return (y.ToArray(), h, c);
    }
}
