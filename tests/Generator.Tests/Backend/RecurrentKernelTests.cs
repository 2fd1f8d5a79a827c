using Aot.Dsl;
using static Aot.Tests.Shared.CaseKit;
using static Generator.Tests.Backend.Kernel;

namespace Generator.Tests.Backend;

public class RecurrentKernelTests
{
    [Fact]
    public void Lstm_matches_the_reference_for_every_result_with_and_without_bias_and_initial_states()
    {
        Check(SharedCases.Lstm());
    }

    [Fact]
    public void Lstm_runs_on_spans_without_allocating()
    {
        // Y of the case with B, initial h and c and hidden 33 (more than one GEMM panel): W and R are weights,
        // x, B, h0, c0 the inputs in0, in3, in4, in5.
        var c = SharedCases.Lstm().Single(k => k.Name.Contains("hidden 33") && k.Name.EndsWith("Sequence"));
        const string driver = """
            namespace T
            {
                public static class LstmAllocationDriver
                {
                    public static long AllocatedBytes(global::T.M0.Compiled model, float[] x, float[] b, float[] h, float[] c, float[] output, int calls)
                    {
                        model.Run(x, b, h, c, output); // warm-up: grows the workspace once
                        long before = global::System.GC.GetAllocatedBytesForCurrentThread();
                        for (int i = 0; i < calls; i++) model.Run(x, b, h, c, output);
                        return global::System.GC.GetAllocatedBytesForCurrentThread() - before;
                    }
                }
            }
            """;
        using var compiled = CompiledGraphs.Compile(new[] { c.Graph }, driver);
        var model = compiled.Instantiate(0, c.Weights);
        var output = new float[c.Expected.Length];
        var measure = compiled.GetType("LstmAllocationDriver").GetMethod("AllocatedBytes")!;
        var args = c.Inputs.Select(t => (object)t.Floats.ToArray()).Prepend(model).Append(output).Append(100).ToArray();
        long allocated = (long)CompiledGraphs.Unwrap(() => measure.Invoke(null, args))!;

        Assert.Equal(0L, allocated);
        Assert.Null(Compare(c.Expected, Tensor.FromArray(output, c.Expected.ShapeArray()), c.Tolerance));
    }
}
