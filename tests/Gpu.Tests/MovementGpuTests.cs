using Aot.Dsl;
using Aot.Generator.IR;
using static Aot.Tests.Shared.CaseKit;
using static Gpu.Tests.Cases;

namespace Gpu.Tests;

[Collection(GpuCollection.Name)]
public class MovementGpuTests
{
    private readonly GpuFixture _gpu;

    public MovementGpuTests(GpuFixture gpu) => _gpu = gpu;

    [Fact]
    public void Reshape_Transpose_Concat_Slice_match_the_reference()
    {
        Check(_gpu.Accelerator, SharedCases.Movement());
    }

    [Fact]
    public void Gather_matches_the_reference_with_negative_indices()
    {
        Check(_gpu.Accelerator, SharedCases.Gather());
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

    [Fact]
    public void Gather_with_float_indices_writes_NaN_for_an_index_out_of_range_or_not_an_integer()
    {
        var data = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 3, 2);
        var indices = Tensor.FromArray(new[] { 1f, 3f, -4f, -1f, 1.5f, float.NaN, 3e9f }, 7);
        var c = Case("float", OpKind.Gather, Attrs(Attr.OfInt(AttrNames.Axis, 0L)), new[] { data, indices }, data, Tolerance.Exact);
        var compiled = GpuCompiledGraphs.Compile(new[] { c.Graph });
        var floats = compiled.Run(0, Array.Empty<Tensor>(), new[] { data, indices }, _gpu.Accelerator).Floats.ToArray();
        float nan = float.NaN;
        Assert.Equal(new[] { 3f, 4f, nan, nan, nan, nan, 5f, 6f, nan, nan, nan, nan, nan, nan }, floats);
    }
}
