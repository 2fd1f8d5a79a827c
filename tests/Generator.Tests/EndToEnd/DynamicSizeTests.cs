using System.Reflection;
using Aot.Dsl;
using Generator.Tests.Frontend;

namespace Generator.Tests.EndToEnd;

/// <summary>
/// Models with a dynamic axis (<c>[Input(..., DynamicAxis = a)]</c>): one compiled class must run every size from 1
/// to the bound and match the eager Forward at that size; the diagnostics for what cannot be compiled.
/// </summary>
public class DynamicSizeTests
{
    private const int Bound = 19;

    private const string Source = GeneratorHarness.Usings + """
        using System;
        namespace Dyn;

        [Model]
        public partial class Encoder
        {
            [Weight(16, 16)] public Tensor? Wq { get; set; }
            [Weight(16, 16)] public Tensor? Wk { get; set; }
            [Weight(16, 16)] public Tensor? Wv { get; set; }
            [Weight(32, 16)] public Tensor? W1 { get; set; }
            [Weight(32)] public Tensor? B1 { get; set; }
            [Weight(16, 32)] public Tensor? W2 { get; set; }
            [Weight(16)] public Tensor? Gamma { get; set; }
            [Weight(16)] public Tensor? Beta { get; set; }
            [Weight(19, 16)] public Tensor? Positions { get; set; }

            Tensor Heads(Tensor t) => Transpose(Reshape(t, 1, -1, 4, 4), 0, 2, 1, 3);

            public Tensor Forward([Input(1, 19, 16, DynamicAxis = 1)] Tensor x)
            {
                x = x + Slice(Positions!, 0, 0, x.Shape[1]);                        // the first n positions
                var h = LayerNorm(x, Gamma!, Beta!);
                var q = Heads(Linear(h, Wq!));
                var k = Heads(Linear(h, Wk!));
                var v = Heads(Linear(h, Wv!));
                var p = Softmax(MatMul(q, Transpose(k, 0, 1, 3, 2)) * 0.5f, axis: -1);
                x = x + Reshape(Transpose(MatMul(p, v), 0, 2, 1, 3), 1, -1, 16);
                return x + Linear(Gelu(Linear(LayerNorm(x, Gamma!, Beta!), W1!, B1!)), W2!);
            }
        }

        [Model]
        public partial class MaskedPooling
        {
            [Weight(50, 8)] public Tensor? Table { get; set; }
            [Weight(8, 8)] public Tensor? W { get; set; }

            public Tensor Forward([Input(2, 19, DType = DType.Int32, DynamicAxis = 1)] Tensor ids, [Input(2, 19, DynamicAxis = 1)] Tensor mask)
            {
                var e = Gather(Table!, ids);                                          // [2, n, 8]
                var scores = MatMul(e, Transpose(e, 0, 2, 1)) + Reshape((1f - mask) * -10000f, 2, 1, -1);
                var mixed = MatMul(Softmax(scores, axis: -1), Linear(e, W!));         // [2, n, 8]
                return ReduceSum(mixed * Reshape(mask, 2, -1, 1), new[] { 1 }) / Reshape(ReduceSum(mask, new[] { 1 }), 2, 1);
            }
        }

        [Model]
        public partial class WideTranspose
        {
            // Above the size from which transposes and elementwise kernels split between threads (32K elements).
            public Tensor Forward([Input(1, 19, 2048, DynamicAxis = 1)] Tensor x) => Sigmoid(Transpose(x, 0, 2, 1)) * 2f + 1f;
        }

        [Model]
        public partial class Recurrent
        {
            [Weight(1, 32, 6)] public Tensor? W { get; set; }
            [Weight(1, 32, 8)] public Tensor? R { get; set; }
            [Weight(1, 64)] public Tensor? B { get; set; }

            public Tensor Forward([Input(19, 2, 6, DynamicAxis = 0)] Tensor x)
            {
                var y = Lstm(x, W!, R!, B);                                            // [n, 1, 2, 8]
                return y + Lstm(x, W!, R!, B, output: LstmOutput.LastCell);            // + Y_c [1, 2, 8]
            }
        }

        public static class AllocationDriver
        {
            /// <summary>Bytes allocated by Run on spans over sizes 19, 7 and 1 after a warm-up at each.</summary>
            public static long AllocatedBytes(Encoder.Compiled model)
            {
                var x = new float[16 * 19];
                var y = new float[16 * 19];
                int[] sizes = { 19, 7, 1 };
                foreach (int n in sizes) model.Run(x.AsSpan(0, 16 * n), y.AsSpan(0, 16 * n));
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 10; i++)
                {
                    foreach (int n in sizes) model.Run(x.AsSpan(0, 16 * n), y.AsSpan(0, 16 * n));
                }

                return GC.GetAllocatedBytesForCurrentThread() - before;
            }
        }
        """;

    private static readonly Lazy<Assembly> Compiled = new(() =>
    {
        var run = GeneratorHarness.Run(Source);
        Assert.Empty(run.Diagnostics);
        if (Environment.GetEnvironmentVariable("AOT_DUMP_DYNAMIC") is { } dump) File.WriteAllText(dump, string.Join("\n//////\n", run.Generated));
        return GeneratedModels.Load(run);
    });

    [Theory]
    [InlineData("Dyn.Encoder", 1)]
    [InlineData("Dyn.Encoder", 2)]
    [InlineData("Dyn.MaskedPooling", 1)]
    [InlineData("Dyn.MaskedPooling", 2)]
    [InlineData("Dyn.WideTranspose", 2)]
    [InlineData("Dyn.Recurrent", 1)]
    public void EverySizeUpToTheBoundMatchesEager(string typeName, int threads)
    {
        var type = Compiled.Value.GetType(typeName, throwOnError: true)!;
        var (model, compiled) = CompileWithRandomWeights(type, threads);
        using var _ = compiled;
        Assert.Equal(Bound, (int)compiled.GetType().GetField("MaxDynamicSize")!.GetValue(null)!);
        var run = compiled.GetType().GetMethods().Single(m => m.Name == "Run" && m.ReturnType == typeof(Tensor));
        var specs = ((IEnumerable<Aot.Runtime.TensorSpec>)type.GetProperty("InputSpecs")!.GetValue(null)!).ToArray();
        for (int n = 1; n <= Bound; n++)
        {
            var inputs = specs.Select(s => (object)InputAt(s, n, 100 * n + s.Name.Length)).ToArray();
            var eager = (Tensor)type.GetMethod("Forward")!.Invoke(model, inputs)!;
            var ours = (Tensor)run.Invoke(compiled, inputs)!;
            Assert.Equal(eager.ShapeArray(), ours.ShapeArray());
            for (int i = 0; i < eager.Length; i++)
            {
                float expected = eager.Floats[i], actual = ours.Floats[i];
                Assert.True(Math.Abs(actual - expected) <= 1e-4 + 1e-4 * Math.Abs(expected), $"{typeName} at size {n} [{i}]: compiled {actual}, eager {expected}");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void RunOnSpansAllocatesNothingAtAnySize(int threads)
    {
        var type = Compiled.Value.GetType("Dyn.Encoder", throwOnError: true)!;
        var (model, compiled) = CompileWithRandomWeights(type, threads);
        using var _ = compiled;
        var driver = Compiled.Value.GetType("Dyn.AllocationDriver", throwOnError: true)!;
        Assert.Equal(0L, (long)driver.GetMethod("AllocatedBytes")!.Invoke(null, new object[] { compiled })!);
    }

    [Fact]
    public void RunRejectsSizesOutsideOneToTheBoundAndMismatchedInputs()
    {
        var type = Compiled.Value.GetType("Dyn.MaskedPooling", throwOnError: true)!;
        var (_, compiled) = CompileWithRandomWeights(type, threads: 1);
        using var __ = compiled;
        var run = compiled.GetType().GetMethods().Single(m => m.Name == "Run" && m.ReturnType == typeof(Tensor));

        var tooLong = Record.Exception(() => run.Invoke(compiled, new object[] { Tensor.Zeros(DType.Int32, 2, Bound + 1), Tensor.Zeros(DType.Float32, 2, Bound + 1) }));
        Assert.Contains("1..19", Assert.IsType<ArgumentException>(tooLong?.InnerException).Message);
        var mismatched = Record.Exception(() => run.Invoke(compiled, new object[] { Tensor.Zeros(DType.Int32, 2, 5), Tensor.Zeros(DType.Float32, 2, 6) }));
        Assert.Contains("same size on their dynamic axes", Assert.IsType<ArgumentException>(mismatched?.InnerException).Message);
    }

    [Fact]
    public void ForwardThatOnlyWorksAtTheBoundIsAnErrorNamingTheSize()
    {
        var run = GeneratorHarness.Run(GeneratorHarness.Usings + """
            [Model]
            public partial class Fixed
            {
                public Tensor Forward([Input(1, 8, 4, DynamicAxis = 1)] Tensor x) => Reshape(x, 1, 8, 2, 2);
            }
            """);
        var d = Assert.Single(run.Diagnostics);
        Assert.Contains("dynamic axis at size 7", d.GetMessage());
    }

    [Fact]
    public void ShapeOutsideTheRankIsAnErrorAtTheIndex()
    {
        var run = GeneratorHarness.Run(GeneratorHarness.Usings + """
            [Model]
            public partial class Rank
            {
                public Tensor Forward([Input(1, 8)] Tensor x) => x * (float)x.Shape[x.Shape.Length];
            }
            """);
        var d = Assert.Single(run.Diagnostics);
        Assert.Equal("AOT0008", d.Id);
        Assert.Contains("Shape[2] needs a compile-time axis from 0 to 1", d.GetMessage());
    }

    [Fact]
    public void DynamicAxisOutsideTheShapeIsAnError()
    {
        var run = GeneratorHarness.Run(GeneratorHarness.Usings + """
            [Model]
            public partial class Bad
            {
                public Tensor Forward([Input(1, 8, DynamicAxis = 2)] Tensor x) => x * 2f;
            }
            """);
        var d = Assert.Single(run.Diagnostics);
        Assert.Equal("AOT0012", d.Id);
        Assert.Contains("DynamicAxis 2", d.GetMessage());
    }

    [Fact]
    public void SizesOfDegreeAboveTwoAreAnErrorNamingTheCode()
    {
        var run = GeneratorHarness.Run(GeneratorHarness.Usings + """
            [Model]
            public partial class Cubic
            {
                public Tensor Forward([Input(12, 4, DynamicAxis = 0)] Tensor x)
                {
                    var gram = MatMul(x, Transpose(x, 1, 0));                   // [n, n]
                    return Reshape(gram, -1, 1) * Reshape(x, 1, -1);            // [n^2, 4n]: n^3 elements
                }
            }
            """);
        var d = Assert.Single(run.Diagnostics);
        Assert.Equal("AOT0018", d.Id);
        Assert.Contains("not a polynomial of degree 2", d.GetMessage());
    }

    [Fact]
    public void ExplicitGpuOrNpuTargetsWarnThatADynamicModelRunsOnTheCpuOnly()
    {
        const string source = GeneratorHarness.Usings + """
            [Model]
            public partial class Scale
            {
                public Tensor Forward([Input(1, 8, DynamicAxis = 1)] Tensor x) => Relu(x * 2f);
            }
            """;
        var run = GeneratorHarness.RunWith(new Dictionary<string, string> { ["AotTargets"] = "cpu;npu" }, null, source);
        var d = Assert.Single(run.Diagnostics);
        Assert.Equal("AOT0019", d.Id);
        Assert.DoesNotContain(run.Generated, g => g.Contains("NpuProgram", StringComparison.Ordinal));
        Assert.Contains(run.Generated, g => g.Contains("MaxDynamicSize = 8", StringComparison.Ordinal));
    }

    /// <summary>An instance with random weights (fixed seeds), compiled for <paramref name="threads"/> threads.</summary>
    private static (object Model, IDisposable Compiled) CompileWithRandomWeights(Type type, int threads)
    {
        var model = Activator.CreateInstance(type)!;
        int seed = 1;
        foreach (var spec in (IEnumerable<Aot.Runtime.TensorSpec>)type.GetProperty("WeightSpecs")!.GetValue(null)!)
        {
            type.GetProperty(spec.Name)!.SetValue(model, Tensor.Random(seed++, -0.5f, 0.5f, spec.Shape));
        }

        return (model, (IDisposable)type.GetMethod("Compile")!.Invoke(model, new object[] { threads })!);
    }

    /// <summary>Random values at dynamic size n (ids in the table, a mask of ones with the last element 0 when n > 1).</summary>
    private static Tensor InputAt(Aot.Runtime.TensorSpec spec, int n, int seed)
    {
        var shape = spec.Shape.ToArray();
        shape[Array.IndexOf(shape, Bound)] = n; // the dynamic axis: the one dimension of the bound's size in these models
        if (spec.DType == DType.Int32)
        {
            var ids = Tensor.Zeros(DType.Int32, shape);
            var random = new Random(seed);
            for (int i = 0; i < ids.Length; i++) ids.Ints[i] = random.Next(50);
            return ids;
        }

        if (spec.Name == "mask")
        {
            var mask = Tensor.Zeros(DType.Float32, shape);
            for (int b = 0; b < shape[0]; b++)
            {
                for (int j = 0; j < n; j++) mask.Floats[b * n + j] = j == n - 1 && n > 1 ? 0f : 1f;
            }

            return mask;
        }

        return Tensor.Random(seed, -1f, 1f, shape);
    }
}
