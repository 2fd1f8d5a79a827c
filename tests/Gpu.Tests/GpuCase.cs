using System.Text;
using Aot.Generator.Backends.Gpu;
using Aot.Generator.IR;
using ILGPU.Runtime;

namespace Gpu.Tests;

/// <summary>The GPU runner: compiles shared <see cref="KernelCase"/>s through the GPU emitter and checks them on an accelerator against the eager reference.</summary>
internal static class Cases
{
    /// <summary>Compiles every case in one compilation, runs each on the accelerator, and fails listing every mismatch.</summary>
    public static void Check(Accelerator accelerator, IReadOnlyList<KernelCase> cases, GpuTarget? target = null)
    {
        var compiled = GpuCompiledGraphs.Compile(cases.Select(c => c.Graph).ToArray(), target: target);
        var failures = new StringBuilder();
        int failed = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            string? problem;
            try
            {
                problem = CaseKit.Compare(c.Expected, compiled.Run(i, c.Weights, c.Inputs, accelerator), c.Tolerance);
            }
            catch (Exception e)
            {
                problem = "threw " + e;
            }

            if (problem is null) continue;
            failed++;
            CaseKit.Report(failures, c, problem);
        }

        Assert.True(failed == 0, $"{failed} of {cases.Count} cases differ from the eager reference:\n{failures}");
    }
}
