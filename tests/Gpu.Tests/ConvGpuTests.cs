using Aot.Dsl;
using Aot.Generator.Backends.Gpu;
using Aot.Generator.IR;
using static Aot.Tests.Shared.CaseKit;
using static Gpu.Tests.Cases;

namespace Gpu.Tests;

[Collection(GpuCollection.Name)]
public class ConvGpuTests
{
    private readonly GpuFixture _gpu;

    public ConvGpuTests(GpuFixture gpu) => _gpu = gpu;

    [Fact]
    public void Conv2d_matches_the_reference_for_strides_padding_dilation_groups_and_depthwise()
    {
        Check(_gpu.Accelerator, SharedCases.Conv2d());
    }

    [Fact]
    public void Conv2d_with_the_large_tile_handles_edges()
    {
        // The 128 x 128 tile on a convolution with 9 output channels and a 15 x 15 output: one partial tile in both
        // directions, K = 3*3*3 = 27 (a partial K step), padding on every side.
        var x = Rand(1100, 2, 3, 15, 15);
        var w = Rand(1101, 9, 3, 3, 3);
        var b = Rand(1102, 9);
        var attrs = ConvAttrs(new[] { 1, 1 }, new[] { 1, 1, 1, 1 }, new[] { 1, 1 }, 1);
        var target = GpuTarget.H100 with { ForcedTile = new GemmTile(128, 128, 8, 8, 8) };
        Check(_gpu.Accelerator, new[] { Case("large tile", OpKind.Conv2d, attrs, new[] { x, w, b }, Ops.Conv2d(x, w, b, 1, 1), Tolerance.Accumulation, weightMask: 6) }, target);
    }

    [Fact]
    public void ConvTranspose2d_matches_the_reference_for_strides_padding_output_padding_dilation_and_groups()
    {
        Check(_gpu.Accelerator, SharedCases.ConvTranspose2d());
    }

    [Fact]
    public void Pools_match_the_reference_with_padding_and_both_count_include_pad_modes()
    {
        Check(_gpu.Accelerator, SharedCases.Pools());
    }

    [Fact]
    public void Resize_matches_the_reference_in_every_mode()
    {
        Check(_gpu.Accelerator, SharedCases.Resize());
    }
}
