using System.Text;
using Aot.Dsl;
using Aot.Generator.IR;
using Aot.Generator.Passes;
using static Aot.Tests.Shared.CaseKit;

namespace Generator.Tests.Backend;

/// <summary>
/// Kernels that split their work between threads once large enough (softmax and layer norm rows, elementwise loops, transposes):
/// at 1 and 2 threads each matches the eager reference, and the 2-thread result is bit-identical to the 1-thread one
/// (every element is computed by the same instructions whatever the split). Shapes straddle the thresholds and leave
/// ragged ends (rows not a multiple of the task count, flat lengths not a multiple of the vector width).
/// </summary>
public class ParallelKernelTests
{
    [Fact]
    public void Large_kernels_match_the_reference_and_are_identical_at_1_and_2_threads()
    {
        var cases = new List<KernelCase>();
        int seed = 900;
        foreach (var shape in new[] { new[] { 1, 4, 128, 128 }, new[] { 3, 41, 77 }, new[] { 5, 1000 } })
        {
            var x = Rand(seed++, -8f, 8f, shape);
            cases.Add(Case(S(shape) + " axis -1", OpKind.Softmax, Attrs(Attr.OfInt(AttrNames.Axis, (long)shape.Length - 1)), new[] { x }, Ops.Softmax(x, -1), Tolerance.Accumulation));
        }

        foreach (var shape in new[] { new[] { 1, 128, 256 }, new[] { 129, 100 }, new[] { 33, 7, 41 } })
        {
            var x = Rand(seed++, -3f, 5f, shape);
            var normalized = new[] { shape[^1] };
            var gamma = Rand(seed++, 0.5f, 1.5f, normalized);
            var beta = Rand(seed++, normalized);
            var attrs = Attrs(Attr.OfInt(AttrNames.Axis, (long)shape.Length - 1), Attr.OfFloat(AttrNames.Epsilon, 1e-5f));
            cases.Add(Case(S(shape), OpKind.LayerNorm, attrs, new[] { x, gamma, beta }, Ops.LayerNorm(x, gamma, beta, 1e-5f), Tolerance.Accumulation, weightMask: 6));
        }

        // Elementwise: rows split (broadcast row vector), a single flat row split into aligned chunks with a ragged
        // tail, a unary op with a transcendental vector form, and a fused chain of four operands.
        var a = Rand(seed++, 64, 1030);
        var row = Rand(seed++, 1030);
        cases.Add(Case("[64,1030] + [1030]", OpKind.Add, Attrs(), new[] { a, row }, Ops.Add(a, row), Tolerance.Elementwise));
        var flat1 = Rand(seed++, 50_001);
        var flat2 = Rand(seed++, 50_001);
        cases.Add(Case("[50001] * [50001]", OpKind.Mul, Attrs(), new[] { flat1, flat2 }, Ops.Mul(flat1, flat2), Tolerance.Elementwise));
        var s = Rand(seed++, -6f, 6f, 300, 257);
        cases.Add(Case("[300,257]", OpKind.Sigmoid, Attrs(), new[] { s }, Ops.Sigmoid(s), Tolerance.Elementwise));
        cases.Add(FusedChain(seed++));

        // Operand and result beyond the last-level cache: whole blocks written with non-temporal stores, rows of 4099
        // (not a whole number of blocks, so each row has a head and a tail block).
        var big = Rand(seed++, -6f, 6f, 2100, 4099);
        cases.Add(Case("[2100,4099] streamed", OpKind.Sigmoid, Attrs(), new[] { big }, Ops.Sigmoid(big), Tolerance.Elementwise));

        // Transposes of attention heads: rows copied whole ([0,2,1,3]) and element by element ([0,2,3,1]).
        var heads = Rand(seed++, 1, 128, 4, 64);
        foreach (var perm in new[] { new[] { 0, 2, 1, 3 }, new[] { 0, 2, 3, 1 } })
        {
            cases.Add(Case(S(perm), OpKind.Transpose, Attrs(Attr.OfInts(AttrNames.Perm, perm)), new[] { heads }, Ops.Transpose(heads, perm), Tolerance.Exact));
        }

        using var compiled = CompiledGraphs.Compile(cases.Select(c => c.Graph).ToArray());
        var failures = CheckAtOneAndTwoThreads(compiled, cases);
        Assert.True(failures.Length == 0, failures);
    }

    [Fact]
    public void Large_kernels_are_emitted_as_threaded_calls()
    {
        var x = Rand(1, 64, 1030);
        var graphs = new[]
        {
            Case("", OpKind.Softmax, Attrs(Attr.OfInt(AttrNames.Axis, 1L)), new[] { x }, x, Tolerance.Exact).Graph,
            Case("", OpKind.Relu, Attrs(), new[] { x }, x, Tolerance.Exact).Graph,
            Case("", OpKind.Relu, Attrs(), new[] { Rand(2, 10, 10) }, x, Tolerance.Exact).Graph,
            Case("", OpKind.Transpose, Attrs(Attr.OfInts(AttrNames.Perm, 1, 0)), new[] { x }, x, Tolerance.Exact).Graph,
            FusedChain(3).Graph,
            Case("", OpKind.Relu, Attrs(), new[] { Rand(4, 2100, 4099) }, x, Tolerance.Exact).Graph,
        };
        using var compiled = CompiledGraphs.Compile(graphs);
        Assert.Contains("RowKernels.Softmax(x0, y, 64, 1030, _pool);", compiled.Sources[0]);
        Assert.Contains("ParallelLoops.Elementwise(_pool, 65920, 64, 65920", compiled.Sources[1]);
        Assert.DoesNotContain("ParallelLoops", compiled.Sources[2]);
        Assert.Contains("ParallelLoops.Elementwise(_pool, 1030, 1, 65920", compiled.Sources[3]);

        // Vector512 blocks ahead of the Vector<float> loop; multiply-adds contracted; non-temporal stores only for
        // kernels whose operands and result exceed the last-level cache.
        Assert.Contains("if (global::System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)", compiled.Sources[4]);
        Assert.Contains("KernelMath.MultiplyAdd(", compiled.Sources[4]);
        Assert.DoesNotContain("StoreNonTemporal", compiled.Sources[4]);
        Assert.Contains("KernelMath.StoreNonTemporal(", compiled.Sources[5]);
        Assert.Contains("KernelMath.FenceNonTemporalStores();", compiled.Sources[5]);
        Assert.Contains("KernelMath.PrefetchLines(ref ry,", compiled.Sources[5]);
    }

    /// <summary>y = relu(x * a + b) * sigmoid(x) + c, a, b, c broadcast rows: the benchmark's elementwise chain.</summary>
    private static KernelCase FusedChain(int seed)
    {
        var x = Rand(seed++, 96, 1024);
        var (a, b, c) = (Rand(seed++, 1024), Rand(seed++, 1024), Rand(seed++, 1024));
        var g = new GraphBuilder("Chain");
        int ix = g.AddInput("x", TypeOf(x));
        int ia = g.AddWeight("a", TypeOf(a)), ib = g.AddWeight("b", TypeOf(b)), ic = g.AddWeight("c", TypeOf(c));
        int Add(OpKind op, params int[] inputs)
        {
            var result = g.TryAdd(op, inputs, Aot.Generator.IR.Attrs.None, out int id);
            if (result.Error is { } e) throw new InvalidOperationException(e.Message);
            return id;
        }

        int y = Add(OpKind.Add, Add(OpKind.Mul, Add(OpKind.Relu, Add(OpKind.Add, Add(OpKind.Mul, ix, ia), ib)), Add(OpKind.Sigmoid, ix)), ic);
        g.AddOutput(y);
        var graph = new EliminateDeadCode().Run(new FuseElementwise().Run(g.Build()));
        Assert.Contains(graph.Nodes, n => n.Op == OpKind.Fused);
        var expected = Ops.Add(Ops.Mul(Ops.Relu(Ops.Add(Ops.Mul(x, a), b)), Ops.Sigmoid(x)), c);
        return new KernelCase("fused chain [96,1024]", graph, new[] { a, b, c }, new[] { x }, expected, Tolerance.Elementwise);
    }

    /// <summary>Runs case i on compiled model i at 1 and 2 threads: each result must match the case's expected values,
    /// and the two must be bit-identical. The failures, one per line; empty when every case holds.</summary>
    internal static string CheckAtOneAndTwoThreads(CompiledGraphs compiled, IReadOnlyList<KernelCase> cases)
    {
        var failures = new StringBuilder();
        for (int i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var one = Run(compiled, i, c, threads: 1);
            var two = Run(compiled, i, c, threads: 2);
            if (CaseKit.Compare(c.Expected, one, c.Tolerance) is { } p1) failures.AppendLine($"{c.Name} at 1 thread: {p1}");
            if (CaseKit.Compare(c.Expected, two, c.Tolerance) is { } p2) failures.AppendLine($"{c.Name} at 2 threads: {p2}");
            var (f1, f2) = (one.Floats.ToArray(), two.Floats.ToArray());
            int differ = Enumerable.Range(0, f1.Length).Count(k => BitConverter.SingleToInt32Bits(f1[k]) != BitConverter.SingleToInt32Bits(f2[k]));
            if (differ > 0) failures.AppendLine($"{c.Name}: {differ} elements differ between 1 and 2 threads");
        }

        return failures.ToString();
    }

    /// <summary>Instantiates model <paramref name="index"/> for <paramref name="threads"/> threads and runs case <paramref name="c"/> on it.</summary>
    internal static Tensor Run(CompiledGraphs compiled, int index, KernelCase c, int threads)
    {
        var type = compiled.GetType(CompiledGraphs.ClassName(index));
        var model = Activator.CreateInstance(type)!;
        for (int j = 0; j < c.Weights.Length; j++) type.GetField(CompiledGraphs.WeightMember(j))!.SetValue(model, c.Weights[j]);
        using var instance = (IDisposable)CompiledGraphs.Unwrap(() => type.GetMethod("Compile")!.Invoke(model, new object[] { threads }))!;
        var run = instance.GetType().GetMethod("Run", c.Inputs.Select(_ => typeof(Tensor)).ToArray())!;
        return (Tensor)CompiledGraphs.Unwrap(() => run.Invoke(instance, c.Inputs.Cast<object>().ToArray()))!;
    }
}
