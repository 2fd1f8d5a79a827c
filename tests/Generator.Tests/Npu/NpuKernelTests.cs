using Aot.Runtime.Npu;
using Xunit.Abstractions;

namespace Generator.Tests.Npu;

/// <summary>
/// The reference kernels of the NPU-1 contract (shared/docs/npu-1.md), each written as a DSL model, compiled by the
/// generator and simulated: numerics against the eager reference, cycles against the spec's ideal, and the compiler's
/// prediction against the simulator (within 10%).
/// </summary>
public sealed class NpuKernelTests(ITestOutputHelper output)
{
    private NpuReport Run(string model, string body, NpuPrecision precision = NpuPrecision.Float16, double tolerance = 1e-2)
    {
        string source = $$"""
            using Aot.Dsl;
            using static Aot.Dsl.Ops;
            namespace T;
            [Model]
            public partial class {{model}}
            {
            {{body}}
            }
            """;
        return NpuModelTests.RunAndCompare(NpuModelTests.Build(source), "T." + model, output, tolerance, precision, extraSamples: 0);
    }

    private static void AssertPredicted(NpuReport report, string mark, long predicted)
    {
        var region = report.Marks.Single(m => m.Name == mark);
        double ratio = (double)predicted / region.Cycles;
        Assert.True(ratio is > 0.9 and < 1.1, $"{mark}: predicted {predicted}, simulated {region.Cycles} (ratio {ratio:F3})");
    }

    [Fact]
    public void Gemm_512_reaches_85_percent_of_the_mxu()
    {
        var report = Run("Gemm512", """
                [Weight(512, 512)] public Tensor? W { get; set; }
                public Tensor Forward([Input(512, 512)] Tensor x) => MatMul(x, W!);
            """);
        // Ideal: 512^3 / 1024 = 131,072 cycles; >= 85% utilization means <= 154,202.
        Assert.True(report.TotalCycles <= 154_202, $"GEMM 512^3: {report.TotalCycles} cycles, {report.MxuUtilization:P1} of the MXU");
    }

    [Fact]
    public void Conv_3x3_64_channels_56x56_reaches_80_percent()
    {
        var report = Run("Conv56", """
                [Weight(64, 64, 3, 3)] public Tensor? W { get; set; }
                public Tensor Forward([Input(1, 64, 56, 56)] Tensor x) => Conv2d(x, W!, padding: 1);
            """);
        // Ideal: 3136 x 64 x 576 / 1024 = 112,896 cycles; 80% means <= 141,120.
        Assert.True(report.TotalCycles <= 141_120, $"conv: {report.TotalCycles} cycles, {report.MxuUtilization:P1} of the MXU");
    }

    [Fact]
    public void Attention_512_by_64_within_1_3x_of_ideal()
    {
        var report = Run("Attention512", """
                public Tensor Forward([Input(512, 64)] Tensor q, [Input(512, 64)] Tensor k, [Input(512, 64)] Tensor v)
                    => MatMul(Softmax(MatMul(q, Transpose(k, 1, 0)) * 0.125f, axis: -1), v);
            """);
        // Ideal about 40,960 (the VPU's 5 passes over 512 x 512 scores); 1.3x is 53,248.
        Assert.True(report.TotalCycles <= 53_248, $"attention: {report.TotalCycles} cycles");
    }

    [Fact]
    public void LayerNorm_128_by_768_within_1_3x_of_ideal()
    {
        var report = Run("LayerNorm768", """
                [Weight(768)] public Tensor? G { get; set; }
                [Weight(768)] public Tensor? B { get; set; }
                public Tensor Forward([Input(128, 768)] Tensor x) => LayerNorm(x, G!, B!);
            """);
        // Ideal about 18,432; 1.3x is 23,962.
        Assert.True(report.TotalCycles <= 23_962, $"layernorm: {report.TotalCycles} cycles");
    }

    [Fact]
    public void Gemv_int8_4096_within_10_percent_of_its_dram_bound()
    {
        var report = Run("Gemv4096", """
                [Weight(4096, 4096)] public Tensor? W { get; set; }
                public Tensor Forward([Input(1, 4096)] Tensor x) => MatMul(x, W!);
            """, NpuPrecision.Int8, tolerance: 3e-2);
        // The 16 MiB of int8 weights at 32 B/cycle: 524,288 cycles; within 10% is 576,717.
        Assert.True(report.TotalCycles <= 576_717, $"GEMV int8: {report.TotalCycles} cycles");
    }
}
