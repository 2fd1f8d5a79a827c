using Aot.Runtime.Gpu;
using ILGPU;
using ILGPU.Runtime.CPU;
using static Aot.Tests.Shared.CaseKit;
using static Gpu.Tests.Cases;

namespace Gpu.Tests;

/// <summary>Device memory that does not fit gives <see cref="GpuOutOfMemoryException"/>: before allocating (the request
/// exceeds the accelerator's memory size) and in place of the accelerator's own allocation failure.</summary>
[Collection(GpuCollection.Name)]
public class MemoryTests
{
    private readonly GpuFixture _gpu;

    public MemoryTests(GpuFixture gpu) => _gpu = gpu;

    [Fact]
    public void A_buffer_larger_than_the_accelerator_memory_is_refused_before_allocating()
    {
        var e = Assert.Throws<GpuOutOfMemoryException>(() => GpuRuntime.Allocate<float>(_gpu.Accelerator, 1000, "the arena of T.Big", memorySize: 3000));
        Assert.Equal(4000, e.RequestedBytes);
        Assert.Equal(3000, e.AcceleratorMemoryBytes);
        Assert.Equal("the arena of T.Big", e.Purpose);
        Assert.Null(e.InnerException);
        Assert.Contains("4000 bytes", e.Message);
        Assert.Contains("3000 bytes", e.Message);
        Assert.Contains("the arena of T.Big", e.Message);

        using var fits = GpuRuntime.Allocate<float>(_gpu.Accelerator, 750, "small", memorySize: 3000);
        Assert.Equal(750, fits.Length);
    }

    [Fact]
    public void The_accelerators_own_allocation_failure_is_translated()
    {
        // The CPU accelerator reports long.MaxValue bytes of memory, so the request passes the check and the host
        // allocation itself fails.
        // (On a CUDA device the check is lifted the same way, so cuMemAlloc itself reports CUDA_ERROR_OUT_OF_MEMORY.)
        const long elements = 1L << 60;
        GpuRuntime.MemorySizeOverride = long.MaxValue;
        GpuOutOfMemoryException e;
        try
        {
            e = Assert.Throws<GpuOutOfMemoryException>(() => GpuRuntime.Allocate<float>(_gpu.Accelerator, elements, "the weights of T.Huge"));
        }
        finally
        {
            GpuRuntime.MemorySizeOverride = null;
        }

        Assert.Equal(elements * 4, e.RequestedBytes);
        Assert.NotNull(e.InnerException);
        Assert.Contains("the weights of T.Huge", e.Message);
        Assert.True(GpuRuntime.IsOutOfMemory(new OutOfMemoryException()));
        Assert.False(GpuRuntime.IsOutOfMemory(new InvalidOperationException()));
    }

    /// <summary>The generated constructor checks the model's whole footprint (weights, arena, staging) before it
    /// allocates anything: with the accelerator's memory made smaller than the arena, CompileForGpu throws.</summary>
    [Fact]
    public void A_model_whose_arena_does_not_fit_throws_from_CompileForGpu()
    {
        var (graph, weights) = PtxTests.Mlp(64);
        var compiled = GpuCompiledGraphs.Compile(new[] { graph });
        long arena = (long)compiled.GetType("M0+GpuCompiled").GetField("ArenaBytes")!.GetValue(null)!;
        Assert.True(arena > 100_000, "the test model should have a sizeable arena");
        GpuRuntime.MemorySizeOverride = arena / 2;
        try
        {
            var e = Assert.Throws<GpuOutOfMemoryException>(() => compiled.Instantiate(0, weights, _gpu.Accelerator));
            Assert.True(e.RequestedBytes > arena);
            Assert.Equal(arena / 2, e.AcceleratorMemoryBytes);
            Assert.Contains("T.M0", e.Message);
        }
        finally
        {
            GpuRuntime.MemorySizeOverride = null;
        }

        using var model = compiled.Instantiate(0, weights, _gpu.Accelerator); // fits again
    }

    [Fact]
    public void An_accelerator_without_big_enough_groups_is_refused_with_a_clear_message()
    {
        using var context = Context.Create(b => b.CPU(CPUDeviceKind.Default));
        using var small = context.CreateCPUAccelerator(0);
        var e = Assert.Throws<NotSupportedException>(() => GpuRuntime.RequireKernelSupport(small, 256, 0, "T.Model"));
        Assert.Contains("256", e.Message);
        Assert.Contains("CPUDevice(32, 8, 1)", e.Message);
    }
}
