using System.Text;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;
using static Gpu.Tests.Cases;

namespace Gpu.Tests;

/// <summary>LSTM: the one-launch recurrence kernel (a group per batch element, h in shared memory) against the eager
/// reference on ILGPU's CPU accelerator, and compiled to PTX for sm_90.</summary>
[Collection(GpuCollection.Name)]
public class RecurrentGpuTests
{
    private readonly GpuFixture _gpu;

    public RecurrentGpuTests(GpuFixture gpu) => _gpu = gpu;

    [Fact]
    public void Lstm_matches_the_reference_for_every_result_with_and_without_bias_and_initial_states()
    {
        Check(_gpu.Accelerator, SharedCases.Lstm());
    }

    [Fact]
    public void Lstm_with_more_units_than_threads_gives_each_thread_several()
    {
        // Groups of at most 32 threads: hidden 33 is two units per thread, the second only on thread 0.
        var target = Aot.Generator.Backends.Gpu.GpuTarget.H100 with { MaxThreadsPerGroup = 32 };
        Check(_gpu.Accelerator, SharedCases.Lstm().Where(c => c.Name.Contains("hidden 33")).ToArray(), target);
    }

    [Fact]
    public void Lstm_kernels_compile_to_PTX_for_sm_90()
    {
        // One graph per result, and hidden 33: units beyond one warp, and the clip.
        var graphs = SharedCases.Lstm().Where(c => c.Name.Contains("hidden 33") || c.Name.Contains("hidden 6 ")).Select(c => c.Graph).ToArray();
        var compiled = GpuCompiledGraphs.Compile(graphs);
        var kernels = compiled.KernelMethods().ToArray();
        Assert.Equal(graphs.Length, kernels.Length);
        using var backend = new PTXBackend(_gpu.Context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null);
        var failures = new StringBuilder();
        foreach (var method in kernels)
        {
            try
            {
                string ptx = ((PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), default)).PTXAssembly;
                Assert.Contains(".entry", ptx);
                Assert.Contains("bar.sync", ptx);
                Assert.Contains(".shared", ptx);
                Assert.DoesNotContain(".local", ptx);
            }
            catch (Exception e)
            {
                failures.AppendLine($"{method.DeclaringType!.DeclaringType!.Name}.{method.Name}: {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(failures.Length == 0, "LSTM kernels that do not compile for CUDA:\n" + failures);
    }
}
