using Aot.Generator.Backends.Gpu;
using Xunit.Abstractions;

namespace Gpu.Tests;

/// <summary>The GEMM cost model: the classic SGEMM tile for large problems, smaller ones for small or skinny problems,
/// only tiles that fit the target, and the choice explained in the generated kernel.</summary>
public class TilingTests
{
    private readonly ITestOutputHelper _output;

    public TilingTests(ITestOutputHelper output) => _output = output;

    /// <summary>4096^3 gets 128 x 64 x 16 with 8 x 8 per thread: 3.08 ms on an H200 against 3.15 for the classic
    /// 128 x 128 x 8 and 3.27 for 64 x 128 x 16 (docs/results/gpu-h200-2026-11-27c.md).</summary>
    [Fact]
    public void Large_problems_get_the_128x64x16_tile_with_8x8_per_thread()
    {
        var choice = GpuTiling.Choose(1, 4096, 4096, 4096, GpuTarget.H100);
        Assert.Equal(new GemmTile(128, 64, 16, 8, 8), choice.Tile);
        Assert.Equal(128, choice.Tile.Threads);
        Assert.Contains("BM=128 BN=64 BK=16 TM=8 TN=8", choice.Explanation);
    }

    /// <summary>The transformer block's products (K from 64 to 3072) get 128-thread tiles of 8 x 8 per thread with
    /// BK 16, the fastest measured on an H200; a 64-wide result the 128 x 64 one (no padded columns).</summary>
    [Fact]
    public void Transformer_products_get_128_thread_tiles_of_8x8()
    {
        foreach (var (batch, m, n, k) in new (long, int, int, int)[] { (1, 4096, 768, 768), (1, 4096, 3072, 768), (1, 4096, 768, 3072), (96, 512, 512, 64) })
        {
            var tile = GpuTiling.Choose(batch, m, n, k, GpuTarget.H100).Tile;
            _output.WriteLine($"{batch} x {m}x{n}x{k}: {tile}");
            Assert.True(tile.Threads == 128 && tile.TM == 8 && tile.TN == 8 && tile.BK == 16, $"{m}x{n}x{k}: {tile}");
        }

        Assert.Equal(new GemmTile(128, 64, 16, 8, 8), GpuTiling.Choose(96, 512, 64, 512, GpuTarget.H100).Tile);
    }

    [Fact]
    public void Small_and_skinny_problems_get_smaller_tiles()
    {
        var tiny = GpuTiling.Choose(1, 3, 17, 33, GpuTarget.H100).Tile;
        Assert.True(tiny.BM * tiny.BN <= 32 * 32, "a 3 x 17 output should not get a large tile: " + tiny);
        var gemv = GpuTiling.Choose(1, 1, 512, 784, GpuTarget.H100).Tile; // a batch-1 Linear layer
        Assert.True(gemv.BM <= 32, "m = 1 should get a tile at most 32 rows high: " + gemv);
    }

    [Fact]
    public void Every_candidate_fits_the_target_and_the_tile_arithmetic_is_exact()
    {
        foreach (var t in GpuTiling.Candidates)
        {
            Assert.True(t.Threads <= GpuTarget.H100.GroupSizeLimit, t.ToString());
            Assert.True(t.SharedBytes <= GpuTarget.H100.SharedMemoryPerGroup, t.ToString());
            Assert.Equal(0, t.BM % t.TM);
            Assert.Equal(0, t.BN % t.TN);
            Assert.True(t.Threads % 32 == 0, "whole warps: " + t);
        }

        var small = GpuTarget.H100 with { MaxThreadsPerGroup = 64 };
        Assert.True(GpuTiling.Choose(1, 4096, 4096, 4096, small).Tile.Threads <= 64);
    }

    [Fact]
    public void Choices_for_common_shapes_are_reported()
    {
        foreach (var (batch, m, n, k) in new (long, int, int, int)[]
        {
            (1, 4096, 4096, 4096), (1, 4096, 768, 768), (1, 4096, 3072, 768), (1, 4096, 768, 3072), (96, 512, 512, 64),
            (96, 512, 64, 512), (1, 512, 768, 768), (1, 1, 512, 784), (1, 64, 512, 784), (1, 64, 64, 64), (8, 64, 3136, 576),
        })
        {
            _output.WriteLine(GpuTiling.Choose(batch, m, n, k, GpuTarget.H100).Explanation);
        }
    }
}
