using Aot.Dsl;
using Aot.Generator.IR;
using static Aot.Tests.Shared.CaseKit;
using static Generator.Tests.Backend.Kernel;

namespace Generator.Tests.Backend;

public class MovementKernelTests
{
    [Fact]
    public void Reshape_Transpose_Concat_Slice_match_the_reference()
    {
        Check(SharedCases.Movement());
    }

    [Fact]
    public void Gather_matches_the_reference_with_negative_indices()
    {
        Check(SharedCases.Gather());
    }

    [Fact]
    public void Gather_throws_on_an_index_out_of_range()
    {
        var data = Rand(1, 3, 4);
        var b = new GraphBuilder("G");
        int x = b.AddInput("data", CaseKit.TypeOf(data));
        int idx = b.AddInput("indices", new TensorType(Aot.Generator.IR.DType.Int32, 2));
        Assert.Null(b.TryAdd(OpKind.Gather, new[] { x, idx }, Attrs(Attr.OfInt(AttrNames.Axis, 0L)), out int y).Error);
        b.AddOutput(y);
        using var compiled = CompiledGraphs.Compile(new[] { b.Build() });

        Tensor Run(params int[] indices) => compiled.Run(0, Array.Empty<Tensor>(), new[] { data, Tensor.FromArray(indices, 2) });

        Assert.Equal(new[] { 2, 4 }, Run(2, -3).ShapeArray());
        foreach (var bad in new[] { new[] { 0, 3 }, new[] { -4, 0 }, new[] { int.MaxValue, 0 }, new[] { 1, int.MinValue } })
        {
            var e = Assert.ThrowsAny<Exception>(() => Run(bad));
            Assert.True(e is IndexOutOfRangeException or ArgumentOutOfRangeException, "unexpected exception " + e);
            int offending = bad[0] is >= -3 and < 3 ? bad[1] : bad[0];
            Assert.Contains(offending.ToString(), e.Message);
            Assert.Contains("size 3", e.Message);
        }
    }

    [Fact]
    public void Gather_with_float_indices_throws_on_an_index_out_of_range_or_not_an_integer()
    {
        var data = Rand(1, 3, 4);
        var b = new GraphBuilder("G");
        int x = b.AddInput("data", CaseKit.TypeOf(data));
        int idx = b.AddInput("indices", new TensorType(Aot.Generator.IR.DType.Float32, 2));
        Assert.Null(b.TryAdd(OpKind.Gather, new[] { x, idx }, Attrs(Attr.OfInt(AttrNames.Axis, 0L)), out int y).Error);
        b.AddOutput(y);
        using var compiled = CompiledGraphs.Compile(new[] { b.Build() });

        Tensor Run(params float[] indices) => compiled.Run(0, Array.Empty<Tensor>(), new[] { data, Tensor.FromArray(indices, 2) });

        Assert.Equal(Ops.Gather(data, Tensor.FromArray(new[] { 2, -3 }, 2)).Floats.ToArray(), Run(2f, -3f).Floats.ToArray());
        foreach (var (bad, text) in new[] { (new[] { 0f, 3f }, "3"), (new[] { -4f, 0f }, "-4"), (new[] { 1.5f, 0f }, "1.5"), (new[] { 0f, float.NaN }, "NaN"), (new[] { 3e9f, 0f }, "3E+09"), (new[] { 0f, -1e10f }, "-1E+10") })
        {
            var e = Assert.Throws<IndexOutOfRangeException>(() => Run(bad));
            Assert.Contains("Gather: index " + text, e.Message);
            Assert.Contains("size 3", e.Message);
        }
    }
}
