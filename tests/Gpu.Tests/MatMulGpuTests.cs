using Aot.Dsl;
using Aot.Generator.Backends.Gpu;
using Aot.Generator.IR;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;
using static Aot.Tests.Shared.CaseKit;
using static Gpu.Tests.Cases;

namespace Gpu.Tests;

[Collection(GpuCollection.Name)]
public class MatMulGpuTests
{
    private readonly GpuFixture _gpu;

    public MatMulGpuTests(GpuFixture gpu) => _gpu = gpu;

    [Fact]
    public void MatMul_matches_the_reference_for_batched_broadcast_rank1_and_odd_sizes()
    {
        var shapes = new (int[] A, int[] B)[]
        {
            (new[] { 3, 17 }, new[] { 17, 33 }),
            (new[] { 1, 1 }, new[] { 1, 1 }),
            (new[] { 33, 17 }, new[] { 17, 1 }),
            (new[] { 17, 33 }, new[] { 33, 3 }),
            (new[] { 17 }, new[] { 17, 33 }),             // rank-1 left
            (new[] { 3, 17 }, new[] { 17 }),              // rank-1 right
            (new[] { 33 }, new[] { 33 }),                 // both rank 1: a scalar
            (new[] { 3, 17, 33 }, new[] { 33, 3 }),       // batch on the left only
            (new[] { 17 }, new[] { 3, 17, 33 }),          // rank-1 left against a batch
            (new[] { 3, 1, 3, 17 }, new[] { 17, 17, 33 }), // batches [3, 1] and [17] broadcast to [3, 17]
            (new[] { 2, 3, 5, 17 }, new[] { 2, 3, 17, 9 }), // plain batched (attention-like)
            (new[] { 1, 3, 17 }, new[] { 3, 17, 1 }),
            (new[] { 3, 0 }, new[] { 0, 17 }),            // k = 0: zeros
            (new[] { 0, 3 }, new[] { 3, 17 }),            // empty result
            (new[] { 65, 40 }, new[] { 40, 70 }),         // several tiles with edges
        };
        var cases = new List<KernelCase>();
        int seed = 300;
        foreach (var (aShape, bShape) in shapes)
        {
            var a = Rand(seed++, aShape);
            var b = Rand(seed++, bShape);
            cases.Add(Case($"{S(aShape)} @ {S(bShape)}", OpKind.MatMul, Aot.Generator.IR.Attrs.None, new[] { a, b }, Ops.MatMul(a, b), Tolerance.Accumulation, weightMask: seed % 4 == 0 ? 2 : 0));
        }

        Check(_gpu.Accelerator, cases);
    }

    [Fact]
    public void Gemm_matches_the_reference_for_every_transpose_alpha_beta_and_bias_shape()
    {
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
            (1, 100, 70, false, true, new[] { 70 }, 1f, 1f), // a batch-1 Linear layer: skinny tiles
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
            string name = $"m{m} k{k} n{n} transA {ta} transB {tb} C {(cShape is null ? "none" : S(cShape))} alpha {alpha} beta {beta}";
            cases.Add(Case(name, OpKind.Gemm, attrs, operands, Ops.Gemm(a, b, c, alpha, beta, ta, tb), Tolerance.Accumulation, weightMask: seed % 2 == 0 ? 6 : 0));
        }

        Check(_gpu.Accelerator, cases);
    }

    /// <summary>
    /// Every tile shape the cost model can pick (from 128 x 128 with 8 x 8 per thread down to the skinny ones), forced
    /// on sizes that are multiples of no tile (m 37, n 35, k 19: partial tiles on every edge and a partial K step), with
    /// both operand layouts, so the kernel that runs on a large problem is checked on the CPU accelerator too.
    /// </summary>
    [Fact]
    public void Every_gemm_tile_shape_handles_partial_tiles_and_transposes()
    {
        var failures = new List<string>();
        int seed = 500;
        foreach (var tile in GpuTiling.Candidates)
        {
            var target = GpuTarget.H100 with { ForcedTile = tile };
            var a = Rand(seed++, 37, 19);
            var bt = Rand(seed++, 35, 19);
            var c = Rand(seed++, 35);
            var attrs = Attrs(Attr.OfFloat(AttrNames.Alpha, 1f), Attr.OfFloat(AttrNames.Beta, 1f), Attr.OfInt(AttrNames.TransA, 0L), Attr.OfInt(AttrNames.TransB, 1L));
            var at = Rand(seed++, 19, 37);
            var b = Rand(seed++, 19, 35);
            var attrsT = Attrs(Attr.OfFloat(AttrNames.Alpha, 1f), Attr.OfFloat(AttrNames.Beta, 1f), Attr.OfInt(AttrNames.TransA, 1L), Attr.OfInt(AttrNames.TransB, 0L));
            var cases = new[]
            {
                Case($"{tile} A @ B^T + c", OpKind.Gemm, attrs, new[] { a, bt, c }, Ops.Gemm(a, bt, c, transB: true), Tolerance.Accumulation),
                Case($"{tile} A^T @ B", OpKind.Gemm, attrsT, new[] { at, b }, Ops.Gemm(at, b, null, transA: true), Tolerance.Accumulation),
            };
            try
            {
                Check(_gpu.Accelerator, cases, target);
            }
            catch (Exception e)
            {
                failures.Add(e.Message);
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>
    /// Attention's data movement without copies: the head split (Transposes of an input and of a weight), kᵀ and its
    /// transpose back (a chain of Transposes) are read by the batched MatMuls through strides, the scale folds into the
    /// scores' epilogue, a bias along the last axis and residuals fold into batched MatMuls' epilogues, and the last
    /// MatMul writes the merged [B, S, H, Dh] layout itself. Everything matches the eager reference.
    /// </summary>
    [Fact]
    public void Attention_products_read_and_write_transposes_with_strides_and_apply_epilogues()
    {
        const int b = 2, s = 12, h = 3, dh = 8, d = h * dh;
        var xq = Rand(501, b, s, d);
        var xk = Rand(502, b, s, d);
        var xv = Rand(503, b, s, d);
        var bias = Rand(504, dh);
        var residual = Rand(505, b, h, s, dh);
        var g = new GraphBuilder("Attention");
        int Q = g.AddInput("q", CaseKit.TypeOf(xq));
        int K = g.AddInput("k", CaseKit.TypeOf(xk));
        int V = g.AddWeight("v", CaseKit.TypeOf(xv));
        int Bias = g.AddWeight("bias", CaseKit.TypeOf(bias));
        int R = g.AddInput("r", CaseKit.TypeOf(residual));
        int N(OpKind op, Attrs attrs, params int[] inputs)
        {
            var r = g.TryAdd(op, inputs, attrs, out int id);
            if (r.Error is { } e) throw new InvalidOperationException(e.Message);
            return id;
        }

        var none = Aot.Generator.IR.Attrs.None;
        int T(int x, params int[] perm) => N(OpKind.Transpose, Attrs(Attr.OfInts(AttrNames.Perm, perm)), x);
        int Heads(int x) => T(N(OpKind.Reshape, Attrs(Attr.OfInts(AttrNames.Shape, b, s, h, dh)), x), 0, 2, 1, 3);
        int q = Heads(Q), k = Heads(K), v = Heads(V);
        int kt = T(k, 0, 1, 3, 2);
        int p = N(OpKind.Softmax, Attrs(Attr.OfInt(AttrNames.Axis, 3L)),
            N(OpKind.Mul, none, N(OpKind.MatMul, none, q, kt), N(OpKind.Constant, Attrs(Attr.OfFloat(AttrNames.Value, 0.25f)))));
        int u = N(OpKind.Add, none, N(OpKind.Add, none, N(OpKind.MatMul, none, p, T(kt, 0, 1, 3, 2)), Bias), R);
        int ctx = N(OpKind.Add, none, N(OpKind.MatMul, none, p, v), N(OpKind.Softmax, Attrs(Attr.OfInt(AttrNames.Axis, 3L)), u));
        g.AddOutput(N(OpKind.Reshape, Attrs(Attr.OfInts(AttrNames.Shape, b, s, d)), T(ctx, 0, 2, 1, 3)));
        var graph = g.Build();

        Tensor EHeads(Tensor x) => Ops.Transpose(Ops.Reshape(x, b, s, h, dh), 0, 2, 1, 3);
        var ekt = Ops.Transpose(EHeads(xk), 0, 1, 3, 2);
        var ep = Ops.Softmax(Ops.Mul(Ops.MatMul(EHeads(xq), ekt), 0.25f), 3);
        var eu = Ops.Add(Ops.Add(Ops.MatMul(ep, Ops.Transpose(ekt, 0, 1, 3, 2)), bias), residual);
        var ectx = Ops.Add(Ops.MatMul(ep, EHeads(xv)), Ops.Softmax(eu, 3));
        var expected = Ops.Reshape(Ops.Transpose(ectx, 0, 2, 1, 3), b, s, d);

        var compiled = GpuCompiledGraphs.Compile(new[] { graph });
        string source = compiled.Sources[0];
        Assert.Contains("5 Transpose(s) folded", source); // the sixth, kᵀ transposed back, cancels in SimplifyAlgebra
        Assert.Contains("result written with strides", source);
        // (A product reading a caller's view 128 bits at a time also has a _Scalar variant for unaligned views.)
        var kernels = compiled.KernelMethods().Select(m => m.Name).Where(n => !n.EndsWith("_Scalar")).OrderBy(n => n).ToArray();
        // 3 MatMuls, 2 Softmaxes and the copy of the output Reshape: no Transpose, Mul, Constant or Add.
        Assert.Equal("K0_MatMul, K1_Softmax, K2_MatMul, K3_Softmax, K4_MatMul, K5_Reshape", string.Join(", ", kernels));
        Assert.Null(Compare(expected, compiled.Run(0, new[] { xv, bias }, new[] { xq, xk, residual }, _gpu.Accelerator), Tolerance.Accumulation));
    }

    /// <summary>A product that reads the caller's input 128 bits at a time takes its scalar variant when the caller's
    /// device view does not start on a 16-byte boundary (same results); an aligned view the vectorized kernel.</summary>
    [Fact]
    public void A_product_reading_an_unaligned_device_view_takes_the_scalar_variant()
    {
        var x = Rand(811, 6, 20);
        var w = Rand(812, 20, 12);
        var g = new GraphBuilder("UnalignedProduct");
        int X = g.AddInput("x", TypeOf(x));
        int W = g.AddWeight("w", TypeOf(w));
        var added = g.TryAdd(OpKind.MatMul, new[] { X, W }, Aot.Generator.IR.Attrs.None, out int y);
        Assert.Null(added.Error);
        g.AddOutput(y);
        var compiled = GpuCompiledGraphs.Compile(new[] { g.Build() });
        Assert.Contains("IsAligned(input0, 16)", compiled.Sources[0]);
        var expected = Ops.MatMul(x, w);
        var acc = _gpu.Accelerator;
        using var model = compiled.Instantiate(0, new[] { w }, acc);
        var run = model.GetType().GetMethod("Run", new[] { typeof(ILGPU.ArrayView<float>), typeof(ILGPU.ArrayView<float>) })!;
        var sync = model.GetType().GetMethod("Synchronize")!;
        using var xb = acc.Allocate1D<float>(x.Length + 1);
        using var yb = acc.Allocate1D<float>(expected.Length);
        foreach (int shift in new[] { 0, 1 })
        {
            ILGPU.ArrayView<float> xv = xb.View.SubView(shift, x.Length);
            xv.CopyFromCPU(x.Floats.ToArray());
            Assert.Equal(shift == 0, Aot.Runtime.Gpu.GpuRuntime.IsAligned(xv, 16));
            GpuCompiledGraphs.Unwrap(() => run.Invoke(model, new object[] { xv, (ILGPU.ArrayView<float>)yb.View }));
            sync.Invoke(model, null);
            var field = model.GetType().GetField("_k0Scalar", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
            Assert.Equal(shift == 1, field.GetValue(model) is not null); // loaded on first need only
            Assert.Null(Compare(expected, Tensor.FromArray(yb.View.GetAsArray1D(), 6, 12), Tolerance.Accumulation));
        }
    }

    /// <summary>
    /// The micro-tile of a tile with TM and TN multiples of 4 reads shared memory 128 bits at a time: per K step of the
    /// 128 x 128 x 8 tile, 8 x (2 + 2) <c>ld.shared.v4.f32</c> and no scalar shared load; results match on edges too
    /// (rows and columns that are not multiples of the tile, nor of 4). A (40 columns) is read from global memory 128
    /// bits at a time, one vector per thread and K step; B (133 columns) cannot be. Without the options, scalar code.
    /// </summary>
    [Fact]
    public void The_vectorized_GEMM_reads_shared_and_global_memory_128_bits_at_a_time()
    {
        var a = Rand(801, 130, 40);
        var b = Rand(802, 40, 133);
        var tile = new GemmTile(128, 128, 8, 8, 8);
        var cases = new[] { Case("130x40 @ 40x133", OpKind.MatMul, Aot.Generator.IR.Attrs.None, new[] { a, b }, Ops.MatMul(a, b), Tolerance.Accumulation) };
        foreach (bool vector in new[] { true, false })
        {
            var target = GpuTarget.H100 with { ForcedTile = tile, VectorizeGemmShared = vector, VectorizeGemmLoads = vector };
            Check(_gpu.Accelerator, cases, target);
            var compiled = GpuCompiledGraphs.Compile(cases.Select(c => c.Graph).ToArray(), target: target);
            using var backend = new PTXBackend(_gpu.Context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null);
            string ptx = ((PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(compiled.KernelMethods().Single(m => !m.Name.EndsWith("_Scalar"))), default)).PTXAssembly;
            if (Environment.GetEnvironmentVariable("AOT_PTX_DUMP") is { Length: > 0 } dump) File.WriteAllText(Path.Combine(dump, $"MicroTile{(vector ? "Vector" : "Scalar")}.ptx"), ptx);
            int v4 = CountOf(ptx, "ld.shared.v4.f32"), scalar = CountOf(ptx, "ld.shared.f32");
            int globalV4 = CountOf(ptx, "ld.v4.f32"); // ILGPU reads global memory with generic-address loads
            if (vector)
            {
                Assert.Equal(8 * (2 + 2), v4);
                Assert.Equal(0, scalar);
                Assert.Equal(2, globalV4); // K step 0 and the loop's prefetch
            }
            else
            {
                Assert.Equal(0, v4);
                Assert.Equal(8 * (8 + 8), scalar);
                Assert.Equal(0, globalV4);
            }
        }
    }

    private static int CountOf(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
