using Aot.Dsl;
using Aot.Generator.IR;
using static Aot.Tests.Shared.CaseKit;
using static Generator.Tests.Backend.Kernel;

namespace Generator.Tests.Backend;

/// <summary>A graph chaining most op kinds (intermediates in the arena, a Reshape alias, weights of both dtypes,
/// constants): end to end against the eager reference, and the span overload of Run allocating nothing.</summary>
public class ModelRunTests
{
    [Fact]
    public void A_chain_of_most_ops_matches_the_eager_reference()
    {
        var chain = ChainModel.Build();
        using var compiled = CompiledGraphs.Compile(new[] { chain.Graph });
        var actual = compiled.Run(0, chain.Weights, new[] { chain.X, chain.Indices });
        Assert.Null(Compare(chain.Expected, actual, Tolerance.Accumulation));
    }

    [Fact]
    public void Run_on_spans_allocates_nothing()
    {
        var chain = ChainModel.Build();
        const string driver = """
            namespace T
            {
                public static class AllocationDriver
                {
                    public static long AllocatedBytes(global::T.M0.Compiled model, float[] x, int[] indices, float[] output, int calls)
                    {
                        model.Run(x, indices, output); // warm-up
                        long before = global::System.GC.GetAllocatedBytesForCurrentThread();
                        for (int i = 0; i < calls; i++) model.Run(x, indices, output);
                        return global::System.GC.GetAllocatedBytesForCurrentThread() - before;
                    }
                }
            }
            """;
        using var compiled = CompiledGraphs.Compile(new[] { chain.Graph }, driver);
        var model = compiled.Instantiate(0, chain.Weights);
        var output = new float[chain.Expected.Length];
        var measure = compiled.GetType("AllocationDriver").GetMethod("AllocatedBytes")!;
        long allocated = (long)CompiledGraphs.Unwrap(() => measure.Invoke(null, new object[] { model, chain.X.Floats.ToArray(), chain.Indices.Ints.ToArray(), output, 100 }))!;

        Assert.Equal(0L, allocated);
        Assert.Null(Compare(chain.Expected, Tensor.FromArray(output, chain.Expected.ShapeArray()), Tolerance.Accumulation));
    }

    [Fact]
    public void The_comparison_fails_on_a_perturbed_result()
    {
        // Guards the guard: a value just outside tolerance, a NaN and a shape change are all reported.
        var expected = Rand(1, 17);
        var nudged = Tensor.FromArray(expected.Floats.ToArray(), 17);
        nudged.Floats[3] += (float)(2 * (Tolerance.Accumulation.Atol + Tolerance.Accumulation.Rtol));
        Assert.NotNull(Compare(expected, nudged, Tolerance.Accumulation));
        var nan = Tensor.FromArray(expected.Floats.ToArray(), 17);
        nan.Floats[0] = float.NaN;
        Assert.NotNull(Compare(expected, nan, Tolerance.Exact));
        Assert.NotNull(Compare(expected, Ops.Reshape(expected, 1, 17), Tolerance.Exact));
        Assert.Null(Compare(expected, Tensor.FromArray(expected.Floats.ToArray(), 17), Tolerance.Exact));
    }
}
