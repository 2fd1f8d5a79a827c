using System;
using System.Collections.Generic;
using System.Linq;

namespace Aot.Generator.IR;

/// <summary>What kind of mistake a shape rule found; the frontend maps each kind to one diagnostic ID.</summary>
internal enum ShapeErrorKind
{
    MatMulInner,
    NotBroadcastable,
    AxisOutOfRange,
    ReshapeCount,
    EmptyOutput,
    OperandShape,
    OperandDType,
    InvalidArgument,
}

internal sealed record ShapeError(ShapeErrorKind Kind, string Message);

/// <summary>Either the inferred output type or the reason there is none.</summary>
internal readonly record struct InferResult(TensorType? Type, ShapeError? Error)
{
    public static InferResult Ok(TensorType type) => new(type, null);

    public static InferResult Fail(ShapeErrorKind kind, string message) => new(null, new ShapeError(kind, message));
}

/// <summary>
/// The shape and dtype rule of every op: given operand types and (normalized) attributes, the output type or an
/// error message naming the concrete shapes. The frontend uses it to report mistakes where they are written; the
/// verifier re-runs it to check that passes keep types consistent.
/// </summary>
internal static class ShapeInference
{
    public static InferResult Infer(OpKind op, IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        if (attrs.Has(Epilogue.Operands)) return Epilogue.Infer(op, inputs, attrs);
        if (OpKindInfo.IsElementwiseBinary(op)) return Broadcasting(op, inputs, "left operand", "right operand");
        if (op == OpKind.Where) return Broadcasting(op, inputs, "condition", "first operand", "second operand");
        if (OpKindInfo.IsElementwiseUnary(op)) return Unary(op, inputs);
        if (OpKindInfo.IsReduction(op)) return Reduce(op, inputs[0], attrs.Ints(AttrNames.Axes), attrs.Int(AttrNames.KeepDims) != 0);
        return op switch
        {
            OpKind.Constant => InferResult.Ok(new TensorType(DType.Float32)),
            OpKind.MatMul => MatMul(inputs[0], inputs[1]),
            OpKind.Gemm => Gemm(inputs, attrs),
            OpKind.Softmax => Softmax(inputs[0], (int)attrs.Int(AttrNames.Axis)),
            OpKind.LayerNorm => LayerNorm(inputs, (int)attrs.Int(AttrNames.Axis)),
            OpKind.Reshape => Reshape(inputs[0], attrs.Ints(AttrNames.Shape)),
            OpKind.Transpose => Transpose(inputs[0], attrs.Ints(AttrNames.Perm)),
            OpKind.Concat => Concat(inputs, (int)attrs.Int(AttrNames.Axis)),
            OpKind.Slice => Slice(inputs[0], attrs),
            OpKind.Gather => Gather(inputs[0], inputs[1], (int)attrs.Int(AttrNames.Axis)),
            OpKind.Conv2d or OpKind.ConvGemm => Conv2d(inputs, attrs),
            OpKind.ConvTranspose2d => ConvTranspose2d(inputs, attrs),
            OpKind.MaxPool2d or OpKind.AvgPool2d => Pool(op, inputs[0], attrs),
            OpKind.GlobalAvgPool => GlobalAvgPool(inputs[0]),
            OpKind.Resize => Resize(inputs[0], attrs),
            OpKind.Lstm => Lstm(inputs, attrs),
            OpKind.Fused => Fused(inputs),
            OpKind.PackB => PackB(inputs[0], attrs.Int(AttrNames.TransB) != 0),
            OpKind.PackedGemm => PackedGemm(inputs, (int)attrs.Int(AttrNames.N)),
            OpKind.SmallConv => SmallConv(inputs, attrs),
            OpKind.WinogradWeights => WinogradWeights(inputs[0]),
            OpKind.WinogradConv => WinogradConv(inputs, attrs),
            _ => InferResult.Fail(ShapeErrorKind.InvalidArgument, "no shape rule for " + op),
        };
    }

    /// <summary>numpy broadcasting of two shapes; null when they do not broadcast.</summary>
    public static int[]? Broadcast(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        int rank = Math.Max(a.Count, b.Count);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Count ? 1 : a[i - (rank - a.Count)];
            int db = i < rank - b.Count ? 1 : b[i - (rank - b.Count)];
            if (da != db && da != 1 && db != 1) return null;
            result[i] = da == 1 ? db : da;
        }

        return result;
    }

    /// <summary>Maps a possibly negative axis into [0, rank); null when out of range.</summary>
    public static int? NormalizeAxis(int axis, int rank) => axis >= -rank && axis < rank ? (axis < 0 ? axis + rank : axis) : null;

    public static string AxisError(string op, int axis, int rank) =>
        $"{op}: axis {axis} is out of range for a tensor of rank {rank} (valid: {-rank} to {rank - 1})";

    /// <summary>Resolves one -1 in a requested reshape; an error message when it cannot.</summary>
    public static int[]? ResolveReshape(IReadOnlyList<int> input, int[] requested, out string? error)
    {
        error = null;
        long count = Count(input);
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < requested.Length; i++)
        {
            if (requested[i] == -1)
            {
                if (inferred >= 0)
                {
                    error = $"Reshape: only one dimension can be -1, got {Fmt(requested)}";
                    return null;
                }

                inferred = i;
            }
            else if (requested[i] < 0)
            {
                error = $"Reshape: dimension {requested[i]} in {Fmt(requested)} is negative";
                return null;
            }
            else
            {
                known *= requested[i];
            }
        }

        var resolved = (int[])requested.Clone();
        if (inferred >= 0)
        {
            if (known == 0 || count % known != 0)
            {
                error = $"Reshape: cannot reshape {Fmt(input)} ({count} elements) to {Fmt(requested)}: {count} is not a multiple of {known}";
                return null;
            }

            resolved[inferred] = (int)(count / known);
        }
        else if (known != count)
        {
            error = $"Reshape: cannot reshape {Fmt(input)} ({count} elements) to {Fmt(requested)} ({known} elements)";
            return null;
        }

        return resolved;
    }

    public static string Fmt(IReadOnlyList<int> shape) => "[" + string.Join(", ", shape) + "]";

    private static string Fmt(TensorType t) => Fmt(t.Shape);

    private static long Count(IReadOnlyList<int> shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        return n;
    }

    private static InferResult? RequireFloat(string op, TensorType t, string role)
    {
        return t.DType == DType.Float32
            ? null
            : InferResult.Fail(ShapeErrorKind.OperandDType, $"{op}: {role} has dtype {t.DType}; only Float32 is supported");
    }

    /// <summary>An elementwise op over Float32 operands (named <paramref name="roles"/>, in order) broadcast together.</summary>
    private static InferResult Broadcasting(OpKind op, IReadOnlyList<TensorType> inputs, params string[] roles)
    {
        IReadOnlyList<int> shape = System.Array.Empty<int>();
        for (int i = 0; i < roles.Length; i++)
        {
            if (RequireFloat(op.ToString(), inputs[i], roles[i]) is { } e) return e;
            var joined = Broadcast(shape, inputs[i].Shape);
            if (joined is null)
            {
                return InferResult.Fail(ShapeErrorKind.NotBroadcastable, $"{op}: shapes {string.Join(" and ", inputs.Take(i + 1).Select(t => Fmt(t)))} are not broadcastable");
            }

            shape = joined;
        }

        return InferResult.Ok(new TensorType(DType.Float32, shape.ToArray()));
    }

    private static InferResult PackB(TensorType b, bool transposed)
    {
        if (b.Rank != 2 || b.DType != DType.Float32) return InferResult.Fail(ShapeErrorKind.OperandShape, $"PackB: needs a 2-D Float32 operand, got {b}");
        int k = transposed ? b.Shape[1] : b.Shape[0];
        int n = transposed ? b.Shape[0] : b.Shape[1];
        return InferResult.Ok(new TensorType(DType.Float32, GemmLayout.PackedLength(k, n)));
    }

    private static InferResult PackedGemm(IReadOnlyList<TensorType> inputs, int n)
    {
        var a = inputs[0];
        if (a.Rank != 2) return InferResult.Fail(ShapeErrorKind.OperandShape, $"PackedGemm: A must be 2-D, got {Fmt(a)}");
        int m = a.Shape[0], k = a.Shape[1];
        if (inputs[1].Rank != 1 || inputs[1].Shape[0] != GemmLayout.PackedLength(k, n))
        {
            return InferResult.Fail(ShapeErrorKind.OperandShape, $"PackedGemm: packed B {Fmt(inputs[1])} does not hold a [{k}, {n}] operand");
        }

        if (inputs.Count > 2)
        {
            var full = Broadcast(inputs[2].Shape, new[] { m, n });
            if (inputs[2].Rank > 2 || full is null || full[0] != m || full[1] != n)
            {
                return InferResult.Fail(ShapeErrorKind.OperandShape, $"PackedGemm: bias of shape {Fmt(inputs[2])} does not broadcast to the output [{m}, {n}]");
            }
        }

        return InferResult.Ok(new TensorType(DType.Float32, m, n));
    }

    private static InferResult SmallConv(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        var x = inputs[0];
        var w = inputs[1];
        var shape = attrs.Ints(AttrNames.Shape);
        var pads = attrs.Ints(AttrNames.Pads);
        int pool = (int)attrs.Int(AttrNames.Pool);
        bool fits = x.Rank == 4 && w.Rank == 4 && shape.Length == 4 && pads.Length == 4 && (pool == 0 || pool == 2) && x.Shape[1] == w.Shape[0];
        if (fits)
        {
            int oh = OutputSize(x.Shape[2], w.Shape[1], 1, pads[0] + pads[2], 1), ow = OutputSize(x.Shape[3], w.Shape[2], 1, pads[1] + pads[3], 1);
            if (pool == 2) (oh, ow) = (oh / 2, ow / 2);
            fits = shape[0] == x.Shape[0] && shape[1] == w.Shape[3] && shape[2] == oh && shape[3] == ow && oh > 0 && ow > 0
                && (inputs.Count < 3 || (inputs[2].Rank == 1 && inputs[2].Shape[0] == w.Shape[3]));
        }

        return fits
            ? InferResult.Ok(new TensorType(DType.Float32, shape))
            : InferResult.Fail(ShapeErrorKind.OperandShape, $"SmallConv: input {Fmt(x)} and weight {Fmt(w)} do not produce {Fmt(shape)}");
    }

    private static InferResult WinogradWeights(TensorType w) =>
        w.Rank == 4 && w.DType == DType.Float32 && w.Shape[2] == 3 && w.Shape[3] == 3
            ? InferResult.Ok(new TensorType(DType.Float32, GemmLayout.WinogradPoints, w.Shape[0], w.Shape[1]))
            : InferResult.Fail(ShapeErrorKind.OperandShape, $"WinogradWeights: needs Float32 weights [K, C, 3, 3], got {Fmt(w)}");

    private static InferResult WinogradConv(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        var x = inputs[0];
        var u = inputs[1];
        var pads = attrs.Ints(AttrNames.Pads);
        bool fits = x.Rank == 4 && u.Rank == 3 && pads.Length == 4 && u.Shape[0] == GemmLayout.WinogradPoints && u.Shape[2] == x.Shape[1]
            && (inputs.Count < 3 || (inputs[2].Rank == 1 && inputs[2].Shape[0] == u.Shape[1]));
        int oh = fits ? OutputSize(x.Shape[2], 3, 1, pads[0] + pads[2], 1) : 0, ow = fits ? OutputSize(x.Shape[3], 3, 1, pads[1] + pads[3], 1) : 0;
        return fits && oh > 0 && ow > 0
            ? InferResult.Ok(new TensorType(DType.Float32, x.Shape[0], u.Shape[1], oh, ow))
            : InferResult.Fail(ShapeErrorKind.OperandShape, $"WinogradConv: input {Fmt(x)} and transformed weights {Fmt(u)} do not make a 3x3 convolution");
    }

    /// <summary>A fused elementwise node: its operands broadcast together (its body is checked by the verifier).</summary>
    private static InferResult Fused(IReadOnlyList<TensorType> inputs)
    {
        IReadOnlyList<int> shape = System.Array.Empty<int>();
        foreach (var t in inputs)
        {
            if (RequireFloat("Fused", t, "operand") is { } e) return e;
            shape = Broadcast(shape, t.Shape) ?? throw new System.InvalidOperationException("fused operands do not broadcast");
        }

        return InferResult.Ok(new TensorType(DType.Float32, shape.ToArray()));
    }

    private static InferResult Unary(OpKind op, IReadOnlyList<TensorType> inputs)
    {
        return RequireFloat(op.ToString(), inputs[0], "input") ?? InferResult.Ok(inputs[0]);
    }

    private static InferResult MatMul(TensorType a, TensorType b)
    {
        if (RequireFloat("MatMul", a, "left operand") is { } ea) return ea;
        if (RequireFloat("MatMul", b, "right operand") is { } eb) return eb;
        if (a.Rank == 0 || b.Rank == 0)
        {
            return InferResult.Fail(ShapeErrorKind.OperandShape, $"MatMul: operands must have rank >= 1, got {Fmt(a)} @ {Fmt(b)}");
        }

        var sa = a.Rank == 1 ? new[] { 1, a.Shape[0] } : a.ShapeArray();
        var sb = b.Rank == 1 ? new[] { b.Shape[0], 1 } : b.ShapeArray();
        int k = sa[sa.Length - 1];
        if (k != sb[sb.Length - 2])
        {
            return InferResult.Fail(ShapeErrorKind.MatMulInner, $"MatMul: inner dimensions differ: {Fmt(a)} @ {Fmt(b)} ({k} != {sb[sb.Length - 2]})");
        }

        var batch = Broadcast(sa.Take(sa.Length - 2).ToArray(), sb.Take(sb.Length - 2).ToArray());
        if (batch is null)
        {
            return InferResult.Fail(ShapeErrorKind.NotBroadcastable, $"MatMul: batch dimensions of {Fmt(a)} and {Fmt(b)} are not broadcastable");
        }

        var shape = new List<int>(batch);
        if (a.Rank > 1) shape.Add(sa[sa.Length - 2]);
        if (b.Rank > 1) shape.Add(sb[sb.Length - 1]);
        return InferResult.Ok(new TensorType(DType.Float32, shape.ToArray()));
    }

    private static InferResult Gemm(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        var a = inputs[0];
        var b = inputs[1];
        foreach (var (t, role) in new[] { (a, "A"), (b, "B") })
        {
            if (RequireFloat("Gemm", t, role) is { } e) return e;
            if (t.Rank != 2) return InferResult.Fail(ShapeErrorKind.OperandShape, $"Gemm: {role} must be 2-D, got {Fmt(t)}");
        }

        bool transA = attrs.Int(AttrNames.TransA) != 0;
        bool transB = attrs.Int(AttrNames.TransB) != 0;
        int m = transA ? a.Shape[1] : a.Shape[0];
        int ka = transA ? a.Shape[0] : a.Shape[1];
        int kb = transB ? b.Shape[1] : b.Shape[0];
        int n = transB ? b.Shape[0] : b.Shape[1];
        if (ka != kb)
        {
            string ta = transA ? "^T" : "";
            string tb = transB ? "^T" : "";
            return InferResult.Fail(ShapeErrorKind.MatMulInner, $"Gemm: inner dimensions differ: {Fmt(a)}{ta} @ {Fmt(b)}{tb} ({ka} != {kb})");
        }

        if (inputs.Count > 2)
        {
            var c = inputs[2];
            if (RequireFloat("Gemm", c, "bias") is { } e) return e;
            var full = Broadcast(c.Shape, new[] { m, n });
            if (c.Rank > 2 || full is null || full[0] != m || full[1] != n)
            {
                return InferResult.Fail(ShapeErrorKind.OperandShape, $"Gemm: bias of shape {Fmt(c)} does not broadcast to the output [{m}, {n}]");
            }
        }

        return InferResult.Ok(new TensorType(DType.Float32, m, n));
    }

    private static InferResult Softmax(TensorType x, int axis)
    {
        if (RequireFloat("Softmax", x, "input") is { } e) return e;
        return axis < 0 || axis >= x.Rank
            ? InferResult.Fail(ShapeErrorKind.AxisOutOfRange, AxisError("Softmax", axis, x.Rank))
            : InferResult.Ok(x);
    }

    private static InferResult LayerNorm(IReadOnlyList<TensorType> inputs, int axis)
    {
        var x = inputs[0];
        if (RequireFloat("LayerNorm", x, "input") is { } e) return e;
        if (axis < 0 || axis >= x.Rank) return InferResult.Fail(ShapeErrorKind.AxisOutOfRange, AxisError("LayerNorm", axis, x.Rank));
        var normalized = x.Shape.Items.Skip(axis).ToArray();
        foreach (var (t, role) in new[] { (inputs[1], "gamma"), (inputs[2], "beta") })
        {
            if (RequireFloat("LayerNorm", t, role) is { } et) return et;
            if (!t.Shape.Items.SequenceEqual(normalized))
            {
                return InferResult.Fail(ShapeErrorKind.OperandShape, $"LayerNorm: {role} has shape {Fmt(t)}, expected {Fmt(normalized)} (the trailing dimensions of the input {Fmt(x)})");
            }
        }

        return InferResult.Ok(x);
    }

    private static InferResult Lstm(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        var operands = LstmOperands.Of(attrs);
        long output = attrs.Int(AttrNames.Output);
        float clip = attrs.Float(AttrNames.Clip);
        if (inputs.Count != operands.Count) return InferResult.Fail(ShapeErrorKind.InvalidArgument, $"Lstm: {inputs.Count} operands, the optional mask says {operands.Count}");
        if (output is < LstmOperands.Sequence or > LstmOperands.LastCell) return InferResult.Fail(ShapeErrorKind.InvalidArgument, $"Lstm: output {output} is not an LstmOutput");
        if (!(clip >= 0) || float.IsPositiveInfinity(clip)) return InferResult.Fail(ShapeErrorKind.InvalidArgument, $"Lstm: clip must be positive and finite (0: no clipping), got {clip}");
        for (int i = 0; i < inputs.Count; i++)
        {
            string role = i == operands.Bias ? "B" : i == operands.InitialH ? "initial_h" : i == operands.InitialC ? "initial_c" : new[] { "input", "W", "R" }[i];
            if (RequireFloat("Lstm", inputs[i], role) is { } e) return e;
        }

        var x = inputs[LstmOperands.X];
        var w = inputs[LstmOperands.W];
        if (x.Rank != 3) return InferResult.Fail(ShapeErrorKind.OperandShape, $"Lstm: input must be [seq, batch, input], got {Fmt(x)}");
        int seq = x.Shape[0], batch = x.Shape[1], size = x.Shape[2];
        bool packed = attrs.Has(AttrNames.N);
        if (!packed && (w.Rank != 3 || w.Shape[0] != 1 || w.Shape[1] % 4 != 0 || w.Shape[1] == 0 || w.Shape[2] != size))
        {
            return InferResult.Fail(ShapeErrorKind.OperandShape, $"Lstm: W has shape {Fmt(w)}, expected [1, 4*hidden, {size}] for the input {Fmt(x)}");
        }

        int hidden = packed ? (int)attrs.Int(AttrNames.N) / 4 : w.Shape[1] / 4;
        var expected = new (int Index, string Role, int[] Shape)[]
        {
            (packed ? LstmOperands.W : -1, "packed W", new[] { GemmLayout.PackedLength(size, 4 * hidden) }), // unpacked: checked above
            (LstmOperands.R, packed ? "packed R" : "R", packed ? new[] { GemmLayout.PackedLength(hidden, 4 * hidden) } : new[] { 1, 4 * hidden, hidden }),
            (operands.Bias, "B", new[] { 1, 8 * hidden }),
            (operands.InitialH, "initial_h", new[] { 1, batch, hidden }),
            (operands.InitialC, "initial_c", new[] { 1, batch, hidden }),
        };
        foreach (var (index, role, shape) in expected)
        {
            if (index >= 0 && !inputs[index].Shape.Items.SequenceEqual(shape))
            {
                return InferResult.Fail(ShapeErrorKind.OperandShape, $"Lstm: {role} has shape {Fmt(inputs[index])}, expected {Fmt(shape)}");
            }
        }

        return InferResult.Ok(output == LstmOperands.Sequence ? new TensorType(DType.Float32, seq, 1, batch, hidden) : new TensorType(DType.Float32, 1, batch, hidden));
    }

    private static InferResult Reduce(OpKind op, TensorType x, int[] axes, bool keepDims)
    {
        if (RequireFloat(op.ToString(), x, "input") is { } e) return e;
        var shape = new List<int>();
        for (int i = 0; i < x.Rank; i++)
        {
            if (Array.IndexOf(axes, i) < 0) shape.Add(x.Shape[i]);
            else if (keepDims) shape.Add(1);
        }

        foreach (var axis in axes)
        {
            if (axis < 0 || axis >= x.Rank) return InferResult.Fail(ShapeErrorKind.AxisOutOfRange, AxisError(op.ToString(), axis, x.Rank));
        }

        if (axes.Distinct().Count() != axes.Length)
        {
            return InferResult.Fail(ShapeErrorKind.InvalidArgument, $"{op}: axes {Fmt(axes)} repeat an axis");
        }

        return InferResult.Ok(new TensorType(x.DType, shape.ToArray()));
    }

    private static InferResult Reshape(TensorType x, int[] shape)
    {
        if (Count(shape) != x.ElementCount || shape.Any(d => d < 0))
        {
            return InferResult.Fail(ShapeErrorKind.ReshapeCount, $"Reshape: cannot reshape {Fmt(x)} ({x.ElementCount} elements) to {Fmt(shape)} ({Count(shape)} elements)");
        }

        return InferResult.Ok(x.WithShape(shape));
    }

    private static InferResult Transpose(TensorType x, int[] perm)
    {
        if (perm.Length != x.Rank || perm.OrderBy(p => p).Where((p, i) => p != i).Any())
        {
            return InferResult.Fail(ShapeErrorKind.InvalidArgument, $"Transpose: {Fmt(perm)} is not a permutation of the {x.Rank} axes of {Fmt(x)}");
        }

        return InferResult.Ok(x.WithShape(perm.Select(p => x.Shape[p]).ToArray()));
    }

    private static InferResult Concat(IReadOnlyList<TensorType> inputs, int axis)
    {
        if (inputs.Count == 0) return InferResult.Fail(ShapeErrorKind.InvalidArgument, "Concat: needs at least one input");
        var first = inputs[0];
        if (axis < 0 || axis >= first.Rank) return InferResult.Fail(ShapeErrorKind.AxisOutOfRange, AxisError("Concat", axis, first.Rank));
        int total = 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            var t = inputs[i];
            if (t.DType != first.DType)
            {
                return InferResult.Fail(ShapeErrorKind.OperandDType, $"Concat: input {i} has dtype {t.DType}, input 0 has {first.DType}");
            }

            bool same = t.Rank == first.Rank && Enumerable.Range(0, t.Rank).All(d => d == axis || t.Shape[d] == first.Shape[d]);
            if (!same)
            {
                return InferResult.Fail(ShapeErrorKind.OperandShape, $"Concat: input {i} has shape {Fmt(t)}, which differs from input 0 {Fmt(first)} outside axis {axis}");
            }

            total += t.Shape[axis];
        }

        var shape = first.ShapeArray();
        shape[axis] = total;
        return InferResult.Ok(first.WithShape(shape));
    }

    private static InferResult Slice(TensorType x, Attrs attrs)
    {
        int axis = (int)attrs.Int(AttrNames.Axis);
        int start = (int)attrs.Int(AttrNames.Start);
        int end = (int)attrs.Int(AttrNames.End);
        int step = (int)attrs.Int(AttrNames.Step);
        if (axis < 0 || axis >= x.Rank) return InferResult.Fail(ShapeErrorKind.AxisOutOfRange, AxisError("Slice", axis, x.Rank));
        int dim = x.Shape[axis];
        if (step <= 0 || start < 0 || start > dim || end < 0 || end > dim)
        {
            return InferResult.Fail(ShapeErrorKind.InvalidArgument, $"Slice: start {start}, end {end}, step {step} are not a valid range of axis {axis} (size {dim})");
        }

        var shape = x.ShapeArray();
        shape[axis] = end <= start ? 0 : (end - start + step - 1) / step;
        return InferResult.Ok(x.WithShape(shape));
    }

    /// <summary>Python slice normalization: negative counts from the end, then clamp to [0, dim].</summary>
    public static (int Start, int End) NormalizeSliceBounds(int start, int end, int dim)
    {
        int Clamp(int v) => Math.Min(Math.Max(v < 0 ? v + dim : v, 0), dim);
        return (Clamp(start), Clamp(end));
    }

    private static InferResult Gather(TensorType data, TensorType indices, int axis)
    {
        if (indices.DType is not (DType.Int32 or DType.Float32))
        {
            return InferResult.Fail(ShapeErrorKind.OperandDType, $"Gather: indices have dtype {indices.DType}; they must be Int32 or Float32 holding integers");
        }

        if (axis < 0 || axis >= data.Rank) return InferResult.Fail(ShapeErrorKind.AxisOutOfRange, AxisError("Gather", axis, data.Rank));
        var shape = data.Shape.Items.Take(axis).Concat(indices.Shape.Items).Concat(data.Shape.Items.Skip(axis + 1)).ToArray();
        return InferResult.Ok(data.WithShape(shape));
    }

    private static InferResult Conv2d(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        var x = inputs[0];
        var w = inputs[1];
        if (RequireFloat("Conv2d", x, "input") is { } ex) return ex;
        if (RequireFloat("Conv2d", w, "weight") is { } ew) return ew;
        if (x.Rank != 4) return InferResult.Fail(ShapeErrorKind.OperandShape, $"Conv2d: input must be [N, C, H, W], got {Fmt(x)}");
        if (w.Rank != 4) return InferResult.Fail(ShapeErrorKind.OperandShape, $"Conv2d: weight must be [K, C/groups, R, S], got {Fmt(w)}");
        int group = (int)attrs.Int(AttrNames.Group);
        int c = x.Shape[1];
        int k = w.Shape[0];
        if (group <= 0 || c % group != 0 || k % group != 0)
        {
            return InferResult.Fail(ShapeErrorKind.InvalidArgument, $"Conv2d: groups {group} must divide the input channels {c} and the output channels {k}");
        }

        if (w.Shape[1] * group != c)
        {
            return InferResult.Fail(ShapeErrorKind.OperandShape, $"Conv2d: weight {Fmt(w)} expects {w.Shape[1] * group} input channels ({w.Shape[1]} per group, groups {group}), the input {Fmt(x)} has {c}");
        }

        if (inputs.Count > 2)
        {
            var b = inputs[2];
            if (RequireFloat("Conv2d", b, "bias") is { } eb) return eb;
            if (b.Rank != 1 || b.Shape[0] != k)
            {
                return InferResult.Fail(ShapeErrorKind.OperandShape, $"Conv2d: bias has shape {Fmt(b)}, expected [{k}]");
            }
        }

        var strides = attrs.Ints(AttrNames.Strides);
        var pads = attrs.Ints(AttrNames.Pads);
        var dilations = attrs.Ints(AttrNames.Dilations);
        if (strides.Any(s => s <= 0) || dilations.Any(d => d <= 0) || pads.Any(p => p < 0))
        {
            return InferResult.Fail(ShapeErrorKind.InvalidArgument, $"Conv2d: strides {Fmt(strides)} and dilations {Fmt(dilations)} must be positive, padding {Fmt(pads)} non-negative");
        }

        int oh = OutputSize(x.Shape[2], w.Shape[2], strides[0], pads[0] + pads[2], dilations[0]);
        int ow = OutputSize(x.Shape[3], w.Shape[3], strides[1], pads[1] + pads[3], dilations[1]);
        if (oh <= 0 || ow <= 0)
        {
            return InferResult.Fail(ShapeErrorKind.EmptyOutput, $"Conv2d: output would be empty ({oh}x{ow}): input {Fmt(x)}, kernel {w.Shape[2]}x{w.Shape[3]}, stride {Fmt(strides)}, padding {Fmt(pads)}, dilation {Fmt(dilations)}");
        }

        return InferResult.Ok(new TensorType(DType.Float32, x.Shape[0], k, oh, ow));
    }

    private static InferResult ConvTranspose2d(IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        const string op = "ConvTranspose2d";
        var x = inputs[0];
        var w = inputs[1];
        if (RequireFloat(op, x, "input") is { } ex) return ex;
        if (RequireFloat(op, w, "weight") is { } ew) return ew;
        if (x.Rank != 4) return InferResult.Fail(ShapeErrorKind.OperandShape, $"{op}: input must be [N, C, H, W], got {Fmt(x)}");
        if (w.Rank != 4) return InferResult.Fail(ShapeErrorKind.OperandShape, $"{op}: weight must be [C, K/groups, R, S], got {Fmt(w)}");
        int group = (int)attrs.Int(AttrNames.Group);
        int c = x.Shape[1];
        if (group <= 0 || c % group != 0) return InferResult.Fail(ShapeErrorKind.InvalidArgument, $"{op}: groups {group} must divide the input channels {c}");
        if (w.Shape[0] != c)
        {
            return InferResult.Fail(ShapeErrorKind.OperandShape, $"{op}: weight {Fmt(w)} expects {w.Shape[0]} input channels, the input {Fmt(x)} has {c}");
        }

        int k = w.Shape[1] * group;
        if (inputs.Count > 2)
        {
            var b = inputs[2];
            if (RequireFloat(op, b, "bias") is { } eb) return eb;
            if (b.Rank != 1 || b.Shape[0] != k) return InferResult.Fail(ShapeErrorKind.OperandShape, $"{op}: bias has shape {Fmt(b)}, expected [{k}]");
        }

        var strides = attrs.Ints(AttrNames.Strides);
        var pads = attrs.Ints(AttrNames.Pads);
        var outputPadding = attrs.Ints(AttrNames.OutputPadding);
        var dilations = attrs.Ints(AttrNames.Dilations);
        if (strides.Any(s => s <= 0) || dilations.Any(d => d <= 0) || pads.Any(p => p < 0) || outputPadding.Any(p => p < 0))
        {
            return InferResult.Fail(ShapeErrorKind.InvalidArgument,
                $"{op}: strides {Fmt(strides)} and dilations {Fmt(dilations)} must be positive, padding {Fmt(pads)} and output padding {Fmt(outputPadding)} non-negative");
        }

        long oh = TransposedSize(x.Shape[2], w.Shape[2], strides[0], pads[0] + pads[2], dilations[0], outputPadding[0]);
        long ow = TransposedSize(x.Shape[3], w.Shape[3], strides[1], pads[1] + pads[3], dilations[1], outputPadding[1]);
        if (oh <= 0 || ow <= 0 || w.Shape[1] == 0)
        {
            return InferResult.Fail(ShapeErrorKind.EmptyOutput,
                $"{op}: output would be empty ({Math.Max(oh, 0)}x{Math.Max(ow, 0)}): input {Fmt(x)}, kernel {w.Shape[2]}x{w.Shape[3]}, stride {Fmt(strides)}, padding {Fmt(pads)}, output padding {Fmt(outputPadding)}, dilation {Fmt(dilations)}");
        }

        if (oh > int.MaxValue || ow > int.MaxValue) return InferResult.Fail(ShapeErrorKind.InvalidArgument, $"{op}: output {oh}x{ow} is too large");
        return InferResult.Ok(new TensorType(DType.Float32, x.Shape[0], k, (int)oh, (int)ow));
    }

    /// <summary>(size - 1)*stride - totalPadding + dilation*(kernel-1) + 1 + outputPadding; 0 for an empty input.</summary>
    private static long TransposedSize(int size, int kernel, int stride, int totalPadding, int dilation, int outputPadding) =>
        size == 0 ? 0 : (size - 1L) * stride - totalPadding + (long)dilation * (kernel - 1) + 1 + outputPadding;

    private static InferResult Pool(OpKind op, TensorType x, Attrs attrs)
    {
        if (RequireFloat(op.ToString(), x, "input") is { } e) return e;
        if (x.Rank != 4) return InferResult.Fail(ShapeErrorKind.OperandShape, $"{op}: input must be [N, C, H, W], got {Fmt(x)}");
        var kernel = attrs.Ints(AttrNames.Kernel);
        var strides = attrs.Ints(AttrNames.Strides);
        var pads = attrs.Ints(AttrNames.Pads);
        if (kernel.Any(v => v <= 0) || strides.Any(v => v <= 0) || pads.Any(v => v < 0) || pads[0] * 2 > kernel[0] || pads[1] * 2 > kernel[1])
        {
            return InferResult.Fail(ShapeErrorKind.InvalidArgument, $"{op}: kernel {Fmt(kernel)} and stride {Fmt(strides)} must be positive, padding {Fmt(pads)} at most half the kernel");
        }

        int oh = OutputSize(x.Shape[2], kernel[0], strides[0], pads[0] + pads[2], 1);
        int ow = OutputSize(x.Shape[3], kernel[1], strides[1], pads[1] + pads[3], 1);
        if (oh <= 0 || ow <= 0)
        {
            return InferResult.Fail(ShapeErrorKind.EmptyOutput, $"{op}: output would be empty ({oh}x{ow}): input {Fmt(x)}, kernel {Fmt(kernel)}, stride {Fmt(strides)}, padding {Fmt(pads)}");
        }

        return InferResult.Ok(new TensorType(DType.Float32, x.Shape[0], x.Shape[1], oh, ow));
    }

    private static InferResult GlobalAvgPool(TensorType x)
    {
        if (RequireFloat("GlobalAvgPool", x, "input") is { } e) return e;
        return x.Rank != 4
            ? InferResult.Fail(ShapeErrorKind.OperandShape, $"GlobalAvgPool: input must be [N, C, H, W], got {Fmt(x)}")
            : InferResult.Ok(new TensorType(DType.Float32, x.Shape[0], x.Shape[1], 1, 1));
    }

    private static InferResult Resize(TensorType x, Attrs attrs)
    {
        if (RequireFloat("Resize", x, "input") is { } e) return e;
        if (x.Rank != 4) return InferResult.Fail(ShapeErrorKind.OperandShape, $"Resize: input must be [N, C, H, W], got {Fmt(x)}");
        if (x.Shape[2] == 0 || x.Shape[3] == 0) return InferResult.Fail(ShapeErrorKind.OperandShape, $"Resize: input {Fmt(x)} has an empty spatial extent");
        var size = attrs.Ints(AttrNames.Shape);
        return InferResult.Ok(new TensorType(DType.Float32, x.Shape[0], x.Shape[1], size[0], size[1]));
    }

    /// <summary>floor((size + padding - dilation*(kernel-1) - 1) / stride) + 1, which may be &lt;= 0 for bad geometry.</summary>
    public static int OutputSize(int size, int kernel, int stride, int totalPadding, int dilation)
    {
        int span = size + totalPadding - dilation * (kernel - 1) - 1;
        return span < 0 ? 0 : span / stride + 1;
    }
}
