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
    private readonly OrtValue _input;
    private readonly OrtValue _output;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly OrtValue[] _inputValues;
    private readonly OrtValue[] _outputValues;

    public OrtRunner(byte[] model, int threads, float[] input, int[] inputShape, float[] output, int[] outputShape)
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

        string inputName = _session.InputNames.Single();
        string outputName = _session.OutputNames.Single();
        CheckShape("input", _session.InputMetadata[inputName].Dimensions, inputShape);
        CheckShape("output", _session.OutputMetadata[outputName].Dimensions, outputShape);

        _input = OrtValue.CreateTensorValueFromMemory(input, inputShape.Select(d => (long)d).ToArray());
        _output = OrtValue.CreateTensorValueFromMemory(output, outputShape.Select(d => (long)d).ToArray());
        _inputNames = new[] { inputName };
        _outputNames = new[] { outputName };
        _inputValues = new[] { _input };
        _outputValues = new[] { _output };
    }

    public void Run() => _session.Run(_runOptions, _inputNames, _inputValues, _outputNames, _outputValues);

    public static string Version => OrtEnv.Instance().GetVersionString();

    private static void CheckShape(string what, int[] actual, int[] expected)
    {
        if (!actual.SequenceEqual(expected))
        {
            throw new InvalidOperationException($"ONNX model {what} shape [{string.Join(", ", actual)}] != expected [{string.Join(", ", expected)}]");
        }
    }

    public void Dispose()
    {
        _input.Dispose();
        _output.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
        _options.Dispose();
    }
}
