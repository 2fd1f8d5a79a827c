using Aot.Dsl;
using Aot.Generator.IR;
using static Gpu.Tests.Cases;

namespace Gpu.Tests;

[Collection(GpuCollection.Name)]
public class MovementGpuTests
{
    private readonly GpuFixture _gpu;

    public MovementGpuTests(GpuFixture gpu) => _gpu = gpu;

    private static Tensor Ints(int seed, int low, int high, params int[] shape)
    {
        var r = Tensor.Random(seed, low, high, shape).Floats.ToArray();
        return Tensor.FromArray(r.Select(v => (int)MathF.Floor(v)).ToArray(), shape);
    }

    [Fact]
    public void Reshape_Transpose_Concat_Slice_match_the_reference()
    {
        var cases = new List<GpuCase>();
        int seed = 800;

        // Reshape as the graph output is a real copy (elsewhere PlanMemory makes it an alias).
        foreach (var (from, to) in new[] { (new[] { 3, 17, 33 }, new[] { 33, 51 }), (new[] { 1 }, new int[0]), (new[] { 0, 3 }, new[] { 3, 0 }) })
        {
            var x = Rand(seed++, from);
            cases.Add(Case($"{S(from)} -> {S(to)}", OpKind.Reshape, Attrs(Attr.OfInts(AttrNames.Shape, to)), new[] { x }, Ops.Reshape(x, to), Tolerance.Exact));
        }

        foreach (var (shape, perm) in new[]
        {
            (new[] { 3, 17, 33 }, new[] { 2, 0, 1 }),
            (new[] { 3, 17, 33 }, new[] { 1, 0, 2 }),
            (new[] { 3, 17, 33 }, new[] { 0, 2, 1 }),
            (new[] { 17, 33 }, new[] { 1, 0 }),
            (new[] { 33 }, new[] { 0 }),
            (new int[0], new int[0]),
            (new[] { 1, 3, 1, 17 }, new[] { 3, 2, 1, 0 }),
            (new[] { 3, 0, 17 }, new[] { 2, 1, 0 }),
        })
        {
            var x = Rand(seed++, shape);
            cases.Add(Case($"{S(shape)} perm {S(perm)}", OpKind.Transpose, Attrs(Attr.OfInts(AttrNames.Perm, perm)), new[] { x }, Ops.Transpose(x, perm), Tolerance.Exact, weightMask: seed % 2));
        }

        var ints = Ints(seed++, -100, 100, 3, 17);
        cases.Add(Case("int32 [3,17] perm [1,0]", OpKind.Transpose, Attrs(Attr.OfInts(AttrNames.Perm, 1, 0)), new[] { ints }, Ops.Transpose(ints, 1, 0), Tolerance.Exact));

        foreach (var (shapes, axis) in new[]
        {
            (new[] { new[] { 3, 17 }, new[] { 3, 1 }, new[] { 3, 33 } }, 1),
            (new[] { new[] { 1, 17 }, new[] { 3, 17 }, new[] { 1, 17 } }, 0),
            (new[] { new[] { 3, 0, 2 }, new[] { 3, 1, 2 }, new[] { 3, 17, 2 } }, 1),
            (new[] { new[] { 2, 3, 4 } }, 2),
            (new[] { new[] { 17, 3, 1 }, new[] { 17, 3, 33 } }, -1),
        })
        {
            var xs = shapes.Select(s => Rand(seed++, s)).ToArray();
            int normalized = axis < 0 ? axis + shapes[0].Length : axis;
            cases.Add(Case($"{string.Join(" ", shapes.Select(S))} axis {axis}", OpKind.Concat, Attrs(Attr.OfInt(AttrNames.Axis, (long)normalized)), xs, Ops.Concat(xs, axis), Tolerance.Exact, weightMask: 2));
        }

        foreach (var (shape, axis, start, end, step) in new[]
        {
            (new[] { 33, 17 }, 0, 1, 30, 3),
            (new[] { 33, 17 }, 1, 0, 17, 1),
            (new[] { 3, 17, 33 }, 2, 5, 6, 1),
            (new[] { 3, 17, 33 }, -1, -10, 100, 2),
            (new[] { 3, 17, 33 }, 1, 16, 0, 1),
            (new[] { 17 }, 0, -1, 17, 5),
            (new[] { 17, 3 }, 0, 2, 17, 1000),
        })
        {
            var x = Rand(seed++, shape);
            int a = axis < 0 ? axis + shape.Length : axis;
            var (s0, e0) = ShapeInference.NormalizeSliceBounds(start, end, shape[a]);
            var attrs = Attrs(Attr.OfInt(AttrNames.Axis, (long)a), Attr.OfInt(AttrNames.Start, (long)s0), Attr.OfInt(AttrNames.End, (long)e0), Attr.OfInt(AttrNames.Step, (long)step));
            cases.Add(Case($"{S(shape)} axis {axis} {start}:{end}:{step}", OpKind.Slice, attrs, new[] { x }, Ops.Slice(x, axis, start, end, step), Tolerance.Exact));
        }

        Check(_gpu.Accelerator, cases);
    }

    [Fact]
    public void Gather_matches_the_reference_with_negative_indices()
    {
        var cases = new List<GpuCase>();
        int seed = 900;
        foreach (var (dataShape, indexShape, axis) in new[]
        {
            (new[] { 17, 33 }, new[] { 3 }, 0),
            (new[] { 3, 17, 33 }, new[] { 2, 5 }, 1),
            (new[] { 33 }, new int[0], 0),
            (new[] { 3, 17 }, new[] { 17, 3 }, 1),
            (new[] { 3, 17, 1 }, new[] { 33 }, 1),
            (new[] { 1, 3 }, new[] { 0 }, 1),
        })
        {
            int dim = dataShape[axis];
            var data = Rand(seed++, dataShape);
            var indices = Ints(seed++, -dim, dim, indexShape);
            var attrs = Attrs(Attr.OfInt(AttrNames.Axis, (long)axis));
            cases.Add(Case($"{S(dataShape)} at {S(indexShape)} axis {axis}", OpKind.Gather, attrs, new[] { data, indices }, Ops.Gather(data, indices, axis), Tolerance.Exact, weightMask: seed % 3 == 0 ? 2 : 0));
        }

        // Int32 data, indices as a weight (stored in the float weights buffer and reinterpreted).
        var table = Ints(seed++, -1000, 1000, 17, 3);
        var rows = Tensor.FromArray(new[] { 0, -1, 16, 3, -17 }, 5);
        cases.Add(Case("int32 [17,3] at weight [5]", OpKind.Gather, Attrs(Attr.OfInt(AttrNames.Axis, 0L)), new[] { table, rows }, Ops.Gather(table, rows), Tolerance.Exact, weightMask: 2));
        Check(_gpu.Accelerator, cases);
    }

    /// <summary>A kernel cannot throw: an index out of range reads nothing and yields NaN (0 for Int32 data), the
    /// documented GPU behaviour (the CPU backend throws).</summary>
    [Fact]
    public void Gather_writes_NaN_for_an_index_out_of_range_without_reading_out_of_bounds()
    {
        var data = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 3, 2);
        var indices = Tensor.FromArray(new[] { 1, 3, -4, -1, int.MaxValue, int.MinValue }, 6);
        var table = Tensor.FromArray(new[] { 10, 20, 30 }, 3);
        var c = new[]
        {
            Case("float", OpKind.Gather, Attrs(Attr.OfInt(AttrNames.Axis, 0L)), new[] { data, indices }, data, Tolerance.Exact),
            Case("int", OpKind.Gather, Attrs(Attr.OfInt(AttrNames.Axis, 0L)), new[] { table, indices }, table, Tolerance.Exact),
        };
        var compiled = GpuCompiledGraphs.Compile(c.Select(x => x.Graph).ToArray());
        var floats = compiled.Run(0, Array.Empty<Tensor>(), new[] { data, indices }, _gpu.Accelerator).Floats.ToArray();
        float nan = float.NaN;
        Assert.Equal(new[] { 3f, 4f, nan, nan, nan, nan, 5f, 6f, nan, nan, nan, nan }, floats);
        var ints = compiled.Run(1, Array.Empty<Tensor>(), new[] { table, indices }, _gpu.Accelerator).Ints.ToArray();
        Assert.Equal(new[] { 20, 0, 0, 30, 0, 0 }, ints);
    }
}
