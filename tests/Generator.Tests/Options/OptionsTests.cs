using Aot.Generator;
using Aot.Generator.Diagnostics;
using Generator.Tests.EndToEnd;
using Generator.Tests.Frontend;
using Microsoft.CodeAnalysis;

namespace Generator.Tests.Options;

/// <summary>
/// The MSBuild knobs AotTargets and AotInstructionSet: what they parse to, what they change in the generated code,
/// and the diagnostics for values the generator cannot use (AOT0013) or a gpu target it cannot generate (AOT0014).
/// </summary>
public class OptionsTests
{
    internal const string Model = GeneratorHarness.Usings + """
        namespace T;

        [Model]
        public partial class Net
        {
            [Weight(50, 40)] public Tensor? W1 { get; set; }
            [Weight(50)] public Tensor? B1 { get; set; }
            [Weight(20, 50)] public Tensor? W2 { get; set; }

            public Tensor Forward([Input(3, 40)] Tensor x) => Softmax(Linear(Relu(Linear(x, W1!, B1)), W2!), axis: -1);
        }
        """;

    private static GeneratorHarness.RunOutput Run(params (string Name, string Value)[] properties) =>
        GeneratorHarness.RunWith(properties.ToDictionary(p => p.Name, p => p.Value), null, Model);

    private static GeneratorOptions Parse(string? targets = null, string? instructionSet = null, List<DiagnosticInfo>? problems = null)
    {
        var values = new Dictionary<string, string>();
        if (targets is not null) values["AotTargets"] = targets;
        if (instructionSet is not null) values["AotInstructionSet"] = instructionSet;
        var parsed = GeneratorOptions.Parse(new BuildProperties(values).GlobalOptions);
        problems?.AddRange(parsed.Problems);
        return parsed.Options;
    }

    [Fact]
    public void TargetsDefaultToCpuAndGpuWhenAvailable()
    {
        var options = Parse();
        Assert.Equal(new BackendTargets(Cpu: true, Gpu: true, Npu: false, Explicit: false), options.Targets);
        Assert.Equal(Parse(targets: " ; "), options); // an empty list is the default
    }

    [Theory]
    [InlineData("cpu", true, false, false)]
    [InlineData("cpu;gpu", true, true, false)]
    [InlineData("CPU, NPU", true, false, true)]
    [InlineData("npu", false, false, true)]
    [InlineData("gpu;npu;cpu", true, true, true)]
    public void TargetsParseEachBackend(string value, bool cpu, bool gpu, bool npu)
    {
        var problems = new List<DiagnosticInfo>();
        Assert.Equal(new BackendTargets(cpu, gpu, npu, Explicit: true), Parse(targets: value, problems: problems).Targets);
        Assert.Empty(problems);
    }

    [Theory]
    [InlineData("", "Auto")]
    [InlineData("auto", "Auto")]
    [InlineData("avx512", "Avx512")]
    [InlineData("X86-64-V4", "Avx512")]
    [InlineData("avx2", "Avx2")]
    [InlineData("x86-64-v3", "Avx2")]
    [InlineData("sse4", "Vector128")]
    [InlineData("vector128", "Vector128")]
    [InlineData("neon", "Vector128")]
    public void InstructionSetsParse(string value, string expected)
    {
        var problems = new List<DiagnosticInfo>();
        Assert.Equal(expected, Parse(instructionSet: value, problems: problems).InstructionSet.ToString());
        Assert.Empty(problems);
    }

    [Fact]
    public void OptionsAreEquatable()
    {
        Assert.Equal(Parse(targets: "cpu;npu", instructionSet: "avx2"), Parse(targets: "npu,cpu", instructionSet: "AVX2"));
        Assert.NotEqual(Parse(targets: "cpu;npu"), Parse(targets: "cpu"));
        Assert.NotEqual(Parse(instructionSet: "avx2"), Parse(instructionSet: "avx512"));
    }

    [Fact]
    public void AnUnknownTargetIsAnErrorAndTheOthersStillApply()
    {
        var run = Run(("AotTargets", "cpu;tpu"));
        var diagnostic = Assert.Single(run.Diagnostics);
        Assert.Equal("AOT0013", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal(Location.None, diagnostic.Location);
        Assert.Contains("AotTargets lists 'tpu', which is not a backend", diagnostic.GetMessage());
        Assert.Contains("cpu, gpu, npu", diagnostic.GetMessage());
        Assert.EndsWith("docs/diagnostics/AOT0013.md", diagnostic.Descriptor.HelpLinkUri);
        Assert.Contains("public sealed class Compiled", Assert.Single(run.Generated));
    }

    [Fact]
    public void AnUnknownInstructionSetIsAnErrorAndFallsBackToAuto()
    {
        var run = Run(("AotInstructionSet", "avx512f"));
        var diagnostic = Assert.Single(run.Diagnostics);
        Assert.Equal("AOT0013", diagnostic.Id);
        Assert.Contains("AotInstructionSet is 'avx512f'", diagnostic.GetMessage());
        Assert.Contains("CpuInstructionSet InstructionSet = global::Aot.Runtime.Cpu.CpuInstructionSet.Auto;", Assert.Single(run.Generated));
    }

    [Fact]
    public void OptionProblemsAreNotReportedWithoutAModel()
    {
        var run = GeneratorHarness.RunWith(new Dictionary<string, string> { ["AotTargets"] = "tpu", ["AotInstructionSet"] = "x" }, null,
            "namespace T; public static class Util { }");
        Assert.Empty(run.Diagnostics);
    }

    [Fact]
    public void AGpuTargetWithoutIlgpuWarnsWhichPackageToAdd()
    {
        var run = Run(("AotTargets", "cpu;gpu"));
        var diagnostic = Assert.Single(run.Diagnostics);
        Assert.Equal("AOT0014", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Warning, diagnostic.Severity);
        Assert.Contains("<PackageReference Include=\"Aot.Compiler.Gpu\" />", diagnostic.GetMessage());
        Assert.DoesNotContain(run.Generated, g => g.Contains("GpuCompiled"));
        Assert.Empty(run.GeneratedCodeProblems);

        Assert.Empty(Run().Diagnostics); // gpu by default: generated when possible, never a warning
    }

    [Fact]
    public void AnNpuTargetWarnsWhatTheNpuBackendCannotCompile()
    {
        var run = GeneratorHarness.RunWith(new Dictionary<string, string> { ["AotTargets"] = "cpu;npu" }, null, GeneratorHarness.Usings + """
            [Model]
            public partial class Attention
            {
                public Tensor Forward([Input(128, 64)] Tensor q, [Input(128, 64)] Tensor k) => Softmax(MatMul(q, Transpose(k, 1, 0)), axis: -1);
            }
            """);
        var diagnostic = Assert.Single(run.Diagnostics);
        Assert.Equal("AOT0017", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Warning, diagnostic.Severity);
        Assert.DoesNotContain(run.Generated, g => g.Contains("NpuProgram", StringComparison.Ordinal));
        Assert.Contains(run.Generated, g => g.Contains("class Compiled", StringComparison.Ordinal));
    }

    [Fact]
    public void AnLstmIsNotCompiledForTheNpuButStillForTheCpu()
    {
        var run = GeneratorHarness.RunWith(new Dictionary<string, string> { ["AotTargets"] = "cpu;npu" }, null, GeneratorHarness.Usings + """
            [Model]
            public partial class Recurrent
            {
                [Weight(1, 32, 16)] public Tensor? W { get; set; }
                [Weight(1, 32, 8)] public Tensor? R { get; set; }
                public Tensor Forward([Input(4, 1, 16)] Tensor x) => Lstm(x, W!, R!, output: LstmOutput.LastHidden);
            }
            """);
        var diagnostic = Assert.Single(run.Diagnostics);
        Assert.Equal("AOT0017", diagnostic.Id);
        Assert.Contains("does not support Lstm", diagnostic.GetMessage());
        Assert.DoesNotContain(run.Generated, g => g.Contains("NpuProgram", StringComparison.Ordinal));
        Assert.Contains(run.Generated, g => g.Contains("class Compiled", StringComparison.Ordinal));
        Assert.Empty(run.GeneratedCodeProblems);
    }

    [Fact]
    public void WithoutTheCpuTargetOnlyTheWeightLoadingIsGenerated()
    {
        var run = Run(("AotTargets", "npu"));
        Assert.Empty(run.Diagnostics);
        var source = Assert.Single(run.Generated, g => g.Contains("(CPU backend", StringComparison.Ordinal)); // the NPU backend adds its own file
        Assert.Contains("public void LoadWeights(string path)", source);
        Assert.Contains("WeightSpecs", source);
        Assert.DoesNotContain("class Compiled", source);
        Assert.DoesNotContain("Compile(int threads", source);
        Assert.DoesNotContain("TunableKernels", source);
        Assert.Empty(run.GeneratedCodeProblems);
    }

    [Theory]
    [InlineData("avx512", "Avx512")]
    [InlineData("avx2", "Avx2")]
    [InlineData("vector128", "Vector128")]
    public void AnInstructionSetFixesTheGemmKernelAndIsCheckedAtCompile(string value, string member)
    {
        var auto = Assert.Single(Run().Generated);
        var run = Run(("AotInstructionSet", value));
        Assert.Empty(run.Diagnostics);
        var source = Assert.Single(run.Generated);
        Assert.NotEqual(auto, source);
        Assert.Contains($"// Instruction set: {value} (AotInstructionSet)", source);
        Assert.Contains($"InstructionSet = global::Aot.Runtime.Cpu.CpuInstructionSet.{member};", source);
        Assert.Contains("global::Aot.Runtime.Cpu.CpuFeatures.Require(InstructionSet);", source);
        Assert.DoesNotContain("CpuFeatures.Require", auto);
        Assert.Contains("pool: _pool, isa: InstructionSet);", source);

        var assembly = GeneratedModels.Load(run);
        if (!Aot.Runtime.Cpu.CpuFeatures.IsSupported(Enum.Parse<Aot.Runtime.Cpu.CpuInstructionSet>(member)))
        {
            var type = assembly.GetType("T.Net")!;
            var e = Assert.Throws<System.Reflection.TargetInvocationException>(() => type.GetMethod("Compile")!.Invoke(Activator.CreateInstance(type), new object[] { 1 }));
            Assert.IsType<PlatformNotSupportedException>(e.InnerException);
            return;
        }

        GeneratedModels.AssertMatchesEager(assembly, "T.Net", threads: 1);
        GeneratedModels.AssertMatchesEager(assembly, "T.Net", threads: 2);
    }
}
