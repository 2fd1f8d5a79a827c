// Shared by Generator.Tests (CPU backend) and Gpu.Tests (GPU backend): linked into both projects.
global using Aot.Tests.Shared;
using Aot.Dsl;
using Aot.Generator.IR;
using DType = Aot.Generator.IR.DType;

namespace Aot.Tests.Shared;

/// <summary>|ours - ref| &lt;= Atol + Rtol * |ref| per element.</summary>
internal readonly record struct Tolerance(double Atol, double Rtol)
{
    /// <summary>Ops that only move or pick values (movement, Max/Min/Relu/Neg/Abs, max pooling): exact up to rounding noise.</summary>
    public static readonly Tolerance Exact = new(1e-6, 1e-6);

    /// <summary>Transcendental unary ops and elementwise arithmetic.</summary>
    public static readonly Tolerance Elementwise = new(1e-5, 1e-5);

    /// <summary>Accumulations: MatMul, Gemm, Conv, average pooling, reductions, Softmax, LayerNorm (float sums in a
    /// different order than the reference's double ones).</summary>
    public static readonly Tolerance Accumulation = new(1e-4, 1e-4);

    public override string ToString() => $"atol {Atol:g}, rtol {Rtol:g}";
}

/// <summary>One backend-vs-reference comparison: a graph, what to feed it, and what it must produce.</summary>
internal sealed record KernelCase(string Name, Graph Graph, Tensor[] Weights, Tensor[] Inputs, Tensor Expected, Tolerance Tolerance);

/// <summary>Builds <see cref="KernelCase"/>s and compares backend results against the eager reference; each suite
/// keeps its own runner (CPU: Kernel.Check, GPU: Cases.Check).</summary>
internal static class CaseKit
{
    /// <summary>
    /// A one-node graph: <paramref name="op"/> over <paramref name="operands"/> (inputs in0, in1, ... unless the
    /// operand's bit in <paramref name="weightMask"/> makes it a weight), checked against <paramref name="expected"/>.
    /// </summary>
    public static KernelCase Case(string name, OpKind op, Attrs attrs, Tensor[] operands, Tensor expected, Tolerance tolerance, int weightMask = 0)
    {
        var b = new GraphBuilder("G");
        var ids = new int[operands.Length];
        var weights = new List<Tensor>();
        var inputs = new List<Tensor>();
        for (int i = 0; i < operands.Length; i++)
        {
            var type = TypeOf(operands[i]);
            if ((weightMask >> i & 1) != 0)
            {
                ids[i] = b.AddWeight("w" + i, type);
                weights.Add(operands[i]);
            }
            else
            {
                ids[i] = b.AddInput("in" + i, type);
                inputs.Add(operands[i]);
            }
        }

        var result = b.TryAdd(op, ids, attrs, out int output);
        if (result.Error is { } error) throw new InvalidOperationException($"{name}: {error.Message}");
        b.AddOutput(output);
        return new KernelCase($"{op} {name}", b.Build(), weights.ToArray(), inputs.ToArray(), expected, tolerance);
    }

    public static TensorType TypeOf(Tensor t) => new(t.DType == Aot.Dsl.DType.Int32 ? DType.Int32 : DType.Float32, t.ShapeArray());

    /// <summary>Null when <paramref name="actual"/> has the reference's dtype and shape and every element is within
    /// tolerance (NaN matches NaN, infinities match exactly); otherwise a description of the worst mismatches.</summary>
    public static string? Compare(Tensor expected, Tensor actual, Tolerance tolerance)
    {
        if (expected.DType != actual.DType || !expected.Shape.SequenceEqual(actual.Shape))
        {
            return $"result is {actual}, the reference is {expected}";
        }

        if (expected.DType == Aot.Dsl.DType.Int32)
        {
            var e = expected.Ints.ToArray();
            var a = actual.Ints.ToArray();
            int at = Enumerable.Range(0, e.Length).FirstOrDefault(i => e[i] != a[i], -1);
            return at < 0 ? null : $"element {at} is {a[at]}, expected {e[at]}";
        }

        var exp = expected.Floats.ToArray();
        var act = actual.Floats.ToArray();
        var bad = new List<string>();
        double worst = 0;
        for (int i = 0; i < exp.Length; i++)
        {
            double r = exp[i], o = act[i];
            bool ok = double.IsNaN(r) ? double.IsNaN(o)
                : double.IsInfinity(r) ? r == o
                : Math.Abs(o - r) <= tolerance.Atol + tolerance.Rtol * Math.Abs(r);
            if (ok) continue;
            double err = double.IsNaN(o) || double.IsInfinity(o) ? double.PositiveInfinity : Math.Abs(o - r);
            worst = Math.Max(worst, err);
            if (bad.Count < 5) bad.Add($"[{i}] {o:R} vs {r:R}");
        }

        return bad.Count == 0 ? null : $"{bad.Count}+ elements outside {tolerance} (worst |diff| {worst:g3}), e.g. {string.Join(", ", bad)}";
    }

    /// <summary>Appends one failing case (name, problem, graph) to a report.</summary>
    public static void Report(System.Text.StringBuilder failures, KernelCase c, string problem)
    {
        failures.AppendLine($"[{c.Name}] {problem}");
        failures.AppendLine("  " + c.Graph.ToString().Replace("\n", "\n  "));
    }

    /// <summary>Uniform random floats in [low, high) with a fixed seed per call site.</summary>
    public static Tensor Rand(int seed, float low, float high, params int[] shape) => Tensor.Random(seed, low, high, shape);

    /// <summary>Uniform random floats in [-1, 1).</summary>
    public static Tensor Rand(int seed, params int[] shape) => Tensor.Random(seed, -1f, 1f, shape);

    /// <summary>Uniform random Int32s in [low, high).</summary>
    public static Tensor Ints(int seed, int low, int high, params int[] shape)
    {
        var r = Tensor.Random(seed, low, high, shape).Floats.ToArray();
        return Tensor.FromArray(r.Select(v => (int)MathF.Floor(v)).ToArray(), shape);
    }

    public static Attrs Attrs(params Attr[] attrs) => Aot.Generator.IR.Attrs.Of(attrs);

    public static string S(int[] shape) => "[" + string.Join(",", shape) + "]";

    /// <summary>x [N, C, H, W] with <paramref name="value"/> rows/columns added on each side: the reference for
    /// asymmetric padding (the DSL's ops pad symmetrically).</summary>
    public static Tensor Pad(Tensor x, int top, int left, int bottom, int right, float value)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int ph = h + top + bottom, pw = w + left + right;
        var data = Enumerable.Repeat(value, n * c * ph * pw).ToArray();
        var src = x.Floats;
        for (int p = 0; p < n * c; p++)
        {
            for (int i = 0; i < h; i++)
            {
                for (int j = 0; j < w; j++) data[(p * ph + i + top) * pw + j + left] = src[(p * h + i) * w + j];
            }
        }

        return Tensor.FromArray(data, n, c, ph, pw);
    }

    /// <summary>Every <paramref name="sh"/>-th row and <paramref name="sw"/>-th column: a stride-1 result subsampled
    /// is the reference for unequal strides.</summary>
    public static Tensor Subsample(Tensor y, int sh, int sw) => Ops.Slice(Ops.Slice(y, 2, 0, y.Shape[2], sh), 3, 0, y.Shape[3], sw);

    public static Attrs ConvAttrs(int[] strides, int[] pads, int[] dilations, int group) => Attrs(
        Attr.OfInts(AttrNames.Strides, strides), Attr.OfInts(AttrNames.Pads, pads), Attr.OfInts(AttrNames.Dilations, dilations), Attr.OfInt(AttrNames.Group, (long)group));

    public static Attrs ConvTransposeAttrs(int[] strides, int[] pads, int[] outputPadding, int[] dilations, int group) =>
        ConvAttrs(strides, pads, dilations, group).With(Attr.OfInts(AttrNames.OutputPadding, outputPadding));
}
