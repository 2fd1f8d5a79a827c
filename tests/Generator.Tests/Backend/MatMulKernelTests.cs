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
    /// Attention through the CPU pipeline: the head splits of q, k and v, kᵀ and the head merge are
    /// read or written by the products through strides (no copy), the scaled QKᵀ writes nothing transposed; the
    /// product whose result feeds the head merge but has a non-scale epilogue (+ gate) keeps its dense result
    /// and the merge is a copy. The result matches the eager reference.
    /// </summary>
    [Fact]
    public void Attention_products_read_and_write_head_transposes_through_strides()
    {
        // Small heads run the strided product loops; larger ones the GEMM (Sgemm.MultiplyStrided).
        foreach (var (s, h, dh, gemm) in new[] { (12, 3, 8, false), (40, 2, 16, true) })
        {
            const int b = 2;
            int d = h * dh;
            var xq = Rand(501, b, s, d);
            var xk = Rand(502, b, s, d);
            var xv = Rand(503, b, s, d);
            var xg = Rand(504, b, h, s, dh);
            var g = new GraphBuilder("Attention");
            int Q = g.AddInput("q", TypeOf(xq));
            int K = g.AddInput("k", TypeOf(xk));
            int V = g.AddInput("v", TypeOf(xv));
            int G = g.AddInput("gate", TypeOf(xg));
            int N(OpKind op, Attrs attrs, params int[] inputs)
            {
                var r = g.TryAdd(op, inputs, attrs, out int id);
                if (r.Error is { } e) throw new InvalidOperationException(e.Message);
                return id;
            }

            var none = Aot.Generator.IR.Attrs.None;
            int T(int x, params int[] perm) => N(OpKind.Transpose, Aot.Generator.IR.Attrs.Of(Attr.OfInts(AttrNames.Perm, perm)), x);
            int Heads(int x) => T(N(OpKind.Reshape, Aot.Generator.IR.Attrs.Of(Attr.OfInts(AttrNames.Shape, b, s, h, dh)), x), 0, 2, 1, 3);
            int Merge(int x) => N(OpKind.Reshape, Aot.Generator.IR.Attrs.Of(Attr.OfInts(AttrNames.Shape, b, s, d)), T(x, 0, 2, 1, 3));
            int q = Heads(Q), k = Heads(K), v = Heads(V);
            int scores = N(OpKind.Mul, none, N(OpKind.MatMul, none, q, T(k, 0, 1, 3, 2)), N(OpKind.Constant, Aot.Generator.IR.Attrs.Of(Attr.OfFloat(AttrNames.Value, 0.25f))));
            int p = N(OpKind.Softmax, Aot.Generator.IR.Attrs.Of(Attr.OfInt(AttrNames.Axis, 3L)), scores);
            int gated = N(OpKind.Add, none, N(OpKind.MatMul, none, p, k), G);
            g.AddOutput(N(OpKind.Add, none, Merge(N(OpKind.MatMul, none, p, v)), Merge(gated)));
            var graph = PassPipeline.Run(g.Build(), new HashSet<string>(), null, CancellationToken.None, PassPipeline.CpuPasses);

            Tensor EHeads(Tensor x) => Ops.Transpose(Ops.Reshape(x, b, s, h, dh), 0, 2, 1, 3);
            Tensor EMerge(Tensor x) => Ops.Reshape(Ops.Transpose(x, 0, 2, 1, 3), b, s, d);
            var ep = Ops.Softmax(Ops.Mul(Ops.MatMul(EHeads(xq), Ops.Transpose(EHeads(xk), 0, 1, 3, 2)), 0.25f), 3);
            var expected = Ops.Add(EMerge(Ops.MatMul(ep, EHeads(xv))), EMerge(Ops.Add(Ops.MatMul(ep, EHeads(xk)), xg)));

            using var compiled = CompiledGraphs.Compile(new[] { graph });
            string source = compiled.Sources[0];
            int folded = source.Split("folded into the strides").Length - 1;
            Assert.True(folded == 5, $"{folded} Transposes folded (q, k, kᵀ, v and one merge expected):\n{source}");
            Assert.Equal(gemm, source.Contains("MultiplyStrided"));
            Assert.Contains("Transpose x0", source); // the merge of the product with a non-scale epilogue is a copy
            Assert.True(Compare(expected, compiled.Run(0, Array.Empty<Tensor>(), new[] { xq, xk, xv, xg }), Tolerance.Accumulation) is null, $"s {s}: {Compare(expected, compiled.Run(0, Array.Empty<Tensor>(), new[] { xq, xk, xv, xg }), Tolerance.Accumulation)}\n{source}");
        }
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
