using System;
using System.Linq;

namespace Aot.Onnx;

// LSTM (forward direction, layout 0 or 1, default activations) as DSL Lstm calls: the DSL returns one tensor, so each
// output that is read (Y, Y_h, Y_c) becomes its own call, and each call runs the whole recurrence; a node whose two or
// three outputs are read computes it two or three times. Layout 1 is layout 0 between Transposes.
internal sealed partial class Converter
{
    private static readonly string[] LstmDefaultActivations = { "Sigmoid", "Tanh", "Tanh" };
    private static readonly string[] LstmResults = { "LstmOutput.Sequence", "LstmOutput.LastHidden", "LstmOutput.LastCell" };

    private static void Lstm(NodeContext n)
    {
        n.RequireInputs(3, 8);
        var x = n.In(0);
        var w = n.In(1);
        var r = n.In(2);
        var (b, lengths, h0, c0, peepholes) = (n.OptionalIn(3), n.OptionalIn(4), n.OptionalIn(5), n.OptionalIn(6), n.OptionalIn(7));
        string direction = n.String("direction") ?? "forward";
        if (direction != "forward") throw n.Unsupported($"direction '{direction}' is not supported (only forward)");
        long layout = n.Opset >= 14 ? n.Int("layout", 0) : 0;
        if (layout is not (0 or 1)) throw n.Malformed($"layout {layout} is neither 0 nor 1");
        if (n.Int("input_forget", 0) != 0) throw n.Unsupported("input_forget 1 (coupled input and forget gates) is not supported");
        if (n.Strings("activations") is { } activations && !activations.SequenceEqual(LstmDefaultActivations, StringComparer.OrdinalIgnoreCase))
        {
            throw n.Unsupported($"activations [{string.Join(", ", activations)}] are not supported; only the defaults [{string.Join(", ", LstmDefaultActivations)}]");
        }

        foreach (var name in new[] { "activation_alpha", "activation_beta" })
        {
            if (n.Floats(name) is { } values) throw n.Unsupported($"attribute '{name}' [{string.Join(", ", values)}] is not supported (the default activations take no parameters)");
        }

        float clip = n.Float("clip", 0f);
        if (n.Has("clip") && !(clip > 0 && float.IsFinite(clip))) throw n.Unsupported($"clip {clip} is not supported; it must be positive and finite");
        if (peepholes is not null) throw n.Unsupported($"peephole weights (input P '{peepholes.OnnxName}') are not supported");

        if (x.Shape.Length != 3) throw n.Malformed($"X has shape {Format(x.Shape)}, expected rank 3");
        int seq = x.Shape[layout == 0 ? 0 : 1], batch = x.Shape[layout == 0 ? 1 : 0], input = x.Shape[2];
        if (r.Shape.Length != 3) throw n.Malformed($"R has shape {Format(r.Shape)}, expected [1, 4*hidden_size, hidden_size]");
        int hidden = r.Shape[2];
        if (n.Int("hidden_size", hidden) != hidden) throw n.Malformed($"hidden_size {n.Int("hidden_size", hidden)} but R has shape {Format(r.Shape)}");
        var state = layout == 0 ? new[] { 1, batch, hidden } : new[] { batch, 1, hidden };
        foreach (var (v, role, shape) in new[]
        {
            (w, "W", new[] { 1, 4 * hidden, input }), (r, "R", new[] { 1, 4 * hidden, hidden }), (b, "B", new[] { 1, 8 * hidden }),
            (h0, "initial_h", state), (c0, "initial_c", state),
        })
        {
            if (v is not null && !v.Shape.SequenceEqual(shape)) throw n.Malformed($"{role} '{v.OnnxName}' has shape {Format(v.Shape)}, expected {Format(shape)} (forward, hidden_size {hidden})");
        }

        if (lengths is not null)
        {
            var values = n.ConstInts(lengths, "sequence_lens");
            if (values.Length != batch || values.Any(v => v != seq))
            {
                throw n.Unsupported($"sequence_lens [{string.Join(", ", values)}] is not supported; only every sequence the full length {seq}");
            }
        }

        // Layout 1 (batch first): the operands into layout 0 once, each result back.
        string Layout0(Value v, string hint) => layout == 0 ? n.Operand(v) : n.Converter.Temporary(n, hint, $"Transpose({n.Operand(v)}, 1, 0, 2)", new[] { v.Shape[1], v.Shape[0], v.Shape[2] });
        var used = Enumerable.Range(0, 3).Where(n.OutputUsed).ToArray();
        if (used.Length == 0) return;
        var args = new[]
        {
            Layout0(x, "lstm_x"), n.Operand(w), n.Operand(r),
            b is null ? null : "b: " + n.Operand(b),
            h0 is null ? null : "initialH: " + Layout0(h0, "lstm_h0"),
            c0 is null ? null : "initialC: " + Layout0(c0, "lstm_c0"),
            clip > 0 ? "clip: " + Literal(clip) : null,
        }.OfType<string>().ToList();
        foreach (int i in used)
        {
            string call = $"Lstm({string.Join(", ", args)}{(i == 0 ? "" : ", output: " + LstmResults[i])})";
            if (i == 0)
            {
                n.EmitOutput(0, layout == 0 ? call : $"Transpose({call}, 2, 0, 1, 3)", layout == 0 ? new[] { seq, 1, batch, hidden } : new[] { batch, seq, 1, hidden });
            }
            else
            {
                n.EmitOutput(i, layout == 0 ? call : $"Transpose({call}, 1, 0, 2)", state);
            }
        }
    }
}
