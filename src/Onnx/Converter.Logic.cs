using System;
using System.Linq;

namespace Aot.Onnx;

// Comparisons, Not, And/Or/Xor, Where, ConstantOfShape and Expand. On constants they are evaluated at import time (the
// shape arithmetic of exported models; booleans are Int64 0/1 there). On run-time tensors a boolean is a Float32 mask
// (1 true, 0 false): comparisons and Where are the DSL's, Not is 1 - x, And a product, Or a maximum, Xor |a - b|.
internal sealed partial class Converter
{
    private static void Compare(NodeContext n, string op, Func<double, double, bool> compare)
    {
        n.RequireInputs(2, 2);
        var a = n.In(0);
        var b = n.In(1);
        var shape = Broadcast(n, a.Shape, b.Shape);
        if (a.Const is not { } ca || b.Const is not { } cb || Product(shape, 0, shape.Length) > MaxFoldedElements)
        {
            n.Emit($"{op}({n.MaskOperand(a, b.Shape)}, {n.MaskOperand(b, a.Shape)})", shape);
            return;
        }

        if (ca.IsFloat != cb.IsFloat) throw n.Malformed($"operands '{a.OnnxName}' and '{b.OnnxName}' have different element types");
        var ia = BroadcastIndex(a.Shape, shape);
        var ib = BroadcastIndex(b.Shape, shape);
        double At(ConstTensor c, int i) => c.IsFloat ? c.Floats![i] : c.Ints![i];
        n.Constant(new ConstTensor(shape, null, ia.Select((_, i) => compare(At(ca, ia[i]), At(cb, ib[i])) ? 1L : 0L).ToArray()));
    }

    /// <summary>The element count of a shape; an OverflowException (a format error) when it does not fit a long.</summary>
    private static long CheckedCount(int[] shape)
    {
        long count = 1;
        foreach (int d in shape) count = checked(count * d);
        return count;
    }

    private static void Not(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var x = n.In(0);
        if (x.Const is { Ints: { } flags })
        {
            n.Constant(new ConstTensor(x.Shape, null, flags.Select(f => f == 0 ? 1L : 0L).ToArray()));
            return;
        }

        n.Emit($"Not({n.MaskOperand(x)})", x.Shape);
    }

    /// <summary>And, Or, Xor: folded on constant booleans, otherwise <paramref name="onMasks"/> of the two masks.</summary>
    private static void Logical(NodeContext n, Func<bool, bool, bool> fold, string onMasks)
    {
        n.RequireInputs(2, 2);
        var a = n.In(0);
        var b = n.In(1);
        var shape = Broadcast(n, a.Shape, b.Shape);
        if (a.Const is { Ints: { } fa } && b.Const is { Ints: { } fb } && Product(shape, 0, shape.Length) <= MaxFoldedElements)
        {
            var ia = BroadcastIndex(a.Shape, shape);
            var ib = BroadcastIndex(b.Shape, shape);
            n.Constant(new ConstTensor(shape, null, ia.Select((_, i) => fold(fa[ia[i]] != 0, fb[ib[i]] != 0) ? 1L : 0L).ToArray()));
            return;
        }

        n.Emit(string.Format(onMasks, n.MaskOperand(a, b.Shape), n.MaskOperand(b, a.Shape)), shape);
    }

    private static void Where(NodeContext n)
    {
        n.RequireInputs(3, 3);
        var condition = n.In(0);
        var a = n.In(1);
        var b = n.In(2);
        var shape = Broadcast(n, Broadcast(n, condition.Shape, a.Shape), b.Shape);
        if (condition.Const is { Ints: { } flags })
        {
            if (a.Const is { } ca && b.Const is { } cb && Product(shape, 0, shape.Length) <= MaxFoldedElements)
            {
                if (ca.IsFloat != cb.IsFloat) throw n.Malformed($"operands '{a.OnnxName}' and '{b.OnnxName}' have different element types");
                var ic = BroadcastIndex(condition.Shape, shape);
                var ia = BroadcastIndex(a.Shape, shape);
                var ib = BroadcastIndex(b.Shape, shape);
                n.Constant(ca.IsFloat
                    ? new ConstTensor(shape, ic.Select((c, i) => flags[c] != 0 ? ca.Floats![ia[i]] : cb.Floats![ib[i]]).ToArray(), null)
                    : new ConstTensor(shape, null, ic.Select((c, i) => flags[c] != 0 ? ca.Ints![ia[i]] : cb.Ints![ib[i]]).ToArray()));
                return;
            }

            // A condition that is the same everywhere selects one operand (when that operand already has the result's shape).
            var picked = flags.All(f => f != 0) ? a : flags.All(f => f == 0) ? b : null;
            if (picked is not null && picked.Shape.SequenceEqual(shape))
            {
                n.Alias(picked);
                return;
            }
        }

        n.Emit($"Where({n.MaskOperand(condition, shape)}, {n.Operand(a, shape)}, {n.Operand(b, shape)})", shape);
    }

    private static void ConstantOfShape(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var dims = n.ConstInts(n.In(0), "shape");
        if (dims.Any(d => d < 0 || d > int.MaxValue)) throw n.Malformed($"shape [{string.Join(", ", dims)}] has a negative or huge dimension");
        var shape = dims.Select(d => (int)d).ToArray();
        long count = CheckedCount(shape);
        if (count > MaxFoldedElements) throw n.Unsupported($"ConstantOfShape [{Dims(shape)}]: more than {MaxFoldedElements} elements");
        var value = n.Tensor("value") is { } t ? TensorData.Decode(t, null, $"ConstantOfShape {n.Describe}, attribute 'value'") : new ConstTensor(new[] { 1 }, new[] { 0f }, null);
        if (value.Length != 1) throw n.Malformed($"attribute 'value' has {value.Length} elements, expected 1");
        n.Constant(value.IsFloat
            ? new ConstTensor(shape, Enumerable.Repeat(value.Floats![0], (int)count).ToArray(), null)
            : new ConstTensor(shape, null, Enumerable.Repeat(value.Ints![0], (int)count).ToArray()));
    }

    private static void Expand(NodeContext n)
    {
        n.RequireInputs(2, 2);
        var x = n.In(0);
        var dims = n.ConstInts(n.In(1), "shape");
        if (dims.Any(d => d < 0 || d > int.MaxValue)) throw n.Malformed($"shape [{string.Join(", ", dims)}] has a negative or huge dimension");
        var shape = Broadcast(n, x.Shape, dims.Select(d => (int)d).ToArray());
        if (shape.SequenceEqual(x.Shape))
        {
            n.Alias(x);
            return;
        }

        if (x.Const is not { } c || CheckedCount(shape) > MaxFoldedElements)
        {
            throw n.Unsupported($"Expand of the run-time tensor '{x.OnnxName}' {Format(x.Shape)} to {Format(shape)} is not supported (only constants are expanded)");
        }

        var index = BroadcastIndex(x.Shape, shape);
        n.Constant(c.IsFloat
            ? new ConstTensor(shape, index.Select(i => c.Floats![i]).ToArray(), null)
            : new ConstTensor(shape, null, index.Select(i => c.Ints![i]).ToArray()));
    }
}
