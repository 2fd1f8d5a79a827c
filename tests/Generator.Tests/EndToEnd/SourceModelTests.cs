using System.Reflection;
using System.Runtime.Loader;
using Aot.Dsl;
using Generator.Tests.Frontend;
using Microsoft.CodeAnalysis;

namespace Generator.Tests.EndToEnd;

/// <summary>
/// Whole models written in the DSL, through the real generator (frontend, passes, CPU backend), compiled and run;
/// each compiled result must match the same model's eager Forward. These cover the C# the frontend accepts:
/// unrolled for loops over stacked weights, inlined helpers, constant ifs, Math on constants, collection
/// expressions, Int32 inputs, masks (comparisons, Not, Where), Resize, dead code, and returning an input unchanged.
/// </summary>
public class SourceModelTests
{
    private const double Atol = 1e-4, Rtol = 1e-4; // accumulations over up to a few hundred terms

    private const string Source = GeneratorHarness.Usings + """
        using System;
        namespace E2E;

        [Model]
        public partial class Stack
        {
            [Weight(3, 17, 17)] public Tensor? Layers { get; set; }
            [Weight(3, 17)] public Tensor? Biases { get; set; }

            static Tensor Block(Tensor x, Tensor w, Tensor b, bool last) => last ? Softmax(Linear(x, w, b)) : Gelu(Linear(x, w, b), GeluMode.Tanh);

            public Tensor Forward([Input(5, 17)] Tensor x)
            {
                for (int i = 0; i < 3; i++)
                {
                    if (i % 2 == 1) x = x * 0.5f;
                    x = Block(x, Layers![i], Biases![i], last: i == 2);
                }

                var unused = Exp(x) + 1f;
                return x;
            }
        }

        [Model]
        public partial class Attention
        {
            [Weight(16, 16)] public Tensor? Wq { get; set; }
            [Weight(16, 16)] public Tensor? Wk { get; set; }
            [Weight(16, 16)] public Tensor? Wv { get; set; }
            [Weight(16)] public Tensor? Gamma { get; set; }
            [Weight(16)] public Tensor? Beta { get; set; }

            Tensor Heads(Tensor t) => Transpose(Reshape(t, 2, 7, 4, 4), 0, 2, 1, 3);

            public Tensor Forward([Input(2, 7, 16)] Tensor x)
            {
                var h = LayerNorm(x, Gamma!, Beta!);
                var q = Heads(Linear(h, Wq!));
                var k = Heads(Linear(h, Wk!));
                var v = Heads(Linear(h, Wv!));
                float scale = 1f / MathF.Sqrt(4);
                var p = Softmax(MatMul(q, Transpose(k, 0, 1, 3, 2)) * scale, axis: -1);
                var o = Reshape(Transpose(MatMul(p, v), 0, 2, 1, 3), 2, 7, -1);
                return x + o;
            }
        }

        [Model]
        public partial class Embedding
        {
            [Weight(33, 6)] public Tensor? Table { get; set; }

            public Tensor Forward([Input(3, 5, DType = DType.Int32)] Tensor ids, [Input(1, 1, 6)] Tensor shift)
            {
                var e = Gather(Table!, ids) + shift;
                var halves = Concat([Slice(e, 2, 3, 6), Slice(e, 2, 0, 3)], axis: 2);
                return ReduceMean(Max(halves, 0f), new[] { 1 }, keepDims: true) - ReduceMax(halves, -1, keepDims: true);
            }
        }

        [Model]
        public partial class SmallCnn
        {
            [Weight(4, 3, 3, 3)] public Tensor? K1 { get; set; }
            [Weight(4)] public Tensor? B1 { get; set; }
            [Weight(4, 1, 3, 3)] public Tensor? Dw { get; set; }
            [Weight(5, 4)] public Tensor? Fc { get; set; }

            public Tensor Forward([Input(1, 3, 17, 17)] Tensor image)
            {
                var y = MaxPool2d(Relu(Conv2d(image, K1!, B1, stride: 1, padding: 1)), 2);
                y = AvgPool2d(Relu(Conv2d(y, Dw!, padding: 2, dilation: 2, groups: 4)), 3, stride: 2, padding: 1);
                return Linear(Reshape(GlobalAvgPool(y), 1, 4), Fc!);
            }
        }

        [Model]
        public partial class GemmConv
        {
            [Weight(8, 3, 3, 3)] public Tensor? K1 { get; set; }
            [Weight(8)] public Tensor? B1 { get; set; }
            [Weight(12, 4, 3, 3)] public Tensor? K2 { get; set; }
            [Weight(12, 12, 1, 1)] public Tensor? K3 { get; set; }

            // Large enough that no layer fits in L1 (LowerSmallConv would take it): every one is an implicit GEMM.
            public Tensor Forward([Input(2, 3, 56, 52)] Tensor image)
            {
                var y = Relu(Conv2d(image, K1!, B1, padding: 1));                       // lowered to implicit GEMM
                y = Conv2d(y, K2!, stride: 2, padding: 2, dilation: 2, groups: 2);      // grouped, strided, dilated
                return Conv2d(y, K3!);                                                  // 1x1
            }
        }

        [Model]
        public partial class Upsampler
        {
            [Weight(3, 4, 3, 3)] public Tensor? Up { get; set; }
            [Weight(4)] public Tensor? UpB { get; set; }
            [Weight(4, 2, 4, 4)] public Tensor? Dw { get; set; }
            [Weight(4, 2, 1, 3)] public Tensor? Line { get; set; }

            public Tensor Forward([Input(2, 3, 6, 10)] Tensor x)
            {
                var y = Relu(ConvTranspose2d(x, Up!, UpB, stride: 2, padding: 1, outputPadding: 1));  // [2, 4, 12, 20]
                y = MaxPool2d(y, 1, 2, 1, 2);                                                          // [2, 4, 12, 10]
                y = ConvTranspose2d(y, Dw!, stride: 2, padding: 1, dilation: 2, groups: 2);           // [2, 4, 27, 23]
                y = AvgPool2d(y, 3, 2, 2, 1, padH: 1, countIncludePad: false);                         // [2, 4, 14, 22]
                return ConvTranspose2d(y, Line!, stride: 3, groups: 4);                                // 1x3 taps, stride 3
            }
        }

        [Model]
        public partial class PerAxisConv
        {
            [Weight(8, 3, 3, 3)] public Tensor? K1 { get; set; }
            [Weight(8)] public Tensor? B1 { get; set; }
            [Weight(8, 1, 3, 3)] public Tensor? Dw { get; set; }
            [Weight(8, 4, 3, 3)] public Tensor? Up { get; set; }
            [Weight(4)] public Tensor? UpB { get; set; }

            public Tensor Forward([Input(2, 3, 17, 19)] Tensor image)
            {
                var y = Relu(Conv2d(image, K1!, B1, 2, 1, 1, 2, 1, 2));                     // [2, 8, 9, 19]
                y = Conv2d(y, Dw!, null, 1, 3, 2, 0, 2, 1, groups: 8);                       // depthwise: [2, 8, 9, 6]
                return ConvTranspose2d(y, Up!, UpB, 2, 1, 1, 0, 1, 0, 1, 2);                 // [2, 4, 18, 10]
            }
        }

        [Model]
        public partial class Masked
        {
            [Weight(9)] public Tensor? Limit { get; set; }

            public Tensor Forward([Input(4, 9)] Tensor x, [Input(4, 1)] Tensor y)
            {
                var positive = Greater(x, 0f);
                var inRange = Not(Where(LessOrEqual(x, Limit!), Less(x, -0.5f), 1f));
                var picked = Where(positive, x * 2f, Where(GreaterOrEqual(y, 0f), y, 0f - x));
                return picked * inRange + Equal(Sum(x), Sum(x));
            }

            static Tensor Sum(Tensor t) => ReduceSum(t, 1, keepDims: true);
        }

        [Model]
        public partial class Upsample
        {
            [Weight(4, 3, 3, 3)] public Tensor? K { get; set; }

            public Tensor Forward([Input(1, 3, 6, 5)] Tensor image)
            {
                var y = Resize(Relu(Conv2d(image, K!, padding: 1)), 12, 10, ResizeMode.Linear, ResizeCoordinates.PytorchHalfPixel);
                return Resize(y, 5, 7, coordinates: ResizeCoordinates.Asymmetric, nearest: ResizeNearest.Floor, scaleHeight: 0.5f, scaleWidth: 0.75f);
            }
        }

        [Model]
        public partial class Recurrent
        {
            [Weight(1, 32, 6)] public Tensor? W { get; set; }
            [Weight(1, 32, 8)] public Tensor? R { get; set; }
            [Weight(1, 64)] public Tensor? B { get; set; }

            public Tensor Forward([Input(5, 2, 6)] Tensor x, [Input(1, 2, 8)] Tensor h0)
            {
                var y = Lstm(x, W!, R!, B, initialH: h0);                              // Y [5, 1, 2, 8]
                var c = Lstm(x, W!, R!, B, h0, output: LstmOutput.LastCell);          // Y_c [1, 2, 8], a second recurrence
                return Concat([ReduceMean(Reshape(y, 5, 2, 8), 0), Reshape(c, 2, 8)], axis: 1);
            }
        }

        [Model]
        public partial class Identity
        {
            public Tensor Forward([Input(3, 3)] Tensor x) => x;
        }
        """;

    private static readonly Lazy<Assembly> Compiled = new(() =>
    {
        var run = GeneratorHarness.Run(Source);
        Assert.Empty(run.Exceptions);
        Assert.Empty(run.Diagnostics);
        using var stream = new MemoryStream();
        var emit = run.Output.Emit(stream);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        stream.Position = 0;
        return new AssemblyLoadContext("e2e", isCollectible: true).LoadFromStream(stream);
    });

    public static TheoryData<string, int> ModelsAndThreads()
    {
        var data = new TheoryData<string, int>();
        foreach (var name in new[] { "Stack", "Attention", "Embedding", "SmallCnn", "GemmConv", "Upsampler", "PerAxisConv", "Masked", "Upsample", "Recurrent", "Identity" })
        {
            data.Add(name, 1);
            data.Add(name, 2); // the parallel GEMM must give the same results within tolerance
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ModelsAndThreads))]
    public void CompiledModelMatchesEagerForward(string name, int threads)
    {
        var type = Compiled.Value.GetType("E2E." + name)!;
        var model = Activator.CreateInstance(type)!;
        int seed = 1;
        foreach (var spec in (IEnumerable<Aot.Runtime.TensorSpec>)type.GetProperty("WeightSpecs")!.GetValue(null)!)
        {
            type.GetProperty(spec.Name)!.SetValue(model, Tensor.Random(seed++, -0.5f, 0.5f, spec.Shape));
        }

        var inputs = ((IEnumerable<Aot.Runtime.TensorSpec>)type.GetProperty("InputSpecs")!.GetValue(null)!)
            .Select(s => s.DType == DType.Int32 ? IntInput(seed++, s.Shape, 33) : Tensor.Random(seed++, -1f, 1f, s.Shape))
            .ToArray<object>();

        var eager = (Tensor)type.GetMethod("Forward")!.Invoke(model, inputs)!;
        using var compiled = (IDisposable)type.GetMethod("Compile")!.Invoke(model, new object[] { threads })!;
        var run = compiled.GetType().GetMethods().Single(m => m.Name == "Run" && m.ReturnType == typeof(Tensor));
        var ours = (Tensor)run.Invoke(compiled, inputs)!;

        Assert.Equal(eager.ShapeArray(), ours.ShapeArray());
        for (int i = 0; i < eager.Length; i++)
        {
            float expected = eager.Floats[i], actual = ours.Floats[i];
            Assert.True(Math.Abs(actual - expected) <= Atol + Rtol * Math.Abs(expected), $"{name}[{i}]: compiled {actual}, eager {expected}");
        }
    }

    [Fact]
    public void DeadCodeIsNotCompiledAndLoopsAreUnrolled()
    {
        var generated = GeneratorHarness.Run(Source).Generated.Single(s => s.Contains("Model E2E.Stack"));
        var header = generated.Substring(0, generated.IndexOf("#nullable", StringComparison.Ordinal));
        var irLines = header.Split('\n').Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\s*//\s+%\d+: ")).ToArray();
        Assert.DoesNotContain(irLines, l => l.Contains("Exp(")); // `unused` never reaches the output
        Assert.Equal(3, irLines.Count(l => l.Contains("= PackedGemm(")));
        Assert.Equal(3, irLines.Count(l => l.Contains("= PackB(")));
    }

    /// <summary>Stack's compiled instance keeps its three 17x17 matrices only as packed panels and its biases only as the
    /// three slices the layers read: Layers and Biases as given live in load scratch while the model compiles.</summary>
    [Fact]
    public void TheWeightsBufferHoldsOnlyWhatInferenceReads()
    {
        var compiled = Compiled.Value.GetType("E2E.Stack+Compiled")!;
        int weightBytes = (int)compiled.GetField("WeightBytes")!.GetValue(null)!;
        static int Aligned(int floats) => (floats + 15) / 16 * 16;
        Assert.Equal(4 * 3 * (Aligned(Aot.Runtime.Cpu.GemmLayout.PackedLength(17, 17)) + Aligned(17)), weightBytes);
    }

    [Fact]
    public void LstmWeightsArePackedOnceAtCompileTime()
    {
        // W and R, shared by both Lstm calls: each packed once (a PackB apiece), read by both calls as packed panels.
        var generated = GeneratorHarness.Run(Source).Generated.Single(s => s.Contains("Model E2E.Recurrent"));
        var header = generated.Substring(0, generated.IndexOf("#nullable", StringComparison.Ordinal));
        Assert.Equal(2, header.Split('\n').Count(l => l.Contains("= PackB(")));
        Assert.Equal(2, header.Split('\n').Count(l => l.Contains("= Lstm(") && l.Contains("n=32")));
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(generated, @"Recurrent\.LstmPacked\(").Count);
    }

    [Fact]
    public void WideConvolutionsRunAsImplicitGemm()
    {
        var generated = GeneratorHarness.Run(Source).Generated.Single(s => s.Contains("Model E2E.GemmConv"));
        var header = generated.Substring(0, generated.IndexOf("#nullable", StringComparison.Ordinal));
        Assert.Equal(3, header.Split('\n').Count(l => l.Contains("= ConvGemm(")));
        Assert.DoesNotContain(header.Split('\n'), l => l.Contains("= Conv2d("));
    }

    private static Tensor IntInput(int seed, int[] shape, int range)
    {
        var r = Tensor.Random(seed, 0, 1, shape);
        // Negative indices count from the end, so cover both signs.
        return Tensor.FromArray(r.Floats.ToArray().Select(v => (int)(v * 2 * range) - range).ToArray(), shape);
    }
}
