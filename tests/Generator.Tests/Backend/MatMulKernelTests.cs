using Aot.Dsl;
using Aot.Generator.IR;
using Aot.Generator.Passes;
using static Aot.Tests.Shared.CaseKit;
using static Generator.Tests.Backend.Kernel;

namespace Generator.Tests.Backend;

public class MatMulKernelTests
{
    [Fact]
    public void MatMul_matches_the_reference_for_batched_broadcast_and_rank1_operands()
    {
        var shapes = new (int[] A, int[] B)[]
        {
            (new[] { 3, 17 }, new[] { 17, 33 }),
            (new[] { 1, 1 }, new[] { 1, 1 }),
            (new[] { 33, 17 }, new[] { 17, 1 }),          // one column: dot-product path
            (new[] { 17, 33 }, new[] { 33, 3 }),
            (new[] { 17 }, new[] { 17, 33 }),             // rank-1 left
            (new[] { 3, 17 }, new[] { 17 }),              // rank-1 right
            (new[] { 33 }, new[] { 33 }),                 // both rank 1: a scalar
            (new[] { 3, 17, 33 }, new[] { 33, 3 }),       // batch on the left only
            (new[] { 17 }, new[] { 3, 17, 33 }),          // rank-1 left against a batch
            (new[] { 3, 1, 3, 17 }, new[] { 17, 17, 33 }), // batches [3, 1] and [17] broadcast to [3, 17]
            (new[] { 1, 3, 17 }, new[] { 3, 17, 1 }),
            (new[] { 3, 0 }, new[] { 0, 17 }),            // k = 0: zeros
            (new[] { 0, 3 }, new[] { 3, 17 }),            // empty result
        };
        var cases = new List<KernelCase>();
        int seed = 300;
        foreach (var (aShape, bShape) in shapes)
        {
            var a = Rand(seed++, aShape);
            var b = Rand(seed++, bShape);
            string name = $"[{string.Join(",", aShape)}] @ [{string.Join(",", bShape)}]";
            cases.Add(Case(name, OpKind.MatMul, Aot.Generator.IR.Attrs.None, new[] { a, b }, Ops.MatMul(a, b), Tolerance.Accumulation, weightMask: seed % 4 == 0 ? 2 : 0));
        }

        Check(cases);
    }

    [Fact]
    public void Large_MatMuls_of_activations_run_on_the_GEMM_and_match_the_reference()
    {
        // Past MinUnpackedGemmMacs: B is packed at run time (row tiles of 1-6, narrow last panels, broadcast batches).
        var shapes = new (int[] A, int[] B)[]
        {
            (new[] { 1, 4, 33, 64 }, new[] { 1, 4, 64, 70 }), // attention-like, batched
            (new[] { 3, 1, 20, 40 }, new[] { 2, 40, 33 }),    // batches [3, 1] and [2] broadcast to [3, 2]
            (new[] { 2, 64 }, new[] { 64, 130 }),             // two rows
            (new[] { 100, 20 }, new[] { 20, 9 }),             // one partial panel
        };
        var cases = new List<KernelCase>();
        int seed = 350;
        foreach (var (aShape, bShape) in shapes)
        {
            var a = Rand(seed++, aShape);
            var b = Rand(seed++, bShape);
            cases.Add(Case($"[{string.Join(",", aShape)}] @ [{string.Join(",", bShape)}]", OpKind.MatMul, Aot.Generator.IR.Attrs.None, new[] { a, b }, Ops.MatMul(a, b), Tolerance.Accumulation));
        }

        Check(cases);
    }

    /// <summary>
    /// A product's epilogue runs in place over its result (y is an operand of the epilogue's kernel too). Rows of 20
    /// that start off a 64-byte boundary make the vector loop's first and last blocks overlap their neighbours: each
    /// block must read y before any of them writes it (an earlier version added the bias twice to the overlap).
    /// </summary>
    [Fact]
    public void An_epilogue_in_place_over_rows_that_start_mid_line_adds_once()
    {
        var x = Rand(601, 9, 7);
        var w = Rand(602, 7, 20);
        var bias = Rand(603, 20);
        var g = new GraphBuilder("InPlace");
        int X = g.AddInput("x", TypeOf(x));
        int W = g.AddInput("w", TypeOf(w));
        int B = g.AddInput("bias", TypeOf(bias));
        g.TryAdd(OpKind.MatMul, new[] { X, W }, Aot.Generator.IR.Attrs.None, out int product);
        g.TryAdd(OpKind.Add, new[] { product, B }, Aot.Generator.IR.Attrs.None, out int y);
        g.AddOutput(y);
        var graph = PassPipeline.Run(g.Build(), new HashSet<string>(), null, CancellationToken.None, PassPipeline.CpuPasses);
        Assert.Contains(graph.Nodes, n => n.Op == OpKind.MatMul && Epilogue.Has(n));

        using var compiled = CompiledGraphs.Compile(new[] { graph });
        Assert.Contains("epilogue, in place over y", compiled.Sources[0]);
        Assert.Null(Compare(Ops.Add(Ops.MatMul(x, w), bias), compiled.Run(0, Array.Empty<Tensor>(), new[] { x, w, bias }), Tolerance.Accumulation));
    }

    [Fact]
    public void Gemm_matches_the_reference_for_every_transpose_and_bias_shape()
    {
        // (m, k, n, transA, transB, bias shape or null, alpha, beta)
        var configs = new (int M, int K, int N, bool TA, bool TB, int[]? C, float Alpha, float Beta)[]
        {
            (3, 17, 33, false, false, new[] { 33 }, 1f, 1f),
            (17, 33, 3, true, false, new[] { 17, 1 }, 0.5f, 2f),
            (33, 17, 17, false, true, new[] { 33, 17 }, -1.5f, 0.25f),
            (3, 3, 1, true, true, null, 1f, 1f),
            (1, 33, 1, false, true, new int[0], 1f, -1f),
            (17, 1, 3, false, false, new[] { 1, 3 }, 2f, 1f),
            (33, 33, 17, true, true, new[] { 17 }, 1f, 0.5f),
            (1, 17, 33, false, true, new[] { 1, 33 }, 1f, 1f),
            (3, 0, 17, false, false, new[] { 17 }, 1f, 1f),
            (1, 1, 1, true, false, new[] { 1, 1 }, 3f, 0f),
        };
        var cases = new List<KernelCase>();
        int seed = 400;
        foreach (var (m, k, n, ta, tb, cShape, alpha, beta) in configs)
        {
            var a = Rand(seed++, ta ? new[] { k, m } : new[] { m, k });
            var b = Rand(seed++, tb ? new[] { n, k } : new[] { k, n });
            var c = cShape is null ? null : Rand(seed++, cShape);
            var attrs = Attrs(
                Attr.OfFloat(AttrNames.Alpha, alpha), Attr.OfFloat(AttrNames.Beta, beta),
                Attr.OfInt(AttrNames.TransA, ta ? 1L : 0L), Attr.OfInt(AttrNames.TransB, tb ? 1L : 0L));
            var operands = c is null ? new[] { a, b } : new[] { a, b, c };
            string name = $"m{m} k{k} n{n} transA {ta} transB {tb} C [{(cShape is null ? "none" : string.Join(",", cShape))}] alpha {alpha} beta {beta}";
            cases.Add(Case(name, OpKind.Gemm, attrs, operands, Ops.Gemm(a, b, c, alpha, beta, ta, tb), Tolerance.Accumulation, weightMask: seed % 2 == 0 ? 6 : 0));
        }

        Check(cases);
    }
}
