using System.Text;
using Aot.Generator.IR;

namespace Generator.Tests.Backend;

/// <summary>The CPU runner: compiles shared <see cref="KernelCase"/>s through the CPU emitter and checks them against the eager reference.</summary>
internal static class Kernel
{
    /// <summary>Compiles every case in one compilation, runs each, and fails listing every mismatch.</summary>
    public static void Check(IReadOnlyList<KernelCase> cases)
    {
        using var compiled = CompiledGraphs.Compile(cases.Select(c => c.Graph).ToArray());
        var failures = new StringBuilder();
        int failed = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            string? problem;
            try
            {
                var actual = compiled.Run(i, c.Weights, c.Inputs);
                problem = CaseKit.Compare(c.Expected, actual, c.Tolerance);
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
