using System;
using System.Collections.Generic;
using System.Linq;

namespace Aot.Onnx;

// Operators with no DSL op of their own, written as compositions of DSL ops in the generated source (Clip, LeakyRelu,
// PRelu, HardSigmoid, HardSwish, Elu, BatchNormalization), the reductions, and Slice/Split as DSL Slices (one axis
// each, chained), folded when the input is a constant.
internal sealed partial class Converter
{
    // ---- activations ----------------------------------------------------------------------------------------------

    private static void Clip(NodeContext n)
    {
        var x = n.In(0);
        string? low = null, high = null;
        if (n.Opset < 11)
        {
            n.RequireInputs(1, 1);
            float min = n.Float("min", float.NegativeInfinity), max = n.Float("max", float.PositiveInfinity);
            if (float.IsNaN(min) || float.IsNaN(max)) throw n.Unsupported($"attribute min = {min}, max = {max}: NaN bounds are not supported");
            if (min > float.MinValue) low = Literal(min); // the opset 6 defaults are +-FLT_MAX: no bound
            if (max < float.MaxValue) high = Literal(max);
        }
        else
        {
            n.RequireInputs(1, 3);
            low = ClipBound(n, n.OptionalIn(1), x, "min");
            high = ClipBound(n, n.OptionalIn(2), x, "max");
        }

        if (low is null && high is null)
        {
            n.Alias(x);
            return;
        }

        string expr = n.Operand(x);

        if (low is not null) expr = $"Max({expr}, {low})";
        if (high is not null) expr = $"Min({expr}, {high})";
        n.Emit(expr, x.Shape);
    }

    /// <summary>A Clip bound input (opset >= 11): a one-element tensor, a literal when constant.</summary>
    private static string? ClipBound(NodeContext n, Value? bound, Value x, string role)
    {
        if (bound is null) return null;
        if (bound.Shape.Aggregate(1L, (p, d) => p * d) != 1 || bound.Shape.Length > x.Shape.Length)
        {
            throw n.Malformed($"{role} '{bound.OnnxName}' has shape {Format(bound.Shape)}; a scalar is expected");
        }

        if (bound.Const is { } c)
        {
            if (!c.IsFloat) throw n.Unsupported($"{role} '{bound.OnnxName}' is an integer tensor; only Float is supported");
            float f = c.Floats![0];
            if (float.IsNaN(f)) throw n.Unsupported($"{role} '{bound.OnnxName}' = NaN is not supported");
            if (float.IsInfinity(f)) return (f < 0) == (role == "min") ? null : throw n.Unsupported($"{role} '{bound.OnnxName}' = {f} is not supported");
        }

        return n.Operand(bound, x.Shape);
    }

    private static void LeakyRelu(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        float alpha = n.Float("alpha", 0.01f);
        string v = n.Operand(x);
        // max(x, alpha x) when 0 <= alpha <= 1; otherwise relu(x) + alpha min(x, 0).
        n.Emit(alpha is >= 0f and <= 1f ? $"Max({v}, Mul({v}, {Literal(alpha)}))" : $"Add(Relu({v}), Mul(Min({v}, 0f), {Literal(alpha)}))", x.Shape);
    }

    private static void PRelu(NodeContext n)
    {
        n.RequireInputs(2, 2);
        var x = n.In(0);
        var slope = n.In(1);
        if (!Broadcast(n, x.Shape, slope.Shape).SequenceEqual(x.Shape)) throw n.Malformed($"slope {Format(slope.Shape)} does not broadcast to the input {Format(x.Shape)}");
        string v = n.Operand(x);
        n.Emit($"Add(Relu({v}), Mul(Min({v}, 0f), {n.Operand(slope, x.Shape)}))", x.Shape);
    }

    private static void HardSigmoid(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        float alpha = n.Float("alpha", 0.2f), beta = n.Float("beta", 0.5f);
        n.Emit(HardSigmoidExpr(n.Operand(x), alpha, beta), x.Shape);
    }

    private static string HardSigmoidExpr(string x, float alpha, float beta)
    {
        string scaled = alpha == 1f ? x : $"Mul({x}, {Literal(alpha)})";
        string shifted = beta == 0f ? scaled : $"Add({scaled}, {Literal(beta)})";
        return $"Min(Max({shifted}, 0f), 1f)";
    }

    private static void HardSwish(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        string v = n.Operand(x);
        n.Emit($"Mul({v}, {HardSigmoidExpr(v, 1f / 6f, 0.5f)})", x.Shape);
    }

    private static void Elu(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        float alpha = n.Float("alpha", 1f);
        string v = n.Operand(x);
        // x for x > 0, alpha (exp(x) - 1) otherwise: relu(x) + alpha (exp(min(x, 0)) - 1).
        string negative = NegativeExpm1Of(v);
        n.Emit($"Add(Relu({v}), {(alpha == 1f ? negative : $"Mul({negative}, {Literal(alpha)})")})", x.Shape);
    }

    private static void Softplus(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        string v = n.Operand(x);
        n.Emit(SoftplusOf(v), x.Shape);
    }

    /// <summary>log(1 + exp(x)) = relu(x) + log(1 + exp(-|x|)), without overflow.</summary>
    private static string SoftplusOf(string v) => $"Add(Relu({v}), Log(Add(Exp(Neg(Abs({v}))), 1f)))";

    /// <summary>exp(min(x, 0)) - 1: the negative part shared by Elu, Selu and Celu (0 for x >= 0).</summary>
    private static string NegativeExpm1Of(string v) => $"Sub(Exp(Min({v}, 0f)), 1f)";

    private static void Selu(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        float alpha = n.Float("alpha", 1.67326319217681884765625f), gamma = n.Float("gamma", 1.05070102214813232421875f);
        string v = n.Operand(x);
        n.Emit($"Mul(Add(Relu({v}), Mul({NegativeExpm1Of(v)}, {Literal(alpha)})), {Literal(gamma)})", x.Shape);
    }

    private static void Celu(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        float alpha = n.Float("alpha", 1f);
        if (alpha == 0f) throw n.Malformed("attribute 'alpha' = 0");
        string v = n.Operand(x);
        // max(0, x) + min(0, alpha (exp(x / alpha) - 1)) = relu(x) + alpha (exp(min(x, 0) / alpha) - 1) for alpha > 0.
        if (alpha < 0f) throw n.Unsupported($"attribute 'alpha' = {alpha}: only positive values are supported");
        string scaled = alpha == 1f ? $"Min({v}, 0f)" : $"Div(Min({v}, 0f), {Literal(alpha)})";
        string negative = $"Sub(Exp({scaled}), 1f)";
        n.Emit($"Add(Relu({v}), {(alpha == 1f ? negative : $"Mul({negative}, {Literal(alpha)})")})", x.Shape);
    }

    private static void Mish(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        string v = n.Operand(x);
        n.Emit($"Mul({v}, Tanh({SoftplusOf(v)}))", x.Shape);
    }

    private static void Reciprocal(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        n.Emit($"Div(1f, {n.Operand(x)})", x.Shape);
    }

    /// <summary>InstanceNormalization: per (n, c), over the spatial axes, then scale and B per channel.</summary>
    private static void InstanceNormalization(NodeContext n)
    {
        n.RequireInputs(3, 3);
        var x = n.In(0);
        var scale = n.In(1);
        var bias = n.In(2);
        float epsilon = n.Float("epsilon", 1e-5f);
        int rank = x.Shape.Length;
        if (rank < 3) throw n.Malformed($"input {Format(x.Shape)} has no spatial axes");
        int channels = x.Shape[1];
        foreach (var p in new[] { scale, bias })
        {
            if (p.Shape.Length != 1 || p.Shape[0] != channels) throw n.Malformed($"'{p.OnnxName}' has shape {Format(p.Shape)}, expected [{channels}]");
        }

        var perChannel = new[] { channels }.Concat(Enumerable.Repeat(1, rank - 2)).ToArray();
        string Channelwise(Value p, string suffix)
        {
            if (p.Const is { Floats: { } f }) return n.Operand(new Value(n.Converter.FreshName($"{p.OnnxName}.{suffix}"), perChannel) { Const = new ConstTensor(perChannel, f, null) });
            return $"Reshape({n.Operand(p)}, {Dims(perChannel)})";
        }

        string axes = $"new[] {{ {Dims(Enumerable.Range(2, rank - 2))} }}";
        var reducedShape = x.Shape.Select((d, i) => i < 2 ? d : 1).ToArray();
        string centered = n.Converter.Temporary(n, n.Output() + "_centered", $"Sub({n.Operand(x)}, ReduceMean({n.Operand(x)}, {axes}, keepDims: true))", x.Shape);
        string deviation = n.Converter.Temporary(n, n.Output() + "_std", $"Sqrt(Add(ReduceMean(Mul({centered}, {centered}), {axes}, keepDims: true), {Literal(epsilon)}))", reducedShape);
        n.Emit($"Add(Mul(Div({centered}, {deviation}), {Channelwise(scale, "per_channel")}), {Channelwise(bias, "per_channel")})", x.Shape);
    }

    private static void Softsign(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        string v = n.Operand(x);
        n.Emit($"Div({v}, Add(Abs({v}), 1f))", x.Shape);
    }

    private static void Gelu(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        string mode = n.String("approximate") ?? "none";
        n.Emit(mode switch
        {
            "none" => $"Gelu({n.Operand(x)})",
            "tanh" => $"Gelu({n.Operand(x)}, GeluMode.Tanh)",
            _ => throw n.Unsupported($"attribute 'approximate' = '{mode}' is not supported (none, tanh)"),
        }, x.Shape);
    }

    /// <summary>Sum, Mean, Max, Min of any number of inputs (numpy broadcasting), chained pairwise.</summary>
    private static void Variadic(NodeContext n, string op)
    {
        if (n.InputCount == 2 && op is "Max" or "Min")
        {
            Binary(n, op, op == "Max" ? MathF.Max : MathF.Min, op == "Max" ? Math.Max : Math.Min);
            return;
        }

        if (n.InputCount < 1) throw n.Malformed($"{op} needs at least one input");
        var inputs = Enumerable.Range(0, n.InputCount).Select(n.In).ToArray();
        var shape = inputs.Skip(1).Aggregate(inputs[0].Shape, (s, v) => Broadcast(n, s, v.Shape));
        if (inputs.Length == 1)
        {
            n.Alias(inputs[0]);
            return;
        }

        string pairwise = op switch { "Sum" or "Mean" => "Add", _ => op };
        string expr = n.Operand(inputs[0], shape);
        foreach (var v in inputs.Skip(1)) expr = $"{pairwise}({expr}, {n.Operand(v, shape)})";
        if (op == "Mean") expr = $"Div({expr}, {Literal(inputs.Length)})";
        n.Emit(expr, shape);
    }

    private static void LogSoftmax(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        int rank = x.Shape.Length;
        bool coerce2d = n.Opset < 13;
        int axis = Axis(n, n.Int("axis", coerce2d ? 1 : -1), rank);
        string v = n.Operand(x);
        int reduced = axis;
        var shape = x.Shape;
        if (coerce2d && axis != rank - 1)
        {
            shape = new[] { checked((int)Product(x.Shape, 0, axis)), checked((int)Product(x.Shape, axis, rank)) };
            v = n.Converter.Temporary(n, n.Output() + "_2d", $"Reshape({v}, {Dims(shape)})", shape);
            reduced = 1;
        }

        // x - max - log(sum(exp(x - max))) over the axis.
        string shifted = n.Converter.Temporary(n, n.Output() + "_shifted", $"Sub({v}, ReduceMax({v}, {reduced}, keepDims: true))", shape);
        string expr = $"Sub({shifted}, Log(ReduceSum(Exp({shifted}), {reduced}, keepDims: true)))";
        n.Emit(coerce2d && axis != rank - 1 ? $"Reshape({expr}, {Dims(x.Shape)})" : expr, x.Shape);
    }

    private static void LayerNormalization(NodeContext n)
    {
        n.RequireInputs(2, 3);
        var x = n.In(0);
        var scale = n.In(1);
        var bias = n.OptionalIn(2);
        int rank = x.Shape.Length;
        int axis = Axis(n, n.Int("axis", -1), rank);
        float epsilon = n.Float("epsilon", 1e-5f);
        if (n.Int("stash_type", 1) != 1) throw n.Unsupported("attribute 'stash_type' other than 1 (float) is not supported");
        var trailing = x.Shape[axis..];
        foreach (var (p, role) in new[] { (scale, "Scale"), (bias, "B") })
        {
            if (p is not null && !p.Shape.SequenceEqual(trailing))
            {
                throw n.Unsupported($"{role} '{p.OnnxName}' has shape {Format(p.Shape)}; only the normalized shape {Format(trailing)} is supported");
            }
        }

        if (bias is null)
        {
            int count = checked((int)Product(trailing, 0, trailing.Length));
            bias = new Value(n.Converter.FreshName($"{scale.OnnxName}.zero_bias"), trailing) { Const = new ConstTensor(trailing, new float[count], null) };
        }

        string eps = epsilon == 1e-5f ? "" : $", epsilon: {Literal(epsilon)}";
        n.Emit($"LayerNorm({n.Operand(x)}, {n.Operand(scale)}, {n.Operand(bias)}{eps})", x.Shape);
    }

    // ---- BatchNormalization ---------------------------------------------------------------------------------------

    private readonly Dictionary<OnnxNodeProto, OnnxNodeProto> _batchNormAfterConv = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<OnnxNodeProto> _foldedBatchNorms = new(ReferenceEqualityComparer.Instance);

    /// <summary>Conv -> BatchNormalization pairs where the BatchNormalization is the Conv output's only reader.</summary>
    private void FindBatchNormsAfterConv(OnnxGraphProto graph)
    {
        var uses = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in Reads(graph))
        {
            uses[name] = uses.GetValueOrDefault(name) + 1;
        }

        var producers = new Dictionary<string, OnnxNodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            if (node.Domain is not ("" or "ai.onnx")) continue;
            if (node.OpType == "BatchNormalization" && node.Inputs.Count > 0 && producers.TryGetValue(node.Inputs[0], out var conv)
                && conv.OpType is "Conv" or "Gemm" && conv.Outputs.Count == 1 && uses.GetValueOrDefault(node.Inputs[0]) == 1)
            {
                _batchNormAfterConv[conv] = node;
            }

            foreach (var o in node.Outputs) producers.TryAdd(o, node);
        }
    }

    /// <summary>A name for a weight computed here that no initializer or earlier weight has.</summary>
    private string FreshName(string wanted)
    {
        string name = wanted;
        for (int i = 2; TryLookup(name, out _) || _weights.Any(w => w.OnnxName == name); i++) name = $"{wanted}_{i}";
        return name;
    }

    /// <summary>The constant float [C] parameters of a BatchNormalization node, or null when one is not constant.</summary>
    private (float[] Scale, float[] Shift)? BatchNormAffine(OnnxNodeProto bn, int channels, float epsilon)
    {
        if (bn.Inputs.Count != 5) return null;
        var p = new float[4][];
        for (int i = 0; i < 4; i++)
        {
            if (!TryLookup(bn.Inputs[i + 1], out var v) || v.Const is not { Floats: { } f } || v.Shape.Length != 1 || v.Shape[0] != channels) return null;
            p[i] = f;
        }

        var scale = new float[channels];
        var shift = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double s = p[0][c] / Math.Sqrt((double)p[3][c] + epsilon);
            scale[c] = (float)s;
            shift[c] = (float)(p[1][c] - p[2][c] * s);
        }

        return (scale, shift);
    }

    private static float BatchNormEpsilon(OnnxNodeProto bn) =>
        bn.Attributes.FirstOrDefault(a => a.Name == "epsilon" && a.Type == OnnxAttributeType.Float)?.F ?? 1e-5f;

    /// <summary>Folds the BatchNormalization after this Conv (its only reader) into the Conv's weight and bias:
    /// W' = W s[k], b' = (b - mean) s + B with s = scale / sqrt(var + eps). Null when it cannot (non-constant operands).</summary>
    internal (Value Weight, Value Bias, string Note)? FoldBatchNorm(NodeContext conv, Value w, Value? bias)
    {
        if (!_batchNormAfterConv.TryGetValue(conv.Node, out var bn)) return null;
        if (w.Const is not { Floats: { } weights } || (bias is not null && bias.Const is not { Floats: not null })) return null;
        if (bn.Attributes.Any(a => a.Name == "training_mode" && a.I != 0)) return null;
        int k = w.Shape[0];
        if (BatchNormAffine(bn, k, BatchNormEpsilon(bn)) is not var (scale, shift)) return null;

        long perChannel = weights.Length / k;
        var folded = new float[weights.Length];
        for (int i = 0; i < weights.Length; i++) folded[i] = weights[i] * scale[i / perChannel];
        var foldedBias = new float[k];
        for (int c = 0; c < k; c++) foldedBias[c] = (bias is null ? 0f : bias.Const!.Floats![c]) * scale[c] + shift[c];

        _foldedBatchNorms.Add(bn);
        string bnName = bn.Name.Length > 0 ? bn.Name : bn.Outputs.FirstOrDefault() ?? "BatchNormalization";
        var weight = new Value(FreshName($"{w.OnnxName}.bn_folded"), w.Shape) { Const = new ConstTensor(w.Shape, folded, null) };
        var b = new Value(FreshName($"{bias?.OnnxName ?? w.OnnxName + ".bias"}.bn_folded"), new[] { k }) { Const = new ConstTensor(new[] { k }, foldedBias, null) };
        return (weight, b, $"(BatchNormalization '{bnName}' folded into the weight and bias)");
    }

    /// <summary>Folds the BatchNormalization after this Gemm (its only reader) into B and C: B' = B s per output column,
    /// C' = beta C s + shift (then beta = 1). Null when it cannot (non-constant B or C, or C varying over rows).</summary>
    internal (Value B, Value C, string Note)? FoldBatchNormIntoGemm(NodeContext gemm, Value b, Value? c, bool transB, float beta, int columns)
    {
        if (!_batchNormAfterConv.TryGetValue(gemm.Node, out var bn)) return null;
        if (b.Const is not { Floats: { } weights }) return null;
        if (c is not null && (c.Const is not { Floats: { } cf } || (cf.Length != 1 && !(c.Shape[^1] == columns && c.Shape[..^1].All(d => d == 1))))) return null; // C must not vary over rows
        if (bn.Attributes.Any(a => a.Name == "training_mode" && a.I != 0)) return null;
        if (BatchNormAffine(bn, columns, BatchNormEpsilon(bn)) is not var (scale, shift)) return null;

        var folded = new float[weights.Length];
        for (int i = 0; i < weights.Length; i++) folded[i] = weights[i] * scale[transB ? i / b.Shape[1] : i % b.Shape[1]];
        var bias = new float[columns];
        for (int j = 0; j < columns; j++)
        {
            float cj = c is null ? 0f : c.Const!.Floats!.Length == 1 ? c.Const.Floats[0] : c.Const.Floats[j];
            bias[j] = beta * cj * scale[j] + shift[j];
        }

        _foldedBatchNorms.Add(bn);
        string bnName = bn.Name.Length > 0 ? bn.Name : bn.Outputs.FirstOrDefault() ?? "BatchNormalization";
        var weight = new Value(FreshName($"{b.OnnxName}.bn_folded"), b.Shape) { Const = new ConstTensor(b.Shape, folded, null) };
        var cValue = new Value(FreshName($"{c?.OnnxName ?? b.OnnxName + ".bias"}.bn_folded"), new[] { columns }) { Const = new ConstTensor(new[] { columns }, bias, null) };
        return (weight, cValue, $"(BatchNormalization '{bnName}' folded into B and C)");
    }

    private static void BatchNormalization(NodeContext n)
    {
        n.RequireInputs(5, 5);
        var x = n.In(0);
        float epsilon = n.Float("epsilon", 1e-5f);
        n.Ignore("momentum");
        if (n.Opset < 9 && n.Int("spatial", 1) != 1) throw n.Unsupported("attribute 'spatial' = 0 (per-activation statistics) is not supported");
        if (n.Opset >= 14 && n.Int("training_mode", 0) != 0) throw n.Unsupported("attribute 'training_mode' = 1: only inference is supported");
        if (x.Shape.Length < 2) throw n.Malformed($"input {Format(x.Shape)} has no channel axis");
        int channels = x.Shape[1];
        for (int i = 1; i < 5; i++)
        {
            var p = n.In(i);
            if (p.Shape.Length != 1 || p.Shape[0] != channels) throw n.Malformed($"input {i} '{p.OnnxName}' has shape {Format(p.Shape)}, expected [{channels}]");
        }

        if (n.Converter._foldedBatchNorms.Contains(n.Node))
        {
            n.Alias(x); // already applied by the Conv before it
            return;
        }

        if (n.Converter.BatchNormAffine(n.Node, channels, epsilon) is not var (scale, shift))
        {
            throw n.Unsupported("scale, B, mean and var must be constants (initializers)");
        }

        // y = x * scale' + shift', per channel: [C, 1, ..., 1] broadcasts over [N, C, ...].
        var shape = new[] { channels }.Concat(Enumerable.Repeat(1, x.Shape.Length - 2)).ToArray();
        string bnName = n.Node.Name.Length > 0 ? n.Node.Name : n.Output();
        var s = new Value(n.Converter.FreshName($"{bnName}.scale_folded"), shape) { Const = new ConstTensor(shape, scale, null) };
        var t = new Value(n.Converter.FreshName($"{bnName}.shift_folded"), shape) { Const = new ConstTensor(shape, shift, null) };
        n.Emit($"Add(Mul({n.Operand(x)}, {n.Operand(s)}), {n.Operand(t)})", x.Shape);
    }

    // ---- reductions -----------------------------------------------------------------------------------------------

    /// <summary>ReduceSum/Mean/Max/Min/SumSquare/L2: axes as an attribute before <paramref name="axesInputOpset"/>, as
    /// an input from it (13 for ReduceSum, 18 for the others), keepdims, noop_with_empty_axes.</summary>
    private static void Reduce(NodeContext n, string op, int axesInputOpset)
    {
        var x = n.In(0);
        long[]? axes;
        bool noop = false;
        if (n.Opset < axesInputOpset)
        {
            n.RequireInputs(1, 1);
            axes = n.Ints("axes");
        }
        else
        {
            n.RequireInputs(1, 2);
            axes = n.OptionalIn(1) is { } a ? n.ConstInts(a, "axes") : null;
            noop = n.Int("noop_with_empty_axes", 0) != 0;
        }

        bool keepDims = n.Int("keepdims", 1) != 0;
        int rank = x.Shape.Length;
        if ((axes is null || axes.Length == 0) && (noop || rank == 0))
        {
            if (op is "ReduceSumSquare" or "ReduceL2") throw n.Unsupported($"{op} with no axes and noop_with_empty_axes is not supported");
            n.Alias(x);
            return;
        }

        var normalized = axes is null || axes.Length == 0
            ? Enumerable.Range(0, rank).ToArray()
            : axes.Select(a => Axis(n, a, rank, "axes")).OrderBy(a => a).ToArray();
        if (normalized.Distinct().Count() != normalized.Length) throw n.Malformed($"axes [{string.Join(", ", axes!)}] repeat an axis");
        if (normalized.Any(a => x.Shape[a] == 0)) throw n.Unsupported($"reducing an empty axis of {Format(x.Shape)} is not supported");
        var shape = keepDims
            ? x.Shape.Select((d, i) => normalized.Contains(i) ? 1 : d).ToArray()
            : x.Shape.Where((_, i) => !normalized.Contains(i)).ToArray();
        string v = n.Operand(x);
        string axesArg = normalized.Length == 1 ? $"{normalized[0]}" : $"new[] {{ {Dims(normalized)} }}";
        string Call(string dslOp, string operand) => $"{dslOp}({operand}, {axesArg}, keepDims: {(keepDims ? "true" : "false")})";
        n.Emit(op switch
        {
            "ReduceMin" => $"Neg({Call("ReduceMax", $"Neg({v})")})",
            "ReduceSumSquare" => Call("ReduceSum", $"Mul({v}, {v})"),
            "ReduceL2" => $"Sqrt({Call("ReduceSum", $"Mul({v}, {v})")})",
            _ => Call(op, v),
        }, shape);
    }

    // ---- Slice and Split ------------------------------------------------------------------------------------------

    private static void Slice(NodeContext n)
    {
        var x = n.In(0);
        long[] starts, ends;
        long[]? axes, steps = null;
        if (n.Opset < 10)
        {
            n.RequireInputs(1, 1);
            starts = n.Ints("starts") ?? throw n.Malformed("attribute 'starts' is missing");
            ends = n.Ints("ends") ?? throw n.Malformed("attribute 'ends' is missing");
            axes = n.Ints("axes");
        }
        else
        {
            n.RequireInputs(3, 5);
            starts = n.ConstInts(n.In(1), "starts");
            ends = n.ConstInts(n.In(2), "ends");
            axes = n.OptionalIn(3) is { } a ? n.ConstInts(a, "axes") : null;
            steps = n.OptionalIn(4) is { } s ? n.ConstInts(s, "steps") : null;
        }

        int rank = x.Shape.Length;
        if (ends.Length != starts.Length || (axes is not null && axes.Length != starts.Length) || (steps is not null && steps.Length != starts.Length))
        {
            throw n.Malformed($"starts, ends, axes and steps have different lengths ({starts.Length}, {ends.Length}, {axes?.Length}, {steps?.Length})");
        }

        var begin = new int[rank];
        var step = Enumerable.Repeat(1, rank).ToArray();
        var shape = (int[])x.Shape.Clone();
        var seen = new bool[rank];
        for (int i = 0; i < starts.Length; i++)
        {
            int axis = Axis(n, axes?[i] ?? i, rank, "axes");
            if (seen[axis]) throw n.Malformed($"axes [{string.Join(", ", axes!)}] repeat axis {axis}");
            seen[axis] = true;
            long st = steps?[i] ?? 1;
            if (st == 0) throw n.Malformed($"step 0 on axis {axis}");
            long dim = x.Shape[axis];
            long first = starts[i] < 0 ? starts[i] + dim : starts[i], last = ends[i] < 0 ? ends[i] + dim : ends[i];
            long count;
            if (st > 0)
            {
                first = Math.Clamp(first, 0, dim);
                last = Math.Clamp(last, 0, dim);
                count = last > first ? 1 + (last - first - 1) / st : 0;
            }
            else
            {
                first = Math.Clamp(first, 0, dim - 1);
                last = Math.Clamp(last, -1, dim - 1);
                count = first > last ? 1 + (first - last - 1) / -st : 0;
            }

            begin[axis] = (int)first;
            shape[axis] = (int)count;
            step[axis] = count > 1 ? (int)st : 1;
        }

        if (x.Const is { } c)
        {
            n.Constant(SliceConst(c, begin, step, shape));
            return;
        }

        if (shape.Contains(0)) throw n.Unsupported($"the slice of {Format(x.Shape)} is empty ({Format(shape)}); empty tensors are not supported");
        if (step.Any(s => s < 0)) throw n.Unsupported($"steps [{string.Join(", ", steps!)}]: negative steps are supported only on constants");
        string expr = n.Operand(x);
        for (int axis = 0; axis < rank; axis++)
        {
            if (begin[axis] == 0 && shape[axis] == x.Shape[axis] && step[axis] == 1) continue;
            expr = SliceExpr(expr, axis, begin[axis], shape[axis], step[axis]);
        }

        if (expr == n.Operand(x)) n.Alias(x);
        else n.Emit(expr, shape);
    }

    private static string SliceExpr(string x, int axis, int begin, int count, int step)
    {
        int end = begin + (count - 1) * step + 1;
        return $"Slice({x}, axis: {axis}, start: {begin}, end: {end}{(step != 1 ? $", step: {step}" : "")})";
    }

    /// <summary>Elements begin[d] + i step[d] (i &lt; shape[d]) of a constant.</summary>
    private static ConstTensor SliceConst(ConstTensor c, int[] begin, int[] step, int[] shape)
    {
        int rank = shape.Length;
        var strides = new long[rank];
        long stride = 1;
        for (int d = rank - 1; d >= 0; d--)
        {
            strides[d] = stride;
            stride *= c.Shape[d];
        }

        long count = Product(shape, 0, rank);
        var source = new long[count];
        for (long flat = 0; flat < count; flat++)
        {
            long rest = flat, offset = 0;
            for (int d = rank - 1; d >= 0; d--)
            {
                offset += (begin[d] + rest % shape[d] * step[d]) * strides[d];
                rest /= shape[d];
            }

            source[flat] = offset;
        }

        return c.IsFloat
            ? new ConstTensor(shape, source.Select(i => c.Floats![i]).ToArray(), null)
            : new ConstTensor(shape, null, source.Select(i => c.Ints![i]).ToArray());
    }

    private static void Split(NodeContext n)
    {
        var x = n.In(0);
        int rank = x.Shape.Length;
        int axis = Axis(n, n.Int("axis", 0), rank);
        int outputs = n.Node.Outputs.Count;
        long[]? sizes;
        if (n.Opset < 13)
        {
            n.RequireInputs(1, 1);
            sizes = n.Ints("split");
        }
        else
        {
            n.RequireInputs(1, 2);
            sizes = n.OptionalIn(1) is { } s ? n.ConstInts(s, "split") : null;
        }

        long? parts = n.Opset >= 18 && n.Has("num_outputs") ? n.Int("num_outputs", 0) : null;
        int dim = x.Shape[axis];
        if (outputs == 0) throw n.Malformed("Split has no outputs");
        if (sizes is not null && parts is not null) throw n.Malformed("both 'split' and 'num_outputs' are given");
        if (sizes is null && parts is { } p)
        {
            if (p != outputs) throw n.Malformed($"num_outputs {p} but {outputs} outputs");
            long chunk = (dim + p - 1) / p;
            sizes = Enumerable.Range(0, outputs).Select(i => Math.Max(0, Math.Min(chunk, dim - i * chunk))).ToArray();
        }
        else if (sizes is null)
        {
            if (dim % outputs != 0) throw n.Malformed($"axis {axis} of {Format(x.Shape)} does not split into {outputs} equal parts");
            sizes = Enumerable.Repeat((long)(dim / outputs), outputs).ToArray();
        }

        if (sizes.Length != outputs || sizes.Any(v => v < 0) || sizes.Sum() != dim)
        {
            throw n.Malformed($"split [{string.Join(", ", sizes)}] does not divide axis {axis} of {Format(x.Shape)} into {outputs} outputs");
        }

        int start = 0;
        for (int i = 0; i < outputs; i++)
        {
            int size = (int)sizes[i];
            var shape = (int[])x.Shape.Clone();
            shape[axis] = size;
            var begin = new int[rank];
            begin[axis] = start;
            start += size;
            if (!n.OutputUsed(i)) continue;
            if (x.Const is { } c)
            {
                n.ConstantOutput(i, SliceConst(c, begin, Enumerable.Repeat(1, rank).ToArray(), shape));
            }
            else if (size == dim)
            {
                n.AliasOutput(i, x);
            }
            else
            {
                if (size == 0) throw n.Unsupported($"output {i} of the split of {Format(x.Shape)} is empty; empty tensors are not supported");
                n.EmitOutput(i, SliceExpr(n.Operand(x), axis, begin[axis], size, 1), shape);
            }
        }
    }
}

// Pad (constant, reflect, edge, wrap) as Concats of constant blocks and Slices of the input, axis by axis (as numpy.pad);
// negative pads crop with Slice.
internal sealed partial class Converter
{
    private static bool IsSimple(string expr) => expr.All(c => char.IsLetterOrDigit(c) || c == '_' || c == '!');

    private static void Pad(NodeContext n)
    {
        var x = n.In(0);
        int rank = x.Shape.Length;
        string mode = n.String("mode") ?? "constant";
        long[] pads;
        long[]? axes = null;
        float value = 0f;
        if (n.Opset < 11)
        {
            n.RequireInputs(1, 1);
            pads = n.Ints("pads") ?? throw n.Malformed("attribute 'pads' is missing");
            value = n.Float("value", 0f);
        }
        else
        {
            n.RequireInputs(2, n.Opset >= 18 ? 4 : 3);
            pads = n.ConstInts(n.In(1), "pads");
            if (n.OptionalIn(2) is { } v)
            {
                if (v.Const is not { Floats: { Length: 1 } f }) throw n.Unsupported($"constant_value '{v.OnnxName}' must be a one-element float constant");
                value = f[0];
            }

            if (n.OptionalIn(3) is { } a) axes = n.ConstInts(a, "axes");
        }

        var padded = axes?.Select(a => Axis(n, a, rank, "axes")).ToArray() ?? Enumerable.Range(0, rank).ToArray();
        if (padded.Distinct().Count() != padded.Length) throw n.Malformed($"axes [{string.Join(", ", axes!)}] repeat an axis");
        if (pads.Length != 2 * padded.Length) throw n.Malformed($"pads has {pads.Length} values, expected {2 * padded.Length}");
        var before = new long[rank];
        var after = new long[rank];
        for (int i = 0; i < padded.Length; i++)
        {
            before[padded[i]] = pads[i];
            after[padded[i]] = pads[i + padded.Length];
        }

        if (mode is not ("constant" or "reflect" or "edge" or "wrap") || (mode == "wrap" && n.Opset < 19)) throw n.Unsupported($"attribute 'mode' = '{mode}' is not supported");
        string operand = n.Operand(x);
        var (expr, shape) = PadExpr(n, operand, x.Shape, before, after, mode, value);
        if (expr == operand) n.Alias(x);
        else n.Emit(expr, shape);
    }

    /// <summary>The expression (and shape) of <paramref name="x"/> padded by before/after per axis.</summary>
    internal static (string Expr, int[] Shape) PadExpr(NodeContext n, string x, int[] inputShape, long[] before, long[] after, string mode, float value)
    {
        int rank = inputShape.Length;
        var shape = (int[])inputShape.Clone();
        string cur = x;
        for (int d = 0; d < rank; d++)
        {
            if (before[d] >= 0 && after[d] >= 0) continue;
            long start = Math.Max(0, -before[d]), end = shape[d] - Math.Max(0, -after[d]);
            if (end <= start) throw n.Unsupported($"pads crop axis {d} of {Format(inputShape)} to nothing; empty tensors are not supported");
            cur = $"Slice({cur}, axis: {d}, start: {start}, end: {end})";
            shape[d] = (int)(end - start);
        }

        string label = n.Node.Name.Length > 0 ? n.Node.Name : n.Output();
        for (int d = 0; d < rank; d++)
        {
            long b = Math.Max(0, before[d]), a = Math.Max(0, after[d]);
            if (b == 0 && a == 0) continue;
            int size = shape[d];
            if (mode == "reflect" && (b > size - 1 || a > size - 1)) throw n.Unsupported($"reflect pads {b}, {a} on axis {d} of size {size}: at most {size - 1} are supported");
            if (mode == "wrap" && (b > size || a > size)) throw n.Unsupported($"wrap pads {b}, {a} on axis {d} of size {size}: at most {size} are supported");
            if (b + a + size > int.MaxValue / 2) throw n.Malformed($"pads {b}, {a} on axis {d} are out of range");
            if (mode != "constant" && !IsSimple(cur)) cur = n.Converter.Temporary(n, n.Output() + "_part", cur, shape);
            string One(int i) => $"Slice({cur}, axis: {d}, start: {i}, end: {i + 1})";
            string Block(long count, string side)
            {
                var blockShape = (int[])shape.Clone();
                blockShape[d] = (int)count;
                long elements = CheckedCount(blockShape);
                if (elements > MaxFoldedElements) throw n.Unsupported($"a padding block {Format(blockShape)} has more than {MaxFoldedElements} elements");
                var block = new Value(n.Converter.FreshName($"{label}.pad{d}_{side}"), blockShape) { Const = new ConstTensor(blockShape, Enumerable.Repeat(value, (int)elements).ToArray(), null) };
                return n.Converter.Operand(block, n);
            }

            var parts = new List<string>();
            switch (mode)
            {
                case "constant":
                    if (b > 0) parts.Add(Block(b, "before"));
                    parts.Add(cur);
                    if (a > 0) parts.Add(Block(a, "after"));
                    break;
                case "reflect":
                    for (long i = b; i >= 1; i--) parts.Add(One((int)i));
                    parts.Add(cur);
                    for (long i = 1; i <= a; i++) parts.Add(One(size - 1 - (int)i));
                    break;
                case "edge":
                    for (long i = 0; i < b; i++) parts.Add(One(0));
                    parts.Add(cur);
                    for (long i = 0; i < a; i++) parts.Add(One(size - 1));
                    break;
                default: // wrap
                    if (b > 0) parts.Add($"Slice({cur}, axis: {d}, start: {size - b}, end: {size})");
                    parts.Add(cur);
                    if (a > 0) parts.Add($"Slice({cur}, axis: {d}, start: 0, end: {a})");
                    break;
            }

            cur = $"Concat(new[] {{ {string.Join(", ", parts)} }}, axis: {d})";
            shape[d] = checked(size + (int)b + (int)a);
        }

        return (cur, shape);
    }
}
