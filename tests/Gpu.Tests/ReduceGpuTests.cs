using Aot.Generator.Backends.Gpu;
using Aot.Dsl;
using Aot.Generator.IR;
using static Aot.Tests.Shared.CaseKit;
using static Gpu.Tests.Cases;

namespace Gpu.Tests;

/// <summary>Reductions, Softmax and LayerNorm on both kernel shapes: one thread per row/output (short rows, or
/// strided reductions with many outputs) and one group per row/output with a tree reduction.</summary>
[Collection(GpuCollection.Name)]
public class ReduceGpuTests
{
    private readonly GpuFixture _gpu;

    public ReduceGpuTests(GpuFixture gpu) => _gpu = gpu;

    [Fact]
    public void Reductions_match_the_reference_for_any_axes_and_keepdims()
    {
        var configs = new (int[] Shape, int[] Axes, bool Keep)[]
        {
            (new[] { 3, 17, 33 }, new[] { -1 }, false),        // 33 per output: a group each
            (new[] { 3, 17, 33 }, new[] { 0 }, true),          // 3 per output: a thread each
            (new[] { 3, 17, 33 }, new[] { 1 }, false),
            (new[] { 3, 17, 33 }, new[] { 0, -1 }, true),      // 99 per output, strided
            (new[] { 3, 17, 33 }, new[] { 0, 1, 2 }, false),   // everything into one value
            (new[] { 33 }, new[] { 0 }, false),
            (new[] { 17, 1, 3 }, new[] { -2 }, true),
            (new[] { 1, 33, 17, 3 }, new[] { 1, 3 }, false),
            (new[] { 40, 20, 9 }, new[] { 0 }, false),         // strided, 180 outputs
            (new[] { 40, 300 }, new[] { 0 }, false),           // strided with 300 outputs: a thread each
            (new[] { 2, 1000 }, new[] { 1 }, false),           // long rows: groups of 256
        };
        var ops = new (OpKind Op, Func<Tensor, int[], bool, Tensor> Reference)[]
        {
            (OpKind.ReduceSum, Ops.ReduceSum),
            (OpKind.ReduceMean, Ops.ReduceMean),
            (OpKind.ReduceMax, Ops.ReduceMax),
        };
        var cases = new List<KernelCase>();
        int seed = 500;
        foreach (var (op, reference) in ops)
        {
            foreach (var (shape, axes, keep) in configs)
            {
                var x = Rand(seed++, shape);
                var normalized = axes.Select(a => a < 0 ? a + shape.Length : a).OrderBy(a => a).ToArray();
                var attrs = Attrs(Attr.OfInts(AttrNames.Axes, normalized), Attr.OfInt(AttrNames.KeepDims, keep ? 1L : 0L));
                cases.Add(Case($"{S(shape)} axes {S(axes)} keepdims {keep}", op, attrs, new[] { x }, reference(x, axes, keep), Tolerance.Accumulation));
            }
        }

        // Sum and mean over an empty axis: 0 and NaN (0 / 0), as the reference computes them; max propagates NaN.
        var empty = Rand(1, 3, 0);
        var emptyAttrs = Attrs(Attr.OfInts(AttrNames.Axes, 1), Attr.OfInt(AttrNames.KeepDims, 0L));
        cases.Add(Case("[3,0] axes [1]", OpKind.ReduceSum, emptyAttrs, new[] { empty }, Ops.ReduceSum(empty, 1), Tolerance.Accumulation));
        cases.Add(Case("[3,0] axes [1]", OpKind.ReduceMean, emptyAttrs, new[] { empty }, Ops.ReduceMean(empty, 1), Tolerance.Accumulation));
        var withNaN = Rand(2, 2, 40);
        withNaN.Floats[17] = float.NaN;
        cases.Add(Case("NaN", OpKind.ReduceMax, emptyAttrs, new[] { withNaN }, Ops.ReduceMax(withNaN, 1), Tolerance.Exact));
        Check(_gpu.Accelerator, cases);
    }

    [Fact]
    public void Softmax_matches_the_reference_on_every_axis_and_row_length()
    {
        var configs = new (int[] Shape, int Axis)[]
        {
            (new[] { 17, 33 }, -1),     // a warp per row (a group per row without warp rows)
            (new[] { 3, 17, 33 }, 1),   // short strided rows: a thread per row
            (new[] { 3, 17, 33 }, 0),
            (new[] { 3, 40, 5 }, 1),    // long strided rows: a group per row
            (new[] { 33 }, 0),
            (new[] { 1 }, 0),
            (new[] { 3, 1, 17 }, 1),
            (new[] { 2, 700 }, 1),      // a warp per row, 22 elements per lane (groups of 256 without warp rows)
            (new[] { 0, 17 }, 1),
            (new[] { 3, 1500 }, 1),     // longer than a warp keeps in registers: a group per row
            (new[] { 2, 5000 }, 1),     // longer than a group keeps in registers
            (new[] { 37, 512 }, 1),     // attention-score rows: a warp per row, rows not a multiple of the warps per group
        };
        var cases = new List<KernelCase>();
        int seed = 600;
        foreach (var (shape, axis) in configs)
        {
            var x = Rand(seed++, -8f, 8f, shape);
            int normalized = axis < 0 ? axis + shape.Length : axis;
            cases.Add(Case($"{S(shape)} axis {axis}", OpKind.Softmax, Attrs(Attr.OfInt(AttrNames.Axis, (long)normalized)), new[] { x }, Ops.Softmax(x, axis), Tolerance.Accumulation));
        }

        Check(_gpu.Accelerator, cases);
        Check(_gpu.Accelerator, cases, GpuTarget.H100 with { WarpRowReductions = false });
    }

    [Fact]
    public void LayerNorm_matches_the_reference_over_trailing_axes()
    {
        var configs = new (int[] Shape, int Axis, float Epsilon)[]
        {
            (new[] { 3, 17, 33 }, 2, 1e-5f),   // rows of 33: groups
            (new[] { 3, 17, 33 }, 1, 1e-3f),   // rows of 561
            (new[] { 33 }, 0, 1e-5f),
            (new[] { 17, 1 }, 1, 1e-5f),       // rows of 1: threads
            (new[] { 1, 3 }, 0, 1e-6f),
            (new[] { 5, 17 }, 1, 1e-5f),       // rows of 17: threads
            (new[] { 2, 768 }, 1, 1e-5f),      // a transformer width: a warp per row (groups of 256 without warp rows)
            (new[] { 2, 1100 }, 1, 1e-5f),     // longer than a warp keeps in registers: a group per row
            (new[] { 2, 5000 }, 1, 1e-5f),     // longer than a group keeps in registers
        };
        var cases = new List<KernelCase>();
        int seed = 700;
        foreach (var (shape, axis, eps) in configs)
        {
            var x = Rand(seed++, -3f, 5f, shape);
            var normalized = shape.Skip(axis).ToArray();
            var gamma = Rand(seed++, 0.5f, 1.5f, normalized);
            var beta = Rand(seed++, normalized);
            var attrs = Attrs(Attr.OfInt(AttrNames.Axis, (long)axis), Attr.OfFloat(AttrNames.Epsilon, eps));
            cases.Add(Case($"{S(shape)} axis {axis} eps {eps}", OpKind.LayerNorm, attrs, new[] { x, gamma, beta }, Ops.LayerNorm(x, gamma, beta, eps), Tolerance.Accumulation, weightMask: 6));
        }

        Check(_gpu.Accelerator, cases);
        Check(_gpu.Accelerator, cases, GpuTarget.H100 with { WarpRowReductions = false });
    }
}
