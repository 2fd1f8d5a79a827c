using ILGPU;
using ILGPU.Runtime;

namespace GpuBenchmarks;

/// <summary>A compiled GPU model behind one shape-independent face (every benchmark model has one input), so the harness
/// does not depend on which generated class it drives.</summary>
internal sealed class GpuModel(IDisposable compiled, Action<ArrayView<float>, ArrayView<float>> runViews, GpuModel.HostRun runHost, Action synchronize,
    Func<ArrayView<float>, ArrayView<float>, double[]>? profile = null, Type? compiledType = null)
    : IDisposable
{
    /// <summary>Device time of each kernel launch of one run (the generated <c>ProfileLaunches</c>), or null.</summary>
    public double[]? Profile(ArrayView<float> input, ArrayView<float> output) => profile?.Invoke(input, output);

    /// <summary>The generated <c>LaunchNames</c>: kernel method and summary of each launch.</summary>
    public string[] LaunchNames =>
        compiledType?.GetField("LaunchNames")?.GetValue(null) as string[] ?? Array.Empty<string>();

    public delegate void HostRun(ReadOnlySpan<float> input, Span<float> output);

    /// <summary>Enqueues one inference on device memory (no synchronization).</summary>
    public void Run(ArrayView<float> input, ArrayView<float> output) => runViews(input, output);

    /// <summary>The host-span API: copies in, runs, copies out, synchronizes.</summary>
    public void Run(ReadOnlySpan<float> input, Span<float> output) => runHost(input, output);

    public void Synchronize() => synchronize();

    public void Dispose() => compiled.Dispose();
}

/// <summary>The result of comparing a GPU output against a reference.</summary>
internal sealed record CheckResult(string Reference, long Compared, double MaxAbsDiff, double MaxRelDiff, long WorstIndex, double Atol, double Rtol, bool Ok, string? Note = null);

/// <summary>One benchmark: a model, its input, how to compile it for the GPU, and how to check its output.</summary>
internal sealed class Workload
{
    /// <summary>Stable key shared with torch_bench.py's JSON: gemm, elementwise, transformer_block.</summary>
    public required string Name { get; init; }

    /// <summary>Which --only group it belongs to.</summary>
    public required string Group { get; init; }

    public required string Description { get; init; }

    /// <summary>Floating-point operations per run (0 when not meaningful).</summary>
    public long Flops { get; init; }

    /// <summary>Bytes one run must move to and from device memory at minimum (0 when not meaningful).</summary>
    public long Bytes { get; init; }

    public string? BytesNote { get; init; }

    public required float[] Input { get; init; }

    public required int OutputLength { get; init; }

    public required Func<ILGPU.Runtime.Accelerator, GpuModel> CompileForGpu { get; init; }

    /// <summary>Checks of the GPU output (the input and the output are host copies); each returns one result.</summary>
    public List<Func<float[], float[], CheckResult>> Checks { get; } = new();
}

internal static class Compare
{
    /// <summary>Elementwise |actual - expected| &lt;= atol + rtol * |expected| over the first expected.Length elements.</summary>
    public static CheckResult Arrays(string reference, ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double atol, double rtol, string? note = null)
    {
        if (actual.Length < expected.Length)
        {
            return new CheckResult(reference, 0, double.NaN, double.NaN, -1, atol, rtol, false, $"output has {actual.Length} elements, reference {expected.Length}");
        }

        double maxAbs = 0, maxRel = 0;
        long worst = -1, firstNaN = -1;
        bool ok = true;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            double diff = Math.Abs(a - e);
            if (double.IsNaN(diff))
            {
                // NaN or infinity where the reference is finite (or vice versa): always a failure.
                ok = false;
                if (firstNaN < 0) firstNaN = i;
                continue;
            }

            if (diff > atol + rtol * Math.Abs(e)) ok = false;
            if (diff > maxAbs || worst < 0)
            {
                maxAbs = diff;
                worst = i;
            }

            maxRel = Math.Max(maxRel, diff / Math.Max(Math.Abs(e), 1e-6));
        }

        if (firstNaN >= 0)
        {
            return new CheckResult(reference, expected.Length, double.NaN, double.NaN, firstNaN, atol, rtol, false, (note is null ? "" : note + "; ") + "NaN in the output");
        }

        return new CheckResult(reference, expected.Length, maxAbs, maxRel, worst, atol, rtol, ok, note);
    }
}
