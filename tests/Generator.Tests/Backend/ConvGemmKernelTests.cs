using Aot.Dsl;
using Aot.Generator.IR;
using Aot.Generator.Passes;
using static Aot.Tests.Shared.CaseKit;

namespace Generator.Tests.Backend;

/// <summary>
/// Convolutions compiled to ConvGemm (implicit GEMM, Sgemm.Convolve) on both of its paths, rows read in place from the
/// padded image (stride 1 and 2) and packed panels (short output rows, 1x1), with batch 2, groups, dilation, and channel
/// counts that fill no register tile or vector: at 1 and 2 threads each matches the eager reference, and the two are
/// bit-identical. The shapes are large enough for the product to be split between threads.
/// </summary>
public class ConvGemmKernelTests
{
    [Fact]
    public void Both_im2col_paths_match_the_reference_at_1_and_2_threads()
    {
        var cases = new List<(KernelCase Case, string Path)>();
        int seed = 1300;
        foreach (var (xShape, wShape, stride, pad, dilation, groups, path) in new[]
        {
            (new[] { 2, 12, 40, 62 }, new[] { 20, 6, 3, 3 }, 1, 1, 1, 2, "read in place"),
            (new[] { 1, 10, 45, 63 }, new[] { 14, 10, 3, 3 }, 2, 1, 1, 1, "read in place"),
            (new[] { 2, 9, 30, 20 }, new[] { 17, 9, 3, 3 }, 1, 2, 2, 1, "packed"),
            (new[] { 2, 24, 20, 33 }, new[] { 18, 24, 1, 1 }, 1, 0, 1, 1, "packed"),
        })
        {
            var x = Rand(seed++, xShape);
            var w = Rand(seed++, wShape);
            var b = Rand(seed++, wShape[0]);
            var attrs = ConvAttrs(new[] { stride, stride }, new[] { pad, pad, pad, pad }, new[] { dilation, dilation }, groups);
            string name = $"{S(xShape)} * {S(wShape)} stride {stride} pad {pad} dilation {dilation} groups {groups}";
            var c = Case(name, OpKind.Conv2d, attrs, new[] { x, w, b }, Ops.Conv2d(x, w, b, stride, pad, dilation, groups), Tolerance.Accumulation, weightMask: 6);
            cases.Add((c with { Graph = new LowerConvToGemm().Run(c.Graph) }, path));
        }

        using var compiled = CompiledGraphs.Compile(cases.Select(c => c.Case.Graph).ToArray());
        for (int i = 0; i < cases.Count; i++)
        {
            Assert.Contains("Sgemm.Convolve(", compiled.Sources[i]);
            Assert.Contains($"im2col {cases[i].Path}", compiled.Sources[i]);
        }

        var failures = ParallelKernelTests.CheckAtOneAndTwoThreads(compiled, cases.Select(c => c.Case).ToList());
        Assert.True(failures.Length == 0, failures);
    }
}
