using Aot.Dsl;
using Aot.Tests.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Tensor = Aot.Dsl.Tensor;

namespace Onnx.Tests;

/// <summary>A single-op (or small) ONNX model built by a test: its graph, opset and input ranges.</summary>
internal sealed class OnnxCase
{
    private readonly Action<OnnxGraph> _build;
    private readonly Action<OnnxGraph>? _reference;

    /// <param name="reference">When ONNX Runtime cannot run the imported graph (LSTM layout 1), an equivalent graph it
    /// can run, with the same inputs and the same initializer values, that gives the expected result.</param>
    public OnnxCase(string name, Action<OnnxGraph> build, int opset = 17, float low = -1f, float high = 1f, Action<OnnxGraph>? reference = null)
    {
        Name = name;
        _build = build;
        _reference = reference;
        Opset = opset;
        Low = low;
        High = high;
    }

    public string Name { get; }
    public int Opset { get; }
    public float Low { get; }
    public float High { get; }

    /// <summary>The class the case imports as: Imported.&lt;sanitized name&gt;.</summary>
    public string ClassName => "Imported." + new string(Name.Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray());

    public byte[] Model() => Build(_build);

    /// <summary>The model ONNX Runtime runs for the expected result instead of the imported one; null when that is the
    /// imported one (whose bytes the caller has: building a graph again draws new random weights).</summary>
    public byte[]? ReferenceModel() => _reference is null ? null : Build(_reference);

    private byte[] Build(Action<OnnxGraph> build)
    {
        var g = new OnnxGraph(Name);
        build(g);
        return g.ToModel(Opset);
    }

    public override string ToString() => Name;
}

/// <summary>Runs a model in ONNX Runtime (CPU, one thread, no graph optimizations that change arithmetic order beyond its own kernels).</summary>
internal static class Ort
{
    public static Tensor Run(byte[] model, IReadOnlyList<(string Name, Tensor Value)> inputs)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        var values = inputs.Select(i => Input(session, i.Name, i.Value)).ToList();
        using var results = session.Run(values);
        var output = results.First().AsTensor<float>();
        return Tensor.FromArray(output.ToArray(), output.Dimensions.ToArray());
    }

    /// <summary>An ORT input of the type the model declares: integer inputs (Float32 holding integers in the DSL)
    /// become Int64/Int32 tensors.</summary>
    public static NamedOnnxValue Input(InferenceSession session, string name, Tensor value)
    {
        var shape = value.ShapeArray();
        var floats = value.Floats.ToArray();
        var type = session.InputMetadata[name].ElementDataType;
        return type switch
        {
            TensorElementType.Int64 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(floats.Select(f => checked((long)f)).ToArray(), shape)),
            TensorElementType.Int32 => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>(floats.Select(f => checked((int)f)).ToArray(), shape)),
            _ => NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(floats, shape)),
        };
    }
}

/// <summary>The issue's tolerance: |a - b| &lt;= 1e-4 + 1e-3 * |b| per element, b from ONNX Runtime.</summary>
internal static class Tolerance
{
    public static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.True(expected.ShapeArray().SequenceEqual(actual.ShapeArray()), $"{what}: shape [{string.Join(", ", actual.ShapeArray())}], ONNX Runtime [{string.Join(", ", expected.ShapeArray())}]");
        var e = expected.Floats;
        var a = actual.Floats;
        for (int i = 0; i < e.Length; i++)
        {
            Assert.True(Math.Abs(a[i] - e[i]) <= 1e-4 + 1e-3 * Math.Abs(e[i]), $"{what}[{i}]: {a[i]}, ONNX Runtime {e[i]}");
        }
    }
}
