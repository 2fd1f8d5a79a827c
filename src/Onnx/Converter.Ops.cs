using System;
using System.Collections.Generic;
using System.Linq;

namespace Aot.Onnx;

// The operator mappings: ONNX node -> one DSL statement, or a value computed here when every input is a constant
// (the Shape -> Gather -> Unsqueeze -> Concat -> Reshape arithmetic exporters emit).
internal sealed partial class Converter
{
    internal static readonly Dictionary<string, Action<NodeContext>> Handlers = new(StringComparer.Ordinal)
    {
        ["Add"] = n => Binary(n, "Add", static (a, b) => a + b, static (a, b) => a + b),
        ["Sub"] = n => Binary(n, "Sub", static (a, b) => a - b, static (a, b) => a - b),
        ["Mul"] = n => Binary(n, "Mul", static (a, b) => a * b, static (a, b) => a * b),
        ["Div"] = n => Binary(n, "Div", static (a, b) => a / b, static (a, b) => b == 0 ? throw new DivideByZeroException() : a / b),
        ["Pow"] = n => Binary(n, "Pow", MathF.Pow, null),
        ["Max"] = n => Variadic(n, "Max"),
        ["Min"] = n => Variadic(n, "Min"),
        ["Sum"] = n => Variadic(n, "Sum"),
        ["Mean"] = n => Variadic(n, "Mean"),
        ["Relu"] = n => Unary(n, "Relu"),
        ["Sigmoid"] = n => Unary(n, "Sigmoid"),
        ["Tanh"] = n => Unary(n, "Tanh"),
        ["Exp"] = n => Unary(n, "Exp"),
        ["Log"] = n => Unary(n, "Log"),
        ["Sqrt"] = n => Unary(n, "Sqrt"),
        ["Neg"] = n => Unary(n, "Neg"),
        ["Abs"] = n => Unary(n, "Abs"),
        ["Erf"] = n => Unary(n, "Erf"),
        ["Softmax"] = Softmax,
        ["MatMul"] = MatMul,
        ["Gemm"] = Gemm,
        ["Conv"] = Conv,
        ["ConvTranspose"] = ConvTranspose,
        ["MaxPool"] = n => Pool(n, max: true),
        ["AveragePool"] = n => Pool(n, max: false),
        ["GlobalAveragePool"] = GlobalAveragePool,
        ["Flatten"] = Flatten,
        ["Reshape"] = Reshape,
        ["Squeeze"] = n => SqueezeOrUnsqueeze(n, squeeze: true),
        ["Unsqueeze"] = n => SqueezeOrUnsqueeze(n, squeeze: false),
        ["Transpose"] = Transpose,
        ["Concat"] = Concat,
        ["Gather"] = Gather,
        ["Shape"] = Shape,
        ["Cast"] = Cast,
        ["Identity"] = Identity,
        ["Dropout"] = Dropout,
        ["Constant"] = Constant,
        ["Clip"] = Clip,
        ["LeakyRelu"] = LeakyRelu,
        ["PRelu"] = PRelu,
        ["HardSigmoid"] = HardSigmoid,
        ["HardSwish"] = HardSwish,
        ["Elu"] = Elu,
        ["BatchNormalization"] = BatchNormalization,
        ["ReduceSum"] = n => Reduce(n, "ReduceSum", 13),
        ["ReduceMean"] = n => Reduce(n, "ReduceMean", 18),
        ["ReduceMax"] = n => Reduce(n, "ReduceMax", 18),
        ["ReduceMin"] = n => Reduce(n, "ReduceMin", 18),
        ["ReduceSumSquare"] = n => Reduce(n, "ReduceSumSquare", 18),
        ["ReduceL2"] = n => Reduce(n, "ReduceL2", 18),
        ["Slice"] = Slice,
        ["Split"] = Split,
        ["Equal"] = n => Compare(n, "Equal", static (a, b) => a == b),
        ["Greater"] = n => Compare(n, "Greater", static (a, b) => a > b),
        ["GreaterOrEqual"] = n => Compare(n, "GreaterOrEqual", static (a, b) => a >= b),
        ["Less"] = n => Compare(n, "Less", static (a, b) => a < b),
        ["LessOrEqual"] = n => Compare(n, "LessOrEqual", static (a, b) => a <= b),
        ["Not"] = Not,
        ["And"] = n => Logical(n, static (a, b) => a && b, "Mul({0}, {1})"),
        ["Or"] = n => Logical(n, static (a, b) => a || b, "Max({0}, {1})"),
        ["Xor"] = n => Logical(n, static (a, b) => a != b, "Abs(Sub({0}, {1}))"),
        ["Where"] = Where,
        ["If"] = If,
        ["Resize"] = Resize,
        ["Upsample"] = Resize,
        ["ConstantOfShape"] = ConstantOfShape,
        ["Expand"] = Expand,
        ["Softplus"] = Softplus,
        ["Softsign"] = Softsign,
        ["Gelu"] = Gelu,
        ["LogSoftmax"] = LogSoftmax,
        ["LayerNormalization"] = LayerNormalization,
        ["Pad"] = Pad,
        ["Selu"] = Selu,
        ["Celu"] = Celu,
        ["Mish"] = Mish,
        ["Reciprocal"] = Reciprocal,
        ["InstanceNormalization"] = InstanceNormalization,
        ["LSTM"] = Lstm,
    };

    // ---- shapes ---------------------------------------------------------------------------------------------------

    private static long Product(int[] shape, int from, int to)
    {
        long p = 1;
        for (int i = from; i < to; i++) p *= shape[i];
        return p;
    }

    private static int[] Broadcast(NodeContext n, int[] a, int[] b) =>
        TryBroadcast(a, b) ?? throw n.Malformed($"shapes {Format(a)} and {Format(b)} do not broadcast");

    /// <summary>numpy broadcasting of two shapes; null when they do not broadcast.</summary>
    private static int[]? TryBroadcast(int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1) return null;
            result[i] = da == 1 ? db : da;
        }

        return result;
    }

    private static int Axis(NodeContext n, long axis, int rank, string name = "axis", bool allowRank = false)
    {
        long normalized = axis < 0 ? axis + rank + (allowRank ? 1 : 0) : axis;
        if (normalized < 0 || normalized > rank || (normalized == rank && !allowRank))
        {
            throw n.Malformed($"{name} {axis} is out of range for rank {rank}");
        }

        return (int)normalized;
    }

    private static string Dims(IEnumerable<int> dims) => string.Join(", ", dims);

    // ---- constant folding -----------------------------------------------------------------------------------------

    private static bool AllConst(params Value?[] values) => values.All(v => v is null || v.Const is not null);

    /// <summary>Flat element offsets of <paramref name="shape"/> broadcast to <paramref name="to"/>.</summary>
    private static int[] BroadcastIndex(int[] shape, int[] to)
    {
        long count = Product(to, 0, to.Length);
        var result = new int[count];
        var strides = new int[to.Length];
        int stride = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            int axis = i + to.Length - shape.Length;
            strides[axis] = shape[i] == 1 ? 0 : stride;
            stride *= shape[i];
        }

        for (long flat = 0; flat < count; flat++)
        {
            long rest = flat;
            int offset = 0;
            for (int axis = to.Length - 1; axis >= 0; axis--)
            {
                offset += (int)(rest % to[axis]) * strides[axis];
                rest /= to[axis];
            }

            result[flat] = offset;
        }

        return result;
    }

    // ---- elementwise ----------------------------------------------------------------------------------------------

    private static void Binary(NodeContext n, string op, Func<float, float, float> floatFold, Func<long, long, long>? intFold)
    {
        n.RequireInputs(2, 2);
        var a = n.In(0);
        var b = n.In(1);
        var shape = Broadcast(n, a.Shape, b.Shape);
        if (AllConst(a, b) && Product(shape, 0, shape.Length) <= MaxFoldedElements)
        {
            var ca = a.Const!;
            var cb = b.Const!;
            if (ca.IsFloat != cb.IsFloat) throw n.Malformed($"operands '{a.OnnxName}' and '{b.OnnxName}' have different element types");
            var ia = BroadcastIndex(a.Shape, shape);
            var ib = BroadcastIndex(b.Shape, shape);
            if (ca.IsFloat)
            {
                n.Constant(new ConstTensor(shape, ia.Select((_, i) => floatFold(ca.Floats![ia[i]], cb.Floats![ib[i]])).ToArray(), null));
                return;
            }

            if (intFold is null) throw n.Unsupported($"{op} on integer constants is not supported");
            try
            {
                n.Constant(new ConstTensor(shape, null, ia.Select((_, i) => intFold(ca.Ints![ia[i]], cb.Ints![ib[i]])).ToArray()));
            }
            catch (ArithmeticException)
            {
                throw n.Malformed("integer division by zero (or overflow) in a constant");
            }

            return;
        }

        n.Emit($"{op}({n.Operand(a, b.Shape)}, {n.Operand(b, a.Shape)})", shape);
    }

    private static void Unary(NodeContext n, string op)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        n.Emit($"{op}({n.Operand(x)})", x.Shape);
    }

    private static void Softmax(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        int rank = x.Shape.Length;
        bool coerce2d = n.Opset < 13;
        int axis = Axis(n, n.Int("axis", coerce2d ? 1 : -1), rank);
        string operand = n.Operand(x);
        if (axis == rank - 1)
        {
            n.Emit($"Softmax({operand}, axis: -1)", x.Shape);
        }
        else if (!coerce2d)
        {
            n.Emit($"Softmax({operand}, axis: {axis})", x.Shape);
        }
        else
        {
            // Opset < 13: softmax over the flattened trailing axes [axis, rank).
            n.Emit($"Reshape(Softmax(Reshape({operand}, {Product(x.Shape, 0, axis)}, {Product(x.Shape, axis, rank)}), axis: -1), {Dims(x.Shape)})", x.Shape);
        }
    }

    // ---- linear algebra -------------------------------------------------------------------------------------------

    private static void MatMul(NodeContext n)
    {
        n.RequireInputs(2, 2);
        var a = n.In(0);
        var b = n.In(1);
        if (a.Shape.Length == 0 || b.Shape.Length == 0) throw n.Malformed("MatMul operands must have rank >= 1");
        int[] sa = a.Shape.Length == 1 ? new[] { 1, a.Shape[0] } : a.Shape;
        int[] sb = b.Shape.Length == 1 ? new[] { b.Shape[0], 1 } : b.Shape;
        if (sa[^1] != sb[^2]) throw n.Malformed($"inner dimensions differ: {Format(a.Shape)} @ {Format(b.Shape)}");
        var batch = Broadcast(n, sa[..^2], sb[..^2]).ToList();
        if (a.Shape.Length > 1) batch.Add(sa[^2]);
        if (b.Shape.Length > 1) batch.Add(sb[^1]);
        n.Emit($"MatMul({n.Operand(a)}, {n.Operand(b)})", batch.ToArray());
    }

    private static void Gemm(NodeContext n)
    {
        n.RequireInputs(2, 3);
        var a = n.In(0);
        var b = n.In(1);
        var c = n.OptionalIn(2);
        float alpha = n.Float("alpha", 1f), beta = n.Float("beta", 1f);
        bool transA = n.Int("transA", 0) != 0, transB = n.Int("transB", 0) != 0;
        if (n.Opset < 7) n.Ignore("broadcast");
        if (a.Shape.Length != 2 || b.Shape.Length != 2) throw n.Malformed($"Gemm needs 2-D A and B, got {Format(a.Shape)} and {Format(b.Shape)}");
        int m = transA ? a.Shape[1] : a.Shape[0], k = transA ? a.Shape[0] : a.Shape[1];
        int kb = transB ? b.Shape[1] : b.Shape[0], cols = transB ? b.Shape[0] : b.Shape[1];
        if (k != kb) throw n.Malformed($"inner dimensions differ: A {Format(a.Shape)}{(transA ? "^T" : "")}, B {Format(b.Shape)}{(transB ? "^T" : "")}");
        var shape = new[] { m, cols };
        if (c is not null && (c.Shape.Length > 2 || !Broadcast(n, c.Shape, shape).SequenceEqual(shape))) throw n.Malformed($"C {Format(c.Shape)} does not broadcast to [{m}, {cols}]");
        string? note = null;
        if (n.Converter.FoldBatchNormIntoGemm(n, b, c, transB, beta, cols) is var (foldedB, foldedC, foldNote))
        {
            (b, c, beta, note) = (foldedB, foldedC, 1f, foldNote);
        }

        var args = new List<string> { n.Operand(a), n.Operand(b) };
        if (c is not null) args.Add(n.Operand(c, shape));

        if (alpha != 1f) args.Add($"alpha: {Literal(alpha)}");
        if (beta != 1f && c is not null) args.Add($"beta: {Literal(beta)}");
        if (transA) args.Add("transA: true");
        if (transB) args.Add("transB: true");
        n.Emit($"Gemm({string.Join(", ", args)})", shape, note);
    }

    // ---- convolution and pooling ----------------------------------------------------------------------------------

    /// <summary>An attribute with one value per spatial axis (<paramref name="fallback"/> on each when absent).</summary>
    private static int[] PerAxis(NodeContext n, long[]? values, int count, int fallback, string name)
    {
        if (values is null) return Enumerable.Repeat(fallback, count).ToArray();
        if (values.Length != count) throw n.Malformed($"attribute '{name}' has {values.Length} values, expected {count}");
        if (values.Any(v => v < 0 || v > 1 << 20)) throw n.Malformed($"attribute '{name}' = [{string.Join(", ", values)}] is out of range");
        return values.Select(v => (int)v).ToArray();
    }

    private static void RequireNchw(NodeContext n, Value x)
    {
        if (x.Shape.Length != 4) throw n.Unsupported($"input {Format(x.Shape)}: only 2-D (NCHW, rank 4) inputs are supported");
    }

    /// <summary>Per-side pads [begin..., end...] from auto_pad / pads (SAME_UPPER puts the odd one at the end).</summary>
    private static long[] ConvPads(NodeContext n, int[] spatial, int[] window, int[] strides)
    {
        int r = spatial.Length;
        string autoPad = n.String("auto_pad") ?? "NOTSET";
        var pads = n.Ints("pads");
        var result = new long[2 * r];
        switch (autoPad)
        {
            case "NOTSET":
                if (pads is null) return result;
                if (pads.Length != 2 * r) throw n.Malformed($"attribute 'pads' has {pads.Length} values, expected {2 * r}");
                if (pads.Any(p => p < 0 || p > 1 << 20)) throw n.Malformed($"attribute 'pads' = [{string.Join(", ", pads)}] is out of range");
                return pads;
            case "VALID":
                if (pads is not null && pads.Any(p => p != 0)) throw n.Malformed("auto_pad VALID with non-zero pads");
                return result;
            case "SAME_UPPER":
            case "SAME_LOWER":
                for (int i = 0; i < r; i++)
                {
                    int output = (spatial[i] + strides[i] - 1) / strides[i];
                    int total = Math.Max(0, (output - 1) * strides[i] + window[i] - spatial[i]);
                    int small = total / 2, big = total - small;
                    result[i] = autoPad == "SAME_UPPER" ? small : big;
                    result[i + r] = autoPad == "SAME_UPPER" ? big : small;
                }

                return result;
            default:
                throw n.Unsupported($"auto_pad '{autoPad}' is not supported");
        }
    }

    private static void Conv(NodeContext n)
    {
        n.RequireInputs(2, 3);
        var x = n.In(0);
        var w = n.In(1);
        var bias = n.OptionalIn(2);
        bool oneD = w.Shape.Length == 3;
        if (w.Shape.Length != 4 && !oneD) throw n.Unsupported($"weight {Format(w.Shape)}: only 1-D and 2-D convolutions (weight [K, C/groups, R] or [K, C/groups, R, S]) are supported");
        if (oneD)
        {
            if (x.Shape.Length != 3) throw n.Malformed($"input {Format(x.Shape)} does not fit the 1-D weight {Format(w.Shape)}");
            if (w.Const is null) throw n.Unsupported($"a 1-D convolution needs a constant weight ('{w.OnnxName}' is computed at run time)");
        }
        else
        {
            RequireNchw(n, x);
        }

        int r = oneD ? 1 : 2;
        var (groups, strides, dilations) = ConvAttributes(n, w, r);
        int[] window = w.Shape[2..].Select((k, i) => dilations[i] * (k - 1) + 1).ToArray();
        long[] pads = ConvPads(n, x.Shape[2..], window, strides);
        int k = w.Shape[0];
        if (groups < 1 || x.Shape[1] % groups != 0 || k % groups != 0 || w.Shape[1] * groups != x.Shape[1])
        {
            throw n.Malformed($"input {Format(x.Shape)}, weight {Format(w.Shape)} and group {groups} do not fit");
        }

        if (bias is not null && (bias.Shape.Length != 1 || bias.Shape[0] != k)) throw n.Malformed($"bias {Format(bias.Shape)} must be [{k}]");
        var spatialOut = new int[r];
        for (int i = 0; i < r; i++)
        {
            long padded = x.Shape[2 + i] + pads[i] + pads[i + r];
            if (padded < window[i]) throw n.Malformed("the kernel is larger than the padded input");
            spatialOut[i] = checked((int)((padded - window[i]) / strides[i] + 1));
        }

        string? note = null;
        if (n.Converter.FoldBatchNorm(n, w, bias) is var (foldedWeight, foldedBias, foldNote))
        {
            (w, bias, note) = (foldedWeight, foldedBias, foldNote);
        }

        // As 2-D: a 1-D convolution runs on [N, C, 1, L] with the weight [K, C/g, 1, R] (reshaped here); its stride
        // and dilation on the unit H axis (kernel height 1) change nothing, so they repeat the L axis's.
        string input = n.Operand(x);
        int[] shape2d = x.Shape;
        long[] pads2d = pads; // top, left, bottom, right
        if (oneD)
        {
            shape2d = new[] { x.Shape[0], x.Shape[1], 1, x.Shape[2] };
            input = $"Reshape({input}, {Dims(shape2d)})";
            pads2d = new[] { 0, pads[0], 0, pads[1] };
            w = Weight2d(n, w);
            (strides, dilations) = (new[] { strides[0], strides[0] }, new[] { dilations[0], dilations[0] });
        }

        // The DSL pads all sides alike: the common part is its padding, the rest zero blocks concatenated first.
        int padding = (int)pads2d.Min();
        if (pads2d.Any(p => p != padding))
        {
            var before = new long[] { 0, 0, pads2d[0] - padding, pads2d[1] - padding };
            var after = new long[] { 0, 0, pads2d[2] - padding, pads2d[3] - padding };
            (input, _) = PadExpr(n, input, shape2d, before, after, "constant", 0f);
        }

        var args = new List<string> { input, n.Operand(w) };
        if (strides[0] != strides[1] || dilations[0] != dilations[1])
        {
            args.Add(bias is null ? "null" : n.Operand(bias));
            args.Add($"{strides[0]}, {strides[1]}, {padding}, {padding}, {dilations[0]}, {dilations[1]}");
        }
        else
        {
            if (bias is not null) args.Add(n.Operand(bias));
            if (strides[0] != 1) args.Add($"stride: {strides[0]}");
            if (padding != 0) args.Add($"padding: {padding}");
            if (dilations[0] != 1) args.Add($"dilation: {dilations[0]}");
        }

        if (groups != 1) args.Add($"groups: {groups}");
        string conv = $"Conv2d({string.Join(", ", args)})";
        var outShape = new[] { x.Shape[0], k }.Concat(spatialOut).ToArray();
        n.Emit(oneD ? $"Reshape({conv}, {Dims(outShape)})" : conv, outShape, note);
    }

    /// <summary>MaxPool / AveragePool, 2-D (rectangular kernels and strides) and 1-D (as 2-D on [N, C, 1, L]).</summary>
    /// <summary>A constant 1-D convolution weight [A, B, R] stored as the 2-D weight [A, B, 1, R] (under '&lt;name&gt;.2d').</summary>
    private static Value Weight2d(NodeContext n, Value w)
    {
        var w2 = new[] { w.Shape[0], w.Shape[1], 1, w.Shape[2] };
        string name = w.Expr is null && !w.OnnxName.EndsWith(".bn_folded", StringComparison.Ordinal) ? n.Converter.FreshName(w.OnnxName + ".2d") : w.OnnxName;
        return new Value(name, w2) { Const = new ConstTensor(w2, w.Const!.Floats, null) };
    }

    /// <summary>
    /// ConvTranspose, 1-D and 2-D: pads from pads / auto_pad / output_shape as ONNX Runtime computes them (an odd total
    /// puts the extra one at the end with SAME_UPPER, at the start otherwise). The output is the transposed convolution's full extent F = (in - 1)
    /// * stride + dilation * (k - 1) + 1 from its head pad on, out elements long; the DSL crops one padding p (the
    /// smallest head pad) from both sides and extends the end by outputPadding, a Slice takes the rest.
    /// </summary>
    private static void ConvTranspose(NodeContext n)
    {
        n.RequireInputs(2, 3);
        var x = n.In(0);
        var w = n.In(1);
        var bias = n.OptionalIn(2);
        bool oneD = w.Shape.Length == 3;
        if (w.Shape.Length != 4 && !oneD) throw n.Unsupported($"weight {Format(w.Shape)}: only 1-D and 2-D transposed convolutions (weight [C, K/groups, R] or [C, K/groups, R, S]) are supported");
        if (x.Shape.Length != w.Shape.Length) throw n.Malformed($"input {Format(x.Shape)} does not fit the weight {Format(w.Shape)}");
        if (oneD && w.Const is null) throw n.Unsupported($"a 1-D transposed convolution needs a constant weight ('{w.OnnxName}' is computed at run time)");
        int r = w.Shape.Length - 2;
        var (groups, strides, dilations) = ConvAttributes(n, w, r);
        int[] outputPadding = PerAxis(n, n.Ints("output_padding"), r, 0, "output_padding");
        int c = x.Shape[1];
        if (groups < 1 || c % groups != 0 || w.Shape[0] != c) throw n.Malformed($"input {Format(x.Shape)}, weight {Format(w.Shape)} and group {groups} do not fit");
        int k = w.Shape[1] * groups;
        if (bias is not null && (bias.Shape.Length != 1 || bias.Shape[0] != k)) throw n.Malformed($"bias {Format(bias.Shape)} must be [{k}]");

        string autoPad = n.String("auto_pad") ?? "NOTSET";
        if (autoPad is not ("NOTSET" or "VALID" or "SAME_UPPER" or "SAME_LOWER")) throw n.Unsupported($"auto_pad '{autoPad}' is not supported");
        var outputShape = n.Ints("output_shape");
        if (outputShape is not null && outputShape.Length != r && outputShape.Length != r + 2) throw n.Malformed($"attribute 'output_shape' has {outputShape.Length} values, expected {r} (or {r + 2})");
        var pads = n.Ints("pads");
        if (pads is not null && (pads.Length != 2 * r || pads.Any(p => p < 0 || p > 1 << 20))) throw n.Malformed($"attribute 'pads' = [{string.Join(", ", pads)}] must be {2 * r} values in range");
        if (autoPad == "VALID" && pads is not null && pads.Any(p => p != 0)) throw n.Malformed("auto_pad VALID with non-zero pads");

        // Per axis: F, the head pad and the output size.
        var full = new long[r];
        var head = new long[r];
        var spatialOut = new int[r];
        for (int i = 0; i < r; i++)
        {
            full[i] = (x.Shape[2 + i] - 1L) * strides[i] + (long)dilations[i] * (w.Shape[2 + i] - 1) + 1;
            long natural = full[i] + outputPadding[i];
            long size;
            if (outputShape is not null || autoPad is "SAME_UPPER" or "SAME_LOWER")
            {
                long wanted = outputShape is not null ? outputShape[outputShape.Length - r + i] : (long)x.Shape[2 + i] * strides[i];
                long total = Math.Max(0, natural - wanted);
                head[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
                size = outputShape is not null ? wanted : natural - total;
            }
            else
            {
                head[i] = pads is null || autoPad == "VALID" ? 0 : pads[i];
                size = natural - head[i] - (pads is null || autoPad == "VALID" ? 0 : pads[i + r]);
            }

            if (size < 1 || size > 1 << 24) throw n.Malformed($"the output size {size} on axis {i + 2} is out of range");
            spatialOut[i] = (int)size;
        }

        // As 2-D: a 1-D transposed convolution runs on [N, C, 1, L] with the weight [C, K/g, 1, R] (F = 1, no pad on H;
        // the stride and dilation there change nothing, so they repeat the L axis's).
        string input = n.Operand(x);
        if (oneD)
        {
            input = $"Reshape({input}, {Dims(new[] { x.Shape[0], c, 1, x.Shape[2] })})";
            w = Weight2d(n, w);
            (full, head, spatialOut) = (new[] { 1, full[0] }, new[] { 0, head[0] }, new[] { 1, spatialOut[0] });
            (strides, dilations) = (new[] { strides[0], strides[0] }, new[] { dilations[0], dilations[0] });
        }

        int padding = (int)head.Min();
        int extend = (int)Math.Max(0, Enumerable.Range(0, 2).Max(i => head[i] + padding + spatialOut[i] - full[i]));
        var args = new List<string> { input, n.Operand(w) };
        if (strides[0] != strides[1] || dilations[0] != dilations[1])
        {
            args.Add(bias is null ? "null" : n.Operand(bias));
            args.Add($"{strides[0]}, {strides[1]}, {padding}, {padding}, {extend}, {extend}, {dilations[0]}, {dilations[1]}");
        }
        else
        {
            if (bias is not null) args.Add(n.Operand(bias));
            if (strides[0] != 1) args.Add($"stride: {strides[0]}");
            if (padding != 0) args.Add($"padding: {padding}");
            if (extend != 0) args.Add($"outputPadding: {extend}");
            if (dilations[0] != 1) args.Add($"dilation: {dilations[0]}");
        }

        if (groups != 1) args.Add($"groups: {groups}");
        string expr = $"ConvTranspose2d({string.Join(", ", args)})";
        for (int i = 0; i < 2; i++)
        {
            long start = head[i] - padding, length = full[i] - 2L * padding + extend;
            if (start != 0 || length != spatialOut[i]) expr = $"Slice({expr}, {2 + i}, {start}, {start + spatialOut[i]})";
        }

        var outShape = new[] { x.Shape[0], k }.Concat(oneD ? new[] { spatialOut[1] } : spatialOut).ToArray();
        n.Emit(oneD ? $"Reshape({expr}, {Dims(outShape)})" : expr, outShape);
    }

    private static void Pool(NodeContext n, bool max)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        if (x.Shape.Length is not (3 or 4)) throw n.Unsupported($"input {Format(x.Shape)}: only 1-D and 2-D pooling (rank 3 or 4 inputs) is supported");
        int r = x.Shape.Length - 2;
        var kernelShape = n.Ints("kernel_shape") ?? throw n.Malformed("attribute 'kernel_shape' is missing");
        int[] kernel = PerAxis(n, kernelShape, r, 0, "kernel_shape");
        if (kernel.Any(k => k < 1)) throw n.Malformed($"kernel_shape [{string.Join(", ", kernelShape)}] must be positive");
        int[] strides = PerAxis(n, n.Ints("strides"), r, 1, "strides");
        if (strides.Any(s => s < 1)) throw n.Malformed("strides must be positive");
        if (PerAxis(n, n.Ints("dilations"), r, 1, "dilations").Any(d => d != 1)) throw n.Unsupported("dilated pooling is not supported");
        bool includePad = max || n.Int("count_include_pad", 0) != 0;
        bool ceil = n.Int("ceil_mode", 0) != 0;
        int[] spatial = x.Shape[2..];
        long[] pads = ConvPads(n, spatial, kernel, strides);
        if (!includePad && Enumerable.Range(0, r).Any(i => pads[i] != pads[i + r] || pads[i] > kernel[i] / 2))
        {
            // Excluded pads change the divisor: the DSL's own (symmetric, at most half the kernel) padding only.
            throw n.Unsupported($"attribute 'pads' = [{string.Join(", ", pads)}] with count_include_pad 0: only the same padding on both sides of an axis, at most half the kernel, is supported");
        }

        var output = new int[r];
        for (int i = 0; i < r; i++)
        {
            long total = spatial[i] + pads[i] + pads[i + r];
            if (total < kernel[i]) throw n.Malformed("the kernel is larger than the padded input");
            int floor = checked((int)((total - kernel[i]) / strides[i] + 1));
            output[i] = floor;
            if (!ceil) continue;
            int ceiled = checked((int)((total - kernel[i] + strides[i] - 1) / strides[i] + 1));
            if (ceiled > floor && (long)(ceiled - 1) * strides[i] >= spatial[i] + pads[i]) ceiled--; // a window must start inside
            if (ceiled == floor) continue;
            if (!max) throw n.Unsupported($"ceil_mode 1 changes the output size here ({floor} -> {ceiled} on axis {i + 2}); only floor sizes are supported for AveragePool");
            output[i] = ceiled;
            pads[i + r] += (long)(ceiled - 1) * strides[i] + kernel[i] - total; // MaxPool: the partial last window, as -inf padding
        }

        // As 2-D: a 1-D pooling runs on [N, C, 1, L] with a 1 x kernel window.
        string input = n.Operand(x);
        int[] shape2d = x.Shape, kernel2d = kernel, strides2d = strides;
        long[] pads2d = pads; // top, left, bottom, right
        if (r == 1)
        {
            shape2d = new[] { x.Shape[0], x.Shape[1], 1, x.Shape[2] };
            input = $"Reshape({input}, {Dims(shape2d)})";
            (kernel2d, strides2d, pads2d) = (new[] { 1, kernel[0] }, new[] { 1, strides[0] }, new[] { 0, pads[0], 0, pads[1] });
        }

        // The DSL pads both sides of an axis alike (at most half the kernel): the rest are blocks concatenated first,
        // -inf for MaxPool, zeros for AveragePool with count_include_pad (its divisor is always the kernel size).
        int padH = (int)Math.Min(Math.Min(pads2d[0], pads2d[2]), kernel2d[0] / 2);
        int padW = (int)Math.Min(Math.Min(pads2d[1], pads2d[3]), kernel2d[1] / 2);
        if (pads2d[0] != padH || pads2d[1] != padW || pads2d[2] != padH || pads2d[3] != padW)
        {
            var before = new long[] { 0, 0, pads2d[0] - padH, pads2d[1] - padW };
            var after = new long[] { 0, 0, pads2d[2] - padH, pads2d[3] - padW };
            (input, _) = PadExpr(n, input, shape2d, before, after, "constant", max ? float.NegativeInfinity : 0f);
        }

        var args = new List<string> { input };
        if (kernel2d[0] == kernel2d[1] && strides2d[0] == strides2d[1] && padH == padW)
        {
            args.Add($"kernel: {kernel2d[0]}");
            args.Add($"stride: {strides2d[0]}");
            if (padH != 0) args.Add($"padding: {padH}");
        }
        else
        {
            args.Add($"kernelH: {kernel2d[0]}, kernelW: {kernel2d[1]}, strideH: {strides2d[0]}, strideW: {strides2d[1]}");
            if (padH != 0) args.Add($"padH: {padH}");
            if (padW != 0) args.Add($"padW: {padW}");
        }

        if (max) n.Ignore("storage_order"); // only the Indices output depends on it, and that output is not supported
        else if (!includePad && (padH != 0 || padW != 0)) args.Add("countIncludePad: false");

        var outShape = new[] { x.Shape[0], x.Shape[1] }.Concat(output).ToArray();
        string pool = $"{(max ? "MaxPool2d" : "AvgPool2d")}({string.Join(", ", args)})";
        n.Emit(r == 1 ? $"Reshape({pool}, {Dims(outShape)})" : pool, outShape);
    }

    private static void GlobalAveragePool(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        RequireNchw(n, x);
        n.Emit($"GlobalAvgPool({n.Operand(x)})", new[] { x.Shape[0], x.Shape[1], 1, 1 });
    }

    // ---- shapes and data movement ---------------------------------------------------------------------------------

    /// <summary>Same elements, new shape: a constant stays a constant, a run-time value gets a Reshape statement.</summary>
    private static void ReshapeTo(NodeContext n, Value x, int[] shape)
    {
        if (x.Const is not null)
        {
            n.Alias(x, shape);
        }
        else if (shape.SequenceEqual(x.Shape))
        {
            n.Alias(x);
        }
        else
        {
            n.Emit($"Reshape({n.Operand(x)}{(shape.Length > 0 ? ", " : "")}{Dims(shape)})", shape);
        }
    }

    private static void Flatten(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        int axis = Axis(n, n.Int("axis", 1), x.Shape.Length, allowRank: true);
        ReshapeTo(n, x, new[] { checked((int)Product(x.Shape, 0, axis)), checked((int)Product(x.Shape, axis, x.Shape.Length)) });
    }

    private static void Reshape(NodeContext n)
    {
        n.RequireInputs(2, 2);
        var x = n.In(0);
        var requested = n.ConstInts(n.In(1), "shape");
        bool allowZero = n.Int("allowzero", 0) != 0;
        var shape = new int[requested.Length];
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < requested.Length; i++)
        {
            long d = requested[i];
            if (d == 0 && !allowZero)
            {
                if (i >= x.Shape.Length) throw n.Malformed($"shape [{string.Join(", ", requested)}] copies dimension {i} (0) of the rank-{x.Shape.Length} input");
                d = x.Shape[i];
            }

            if (d == -1)
            {
                if (inferred >= 0) throw n.Malformed($"shape [{string.Join(", ", requested)}] has more than one -1");
                inferred = i;
                continue;
            }

            if (d < 0 || d > int.MaxValue) throw n.Malformed($"shape [{string.Join(", ", requested)}] has dimension {d}");
            shape[i] = (int)d;
            known *= d;
        }

        long total = Product(x.Shape, 0, x.Shape.Length);
        if (inferred >= 0)
        {
            if (known == 0 || total % known != 0) throw n.Malformed($"cannot reshape {Format(x.Shape)} to [{string.Join(", ", requested)}]");
            shape[inferred] = (int)(total / known);
        }
        else if (known != total)
        {
            throw n.Malformed($"cannot reshape {Format(x.Shape)} ({total} elements) to [{string.Join(", ", requested)}]");
        }

        ReshapeTo(n, x, shape);
    }

    private static void SqueezeOrUnsqueeze(NodeContext n, bool squeeze)
    {
        var x = n.In(0);
        long[]? axes;
        if (n.Opset < 13)
        {
            n.RequireInputs(1, 1);
            axes = n.Ints("axes");
        }
        else
        {
            n.RequireInputs(1, 2);
            axes = n.OptionalIn(1) is { } a ? n.ConstInts(a, "axes") : null;
        }

        var shape = x.Shape.ToList();
        if (squeeze)
        {
            var remove = axes is null
                ? Enumerable.Range(0, shape.Count).Where(i => shape[i] == 1).ToHashSet()
                : axes.Select(a => Axis(n, a, x.Shape.Length, "axes")).ToHashSet();
            foreach (var i in remove)
            {
                if (x.Shape[i] != 1) throw n.Malformed($"cannot squeeze axis {i} of {Format(x.Shape)} (size {x.Shape[i]})");
            }

            shape = shape.Where((_, i) => !remove.Contains(i)).ToList();
        }
        else
        {
            if (axes is null) throw n.Malformed("Unsqueeze needs axes");
            int rank = x.Shape.Length + axes.Length;
            var positions = axes.Select(a => Axis(n, a, rank, "axes")).OrderBy(a => a).ToArray();
            if (positions.Distinct().Count() != positions.Length) throw n.Malformed($"axes [{string.Join(", ", axes)}] repeat an axis");
            foreach (var p in positions) shape.Insert(p, 1);
        }

        ReshapeTo(n, x, shape.ToArray());
    }

    private static void Transpose(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        int rank = x.Shape.Length;
        var perm = n.Ints("perm")?.Select(p => (int)p).ToArray() ?? Enumerable.Range(0, rank).Reverse().ToArray();
        if (perm.Length != rank || !perm.OrderBy(p => p).SequenceEqual(Enumerable.Range(0, rank)))
        {
            throw n.Malformed($"perm [{Dims(perm)}] is not a permutation of the {rank} axes of {Format(x.Shape)}");
        }

        var shape = perm.Select(p => x.Shape[p]).ToArray();
        if (x.Const is { } c && rank <= 1)
        {
            n.Alias(x);
            return;
        }

        if (x.Const is { } constant && constant.Length <= MaxFoldedElements)
        {
            // A transposed initializer (e.g. a weight stored [in, out]) becomes the transposed weight.
            var strides = new long[rank];
            for (int d = rank - 1, stride = 1; d >= 0; stride *= x.Shape[d], d--) strides[d] = stride;
            var source = new long[constant.Length];
            for (long flat = 0; flat < source.Length; flat++)
            {
                long rest = flat, offset = 0;
                for (int d = rank - 1; d >= 0; d--)
                {
                    offset += rest % shape[d] * strides[perm[d]];
                    rest /= shape[d];
                }

                source[flat] = offset;
            }

            n.Constant(constant.IsFloat
                ? new ConstTensor(shape, source.Select(i => constant.Floats![i]).ToArray(), null)
                : new ConstTensor(shape, null, source.Select(i => constant.Ints![i]).ToArray()));
            return;
        }

        n.Emit($"Transpose({n.Operand(x)}, {Dims(perm)})", shape);
    }

    private static void Concat(NodeContext n)
    {
        if (n.InputCount < 1) throw n.Malformed("Concat needs at least one input");
        var inputs = Enumerable.Range(0, n.InputCount).Select(n.In).ToArray();
        int rank = inputs[0].Shape.Length;
        var attr = n.Has("axis") ? n.Int("axis", 0) : throw n.Malformed("attribute 'axis' is missing");
        int axis = Axis(n, attr, rank);
        var shape = (int[])inputs[0].Shape.Clone();
        shape[axis] = 0;
        foreach (var v in inputs)
        {
            if (v.Shape.Length != rank || Enumerable.Range(0, rank).Any(i => i != axis && v.Shape[i] != inputs[0].Shape[i]))
            {
                throw n.Malformed($"inputs {string.Join(", ", inputs.Select(i => Format(i.Shape)))} differ outside axis {axis}");
            }

            shape[axis] = checked(shape[axis] + v.Shape[axis]);
        }

        if (inputs.All(v => v.Const is not null) && inputs.All(v => v.Const!.IsFloat == inputs[0].Const!.IsFloat) && Product(shape, 0, shape.Length) <= MaxFoldedElements)
        {
            n.Constant(ConcatConst(inputs.Select(v => v.Const!).ToArray(), axis, shape));
            return;
        }

        if (inputs.Length == 1)
        {
            n.Alias(inputs[0]);
            return;
        }

        n.Emit($"Concat(new[] {{ {string.Join(", ", inputs.Select(v => n.Operand(v)))} }}, axis: {axis})", shape);
    }

    private static ConstTensor ConcatConst(ConstTensor[] parts, int axis, int[] shape)
    {
        long outer = Product(shape, 0, axis), inner = Product(shape, axis + 1, shape.Length);
        var floats = new List<float>();
        var ints = new List<long>();
        for (long o = 0; o < outer; o++)
        {
            foreach (var p in parts)
            {
                long run = p.Shape[axis] * inner;
                for (long i = 0; i < run; i++)
                {
                    if (p.IsFloat) floats.Add(p.Floats![o * run + i]);
                    else ints.Add(p.Ints![o * run + i]);
                }
            }
        }

        return parts[0].IsFloat ? new ConstTensor(shape, floats.ToArray(), null) : new ConstTensor(shape, null, ints.ToArray());
    }

    private static void Gather(NodeContext n)
    {
        n.RequireInputs(2, 2);
        var data = n.In(0);
        var indicesValue = n.In(1);
        int rank = data.Shape.Length;
        if (rank == 0) throw n.Malformed("Gather on a scalar");
        int axis = Axis(n, n.Int("axis", 0), rank);
        int size = data.Shape[axis];
        if (indicesValue.Const is null)
        {
            // Run-time indices (token ids into an embedding table): the DSL Gather, which checks every index.
            if (!indicesValue.Integer) throw n.Unsupported($"indices '{indicesValue.OnnxName}' are a run-time float tensor");
            var gathered = data.Shape[..axis].Concat(indicesValue.Shape).Concat(data.Shape[(axis + 1)..]).ToArray();
            n.Emit($"Gather({n.Operand(data)}, {n.Operand(indicesValue)}{(axis == 0 ? "" : $", axis: {axis}")})", gathered);
            return;
        }

        var indices = n.ConstInts(indicesValue, "indices");
        var normalized = indices.Select(i => i < 0 ? i + size : i).ToArray();
        if (normalized.Any(i => i < 0 || i >= size)) throw n.Malformed($"indices [{string.Join(", ", indices)}] out of range for axis {axis} of {Format(data.Shape)}");
        var shape = data.Shape[..axis].Concat(indicesValue.Shape).Concat(data.Shape[(axis + 1)..]).ToArray();
        if (data.Const is { } c && Product(shape, 0, shape.Length) <= MaxFoldedElements)
        {
            long outer = Product(data.Shape, 0, axis), inner = Product(data.Shape, axis + 1, rank);
            var floats = new List<float>();
            var ints = new List<long>();
            for (long o = 0; o < outer; o++)
            {
                foreach (var index in normalized)
                {
                    for (long i = 0; i < inner; i++)
                    {
                        long at = (o * size + index) * inner + i;
                        if (c.IsFloat) floats.Add(c.Floats![at]);
                        else ints.Add(c.Ints![at]);
                    }
                }
            }

            n.Constant(c.IsFloat ? new ConstTensor(shape, floats.ToArray(), null) : new ConstTensor(shape, null, ints.ToArray()));
            return;
        }

        if (normalized.Length != 1) throw n.Unsupported($"Gather of {normalized.Length} indices from a run-time tensor is not supported (one constant index is)");
        string slice = $"Slice({n.Operand(data)}, axis: {axis}, start: {normalized[0]}, end: {normalized[0] + 1})";
        var sliced = data.Shape.ToArray();
        sliced[axis] = 1;
        n.Emit(sliced.SequenceEqual(shape) ? slice : $"Reshape({slice}{(shape.Length > 0 ? ", " : "")}{Dims(shape)})", shape);
    }

    private static void Shape(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        int rank = x.Shape.Length;
        long start = n.Int("start", 0), end = n.Int("end", rank);
        int s = (int)Math.Clamp(start < 0 ? start + rank : start, 0, rank);
        int e = (int)Math.Clamp(end < 0 ? end + rank : end, 0, rank);
        n.Constant(ConstTensor.Int64s(x.Shape[s..Math.Max(s, e)].Select(d => (long)d).ToArray()));
    }

    /// <summary>What Conv and ConvTranspose read alike: group, kernel_shape (checked against the weight's), and a stride
    /// and a dilation for each of the <paramref name="r"/> spatial axes.</summary>
    private static (int Groups, int[] Strides, int[] Dilations) ConvAttributes(NodeContext n, Value w, int r)
    {
        int groups = checked((int)n.Int("group", 1));
        var kernelShape = n.Ints("kernel_shape");
        if (kernelShape is not null && !kernelShape.SequenceEqual(w.Shape[2..].Select(d => (long)d)))
        {
            throw n.Malformed($"kernel_shape [{string.Join(", ", kernelShape)}] differs from the weight {Format(w.Shape)}");
        }

        int[] strides = PerAxis(n, n.Ints("strides"), r, 1, "strides");
        int[] dilations = PerAxis(n, n.Ints("dilations"), r, 1, "dilations");
        if (strides.Any(v => v < 1) || dilations.Any(v => v < 1)) throw n.Malformed("strides and dilations must be positive");
        return (groups, strides, dilations);
    }

    private static void Cast(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        long to = n.Has("to") ? n.Int("to", 0) : throw n.Malformed("attribute 'to' is missing");
        var target = (OnnxDataType)to;
        if (x.Const is { } c)
        {
            switch (target)
            {
                case OnnxDataType.Float:
                    n.Constant(c.IsFloat ? c : new ConstTensor(c.Shape, c.Ints!.Select(v => (float)v).ToArray(), null));
                    return;
                case OnnxDataType.Int64:
                case OnnxDataType.Int32:
                    n.Constant(c.IsFloat ? new ConstTensor(c.Shape, null, c.Floats!.Select(v => (long)v).ToArray()) : c);
                    return;
                case OnnxDataType.Bool:
                    n.Constant(new ConstTensor(c.Shape, null, c.IsFloat ? c.Floats!.Select(v => v != 0 ? 1L : 0L).ToArray() : c.Ints!.Select(v => v != 0 ? 1L : 0L).ToArray()));
                    return;
            }

            throw n.Unsupported($"cast of a constant to {target} is not supported");
        }

        // A run-time tensor is Float32: an integer one holds integers (integer graph inputs), a boolean one a 0/1 mask.
        switch (target)
        {
            case OnnxDataType.Float:
                n.Alias(x); // already Float32
                return;
            case OnnxDataType.Bool:
                n.Emit($"Not(Equal({n.Operand(x)}, 0f))", x.Shape);
                return;
            case OnnxDataType.Int64 or OnnxDataType.Int32 when x.Integer:
                n.Alias(x);
                n.Converter.LookupFor(n.Output(), n).Integer = true;
                return;
        }

        throw n.Unsupported($"cast of a run-time {(x.Integer ? "integer" : "float")} tensor to {target} is not supported (only Float tensors, integers held in them and boolean masks are computed)");
    }

    private static void Identity(NodeContext n)
    {
        n.RequireInputs(1, 1);
        n.Alias(n.In(0));
    }

    private static void Dropout(NodeContext n)
    {
        n.RequireInputs(1, 3);
        n.Ignore("seed", "ratio", "is_test");
        if (n.OptionalIn(2) is { } training && (training.Const is not { Ints: { } flags } || flags.Any(f => f != 0)))
        {
            throw n.Unsupported("training_mode must be a constant false for inference");
        }

        n.Alias(n.In(0));
    }

    private static void Constant(NodeContext n)
    {
        n.RequireInputs(0, 0);
        ConstTensor? value = null;
        int given = 0;
        if (n.Tensor("value") is { } t)
        {
            value = TensorData.Decode(t, null, $"Constant {n.Describe}, attribute 'value'");
            given++;
        }

        if (n.Has("value_float"))
        {
            value = new ConstTensor(Array.Empty<int>(), new[] { n.Float("value_float", 0) }, null);
            given++;
        }

        if (n.Floats("value_floats") is { } fs)
        {
            value = new ConstTensor(new[] { fs.Length }, fs, null);
            given++;
        }

        if (n.Has("value_int"))
        {
            value = new ConstTensor(Array.Empty<int>(), null, new[] { n.Int("value_int", 0) });
            given++;
        }

        if (n.Ints("value_ints") is { } ints)
        {
            value = ConstTensor.Int64s(ints);
            given++;
        }

        if (given != 1 || value is null)
        {
            var names = string.Join(", ", n.Node.Attributes.Select(a => a.Name));
            throw given == 0 ? n.Unsupported($"Constant with attributes [{names}]: only value, value_float(s) and value_int(s) are supported") : n.Malformed($"Constant has {given} values");
        }

        n.Constant(value);
    }
}
