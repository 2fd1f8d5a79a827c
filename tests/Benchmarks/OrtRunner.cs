using Microsoft.ML.OnnxRuntime;

namespace Benchmarks;

/// <summary>
/// An ONNX Runtime CPU session loaded from the in-memory model bytes, with its input and output OrtValues created once
/// over pinned managed arrays (OrtValue.CreateTensorValueFromMemory), so a timed call is one
/// session.Run(RunOptions, names, values, outputNames, outputValues): no tensor allocation, no copies.
/// Settings: intra-op threads as given, inter-op 1, sequential execution, all graph optimizations.
/// </summary>
internal sealed class OrtRunner : IDisposable
{
    private readonly SessionOptions _options;
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions;
    private readonly OrtValue[] _inputs;
    private readonly OrtValue _output;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly OrtValue[] _inputValues;
    private readonly OrtValue[] _outputValues;

    public OrtRunner(byte[] model, int threads, float[] input, int[] inputShape, float[] output, int[] outputShape)
        : this(model, threads, new[] { new OrtFeed(null, input, inputShape) }, null, output, outputShape)
    {
    }

    /// <summary>Several inputs (float[] or long[] data, e.g. a transformer's token ids and mask) and, for a model with
    /// several outputs, the one to compute (null: the only one). A feed without a name is the session's only input.</summary>
    public OrtRunner(byte[] model, int threads, IReadOnlyList<OrtFeed> feeds, string? outputName, float[] output, int[] outputShape)
    {
        _options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        _session = new InferenceSession(model, _options);
        _runOptions = new RunOptions();

        _inputNames = feeds.Select(f => f.Name ?? _session.InputNames.Single()).ToArray();
        outputName ??= _session.OutputNames.Single();
        // Symbolic dimensions (-1 in the metadata) take the feed's size.
        for (int i = 0; i < feeds.Count; i++) CheckShape("input " + _inputNames[i], _session.InputMetadata[_inputNames[i]].Dimensions, feeds[i].Shape);
        CheckShape("output", _session.OutputMetadata[outputName].Dimensions, outputShape);

        _inputs = feeds.Select(f => f.Data switch
        {
            float[] floats => OrtValue.CreateTensorValueFromMemory(floats, f.Shape.Select(d => (long)d).ToArray()),
            long[] longs => OrtValue.CreateTensorValueFromMemory(longs, f.Shape.Select(d => (long)d).ToArray()),
            _ => throw new ArgumentException($"feed {f.Name}: float[] or long[] data expected"),
        }).ToArray();
        _output = OrtValue.CreateTensorValueFromMemory(output, outputShape.Select(d => (long)d).ToArray());
        _outputNames = new[] { outputName };
        _inputValues = _inputs;
        _outputValues = new[] { _output };
    }

    public void Run() => _session.Run(_runOptions, _inputNames, _inputValues, _outputNames, _outputValues);

    public static string Version => OrtEnv.Instance().GetVersionString();

    private static void CheckShape(string what, int[] actual, int[] expected)
    {
        if (actual.Length != expected.Length || actual.Where((d, i) => d >= 0 && d != expected[i]).Any())
        {
            throw new InvalidOperationException($"ONNX model {what} shape [{string.Join(", ", actual)}] != expected [{string.Join(", ", expected)}]");
        }
    }

    public void Dispose()
    {
        foreach (var input in _inputs) input.Dispose();
        _output.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
        _options.Dispose();
    }
}

/// <summary>One ORT input over a pinned array: float[] or long[] (Int64 inputs such as token ids).</summary>
internal sealed record OrtFeed(string? Name, Array Data, int[] Shape);
