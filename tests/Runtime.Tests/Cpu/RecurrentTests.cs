using Aot.Dsl;
using Aot.Runtime.Cpu;

namespace Runtime.Tests.Cpu;

public class RecurrentTests
{
    /// <summary>Lstm (packs W and R itself) and LstmPacked (given them packed) against the eager Ops.Lstm, all three
    /// results of one call, threads splitting the GEMMs; hidden 37 has a vector part and a scalar tail.</summary>
    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 1)]
    [InlineData(true, 2)]
    public void Lstm_writes_every_requested_result_like_the_eager_reference(bool packed, int threads)
    {
        const int seq = 7, batch = 3, input = 10, hidden = 37;
        var x = Tensor.Random(1, -1f, 1f, seq, batch, input);
        var w = Tensor.Random(2, -0.5f, 0.5f, 1, 4 * hidden, input);
        var r = Tensor.Random(3, -0.5f, 0.5f, 1, 4 * hidden, hidden);
        var b = Tensor.Random(4, -0.5f, 0.5f, 1, 8 * hidden);
        var h0 = Tensor.Random(5, -1f, 1f, 1, batch, hidden);
        var c0 = Tensor.Random(6, -1f, 1f, 1, batch, hidden);
        float[] y = new float[seq * batch * hidden], yh = new float[batch * hidden], yc = new float[batch * hidden];
        using var pool = threads > 1 ? new WorkerPool(threads) : null;
        if (packed)
        {
            var pw = new float[(4 * hidden + 31) / 32 * 32 * input];
            var pr = new float[(4 * hidden + 31) / 32 * 32 * hidden];
            Sgemm.PackB(w.Floats, input, 4 * hidden, true, pw);
            Sgemm.PackB(r.Floats, hidden, 4 * hidden, true, pr);
            Recurrent.LstmPacked(x.Floats, pw, pr, b.Floats, h0.Floats, c0.Floats, seq, batch, input, hidden, 0f, y, yh, yc, 8, 12, 16, 6, pool);
        }
        else
        {
            Recurrent.Lstm(x.Floats, w.Floats, r.Floats, b.Floats, h0.Floats, c0.Floats, seq, batch, input, hidden, 0f, y, yh, yc, 8, 12, 16, 6, pool);
        }

        Close(Ops.Lstm(x, w, r, b, h0, c0), y);
        Close(Ops.Lstm(x, w, r, b, h0, c0, LstmOutput.LastHidden), yh);
        Close(Ops.Lstm(x, w, r, b, h0, c0, LstmOutput.LastCell), yc);
    }

    [Fact]
    public void Lstm_rejects_spans_shorter_than_the_sizes()
    {
        var x = new float[2 * 1 * 3];
        var w = new float[8 * 3];
        var r = new float[8 * 2];
        var y = new float[2 * 2];
        Assert.Contains("x needs 6", Assert.Throws<ArgumentException>(() => Recurrent.Lstm(x.AsSpan(1), w, r, default, default, default, 2, 1, 3, 2, 0f, y, default, default, 8, 6, 8, 6)).Message);
        Assert.Contains("R 16", Assert.Throws<ArgumentException>(() => Recurrent.Lstm(x, w, r.AsSpan(1), default, default, default, 2, 1, 3, 2, 0f, y, default, default, 8, 6, 8, 6)).Message);
        Assert.Contains("B needs 16", Assert.Throws<ArgumentException>(() => Recurrent.Lstm(x, w, r, new float[8], default, default, 2, 1, 3, 2, 0f, y, default, default, 8, 6, 8, 6)).Message);
        Assert.Contains("Y needs 4", Assert.Throws<ArgumentException>(() => Recurrent.Lstm(x, w, r, default, default, default, 2, 1, 3, 2, 0f, y.AsSpan(1), default, default, 8, 6, 8, 6)).Message);
        Assert.Contains("packed W needs", Assert.Throws<ArgumentException>(() => Recurrent.LstmPacked(x, w, r, default, default, default, 2, 1, 3, 2, 0f, y, default, default, 8, 6, 8, 6)).Message);
    }

    private static void Close(Tensor expected, float[] actual)
    {
        var e = expected.Floats.ToArray();
        Assert.Equal(e.Length, actual.Length);
        for (int i = 0; i < e.Length; i++) Assert.True(Math.Abs(e[i] - actual[i]) <= 1e-5 + 1e-5 * Math.Abs(e[i]), $"[{i}]: {actual[i]}, expected {e[i]}");
    }
}
