using Aot.Dsl;
using Aot.Generator.Backends.Gpu;
using Aot.Generator.IR;
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
}
