using System.Text;
using Aot.Dsl;
using Aot.Generator.Backends.Gpu;
using Aot.Generator.IR;
using ILGPU.Runtime;
using DType = Aot.Generator.IR.DType;

namespace Gpu.Tests;

/// <summary>|ours - ref| &lt;= Atol + Rtol * |ref| per element.</summary>
internal readonly record struct Tolerance(double Atol, double Rtol)
{
    /// <summary>Ops that only move or pick values (movement, Max/Min/Relu/Neg/Abs, max pooling).</summary>
    public static readonly Tolerance Exact = new(1e-6, 1e-6);

    /// <summary>Transcendental unary ops and elementwise arithmetic.</summary>
    public static readonly Tolerance Elementwise = new(1e-5, 1e-5);

    /// <summary>Accumulations: MatMul, Gemm, Conv, average pooling, reductions, Softmax, LayerNorm (float sums in a
    /// different order than the reference's double ones).</summary>
    public static readonly Tolerance Accumulation = new(1e-4, 1e-4);

    public override string ToString() => $"atol {Atol:g}, rtol {Rtol:g}";
}

/// <summary>One GPU-vs-reference comparison: a graph, what to feed it, and what it must produce.</summary>
internal sealed record GpuCase(string Name, Graph Graph, Tensor[] Weights, Tensor[] Inputs, Tensor Expected, Tolerance Tolerance);

/// <summary>Builds <see cref="GpuCase"/>s and checks the GPU backend's results against the eager reference.</summary>
internal static class Cases
{
    /// <summary>
    /// A one-node graph: <paramref name="op"/> over <paramref name="operands"/> (inputs in0, in1, ... unless the
    /// operand's bit in <paramref name="weightMask"/> makes it a weight), checked against <paramref name="expected"/>.
    /// </summary>
    public static GpuCase Case(string name, OpKind op, Attrs attrs, Tensor[] operands, Tensor expected, Tolerance tolerance, int weightMask = 0)
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
        return new GpuCase($"{op} {name}", b.Build(), weights.ToArray(), inputs.ToArray(), expected, tolerance);
    }

    public static TensorType TypeOf(Tensor t) => new(t.DType == Aot.Dsl.DType.Int32 ? DType.Int32 : DType.Float32, t.ShapeArray());

    /// <summary>Compiles every case in one compilation, runs each on the accelerator, and fails listing every mismatch.</summary>
    public static void Check(Accelerator accelerator, IReadOnlyList<GpuCase> cases, GpuTarget? target = null)
    {
        var compiled = GpuCompiledGraphs.Compile(cases.Select(c => c.Graph).ToArray(), target: target);
        var failures = new StringBuilder();
        int failed = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            string? problem;
            try
            {
                problem = Compare(c.Expected, compiled.Run(i, c.Weights, c.Inputs, accelerator), c.Tolerance);
            }
            catch (Exception e)
            {
                problem = "threw " + e;
            }

            if (problem is null) continue;
            failed++;
            failures.AppendLine($"[{c.Name}] {problem}");
            failures.AppendLine("  " + c.Graph.ToString().Replace("\n", "\n  "));
        }

        Assert.True(failed == 0, $"{failed} of {cases.Count} cases differ from the eager reference:\n{failures}");
    }

    /// <summary>Null when <paramref name="actual"/> has the reference's dtype and shape and every element is within
    /// tolerance (NaN matches NaN, infinities match exactly); otherwise a description of the worst mismatches.</summary>
    public static string? Compare(Tensor expected, Tensor actual, Tolerance tolerance)
    {
        if (expected.DType != actual.DType || !expected.Shape.SequenceEqual(actual.Shape)) return $"result is {actual}, the reference is {expected}";
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

    /// <summary>Uniform random floats in [low, high) with a fixed seed per call site.</summary>
    public static Tensor Rand(int seed, float low, float high, params int[] shape) => Tensor.Random(seed, low, high, shape);

    /// <summary>Uniform random floats in [-1, 1).</summary>
    public static Tensor Rand(int seed, params int[] shape) => Tensor.Random(seed, -1f, 1f, shape);

    public static Attrs Attrs(params Attr[] attrs) => Aot.Generator.IR.Attrs.Of(attrs);

    public static string S(int[] shape) => "[" + string.Join(",", shape) + "]";
}
