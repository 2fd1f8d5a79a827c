using System.Buffers.Binary;
using System.Text;

namespace Aot.Tests.Onnx;

// A minimal ONNX writer, shared by tests/Benchmarks (models for ONNX Runtime) and tests/Onnx.Tests (single-op models for
// the importer): just enough of the protobuf wire format and of onnx.proto to serialize inference graphs. Written by
// hand rather than with Google.Protobuf, which would still need hand-written message classes or protoc at build time.
//
// Protobuf wire format (https://protobuf.dev/programming-guides/encoding/): every field is a key varint
// (field_number << 3 | wire_type) followed by its payload. We use wire type 0 (varint: int64, int32, enum),
// 2 (length-delimited: string, bytes, embedded message) and 5 (fixed32: float). onnx.proto is proto2, so repeated
// scalars are written unpacked (one key per element), which every parser accepts.
//
// The onnx.proto field numbers used (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto):
//   ModelProto        ir_version=1 (int64), producer_name=2, graph=7, opset_import=8
//   OperatorSetIdProto domain=1 (string), version=2 (int64)
//   GraphProto        node=1, name=2, initializer=5, input=11, output=12
//   NodeProto         input=1, output=2, name=3, op_type=4, attribute=5
//   AttributeProto    name=1, f=2, i=3, s=4, t=5, floats=7, ints=8, type=20 (FLOAT=1, INT=2, STRING=3, TENSOR=4, FLOATS=6, INTS=7)
//   TensorProto       dims=1 (int64), data_type=2 (FLOAT=1, INT64=7), float_data=4, int64_data=7, name=8,
//                     raw_data=9 (little-endian bytes), external_data=13 (StringStringEntryProto key=1 value=2), data_location=14
//   ValueInfoProto    name=1, type=2
//   TypeProto         tensor_type=1;  TypeProto.Tensor elem_type=1, shape=2
//   TensorShapeProto  dim=1;  TensorShapeProto.Dimension dim_value=1, dim_param=2

/// <summary>Appends protobuf fields to a growable buffer.</summary>
internal sealed class ProtoWriter
{
    private const int Varint = 0, LengthDelimited = 2, Fixed32 = 5;
    private readonly MemoryStream _buffer = new();

    public byte[] ToArray() => _buffer.ToArray();

    private void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        _buffer.WriteByte((byte)value);
    }

    private void Key(int field, int wireType) => WriteVarint((ulong)((field << 3) | wireType));

    /// <summary>int64/int32/enum field. Negative values are sign-extended to 10 bytes, as protobuf requires for int32 too.</summary>
    public void Int(int field, long value)
    {
        Key(field, Varint);
        WriteVarint(unchecked((ulong)value));
    }

    public void Float(int field, float value)
    {
        Key(field, Fixed32);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        _buffer.Write(bytes);
    }

    public void Bytes(int field, ReadOnlySpan<byte> value)
    {
        Key(field, LengthDelimited);
        WriteVarint((ulong)value.Length);
        _buffer.Write(value);
    }

    public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    /// <summary>An embedded message: serialized separately, then written as a length-delimited field.</summary>
    public void Message(int field, Action<ProtoWriter> body)
    {
        var inner = new ProtoWriter();
        body(inner);
        Bytes(field, inner._buffer.GetBuffer().AsSpan(0, (int)inner._buffer.Length));
    }
}

/// <summary>A tensor for an initializer or a Constant's value attribute: float or int64 (or, with <see cref="Int32"/>,
/// int32) data, stored as raw_data, as float_data/int64_data, or in an external file.</summary>
internal sealed record OnnxTensor(long[] Dims, float[]? Floats = null, long[]? Ints = null)
{
    public const int TensorFloat = 1, TensorInt32 = 6, TensorInt64 = 7;

    /// <summary>Store <see cref="Ints"/> as int32 (e.g. LSTM's sequence_lens), raw only.</summary>
    public bool Int32 { get; init; }

    /// <summary>Write float_data/int64_data instead of raw_data.</summary>
    public bool Typed { get; init; }

    /// <summary>External data: (location, offset, length) instead of inline data.</summary>
    public (string Location, long Offset, long Length)? External { get; init; }

    public static OnnxTensor Of(float[] data, params int[] shape) => new(shape.Select(d => (long)d).ToArray(), Floats: data);

    public static OnnxTensor Of(long[] data, params int[] shape) => new(shape.Select(d => (long)d).ToArray(), Ints: data);

    /// <summary>The little-endian bytes of the data (what raw_data or an external file holds).</summary>
    public byte[] Raw()
    {
        if (Floats is not null)
        {
            var raw = new byte[Floats.Length * 4];
            for (int i = 0; i < Floats.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(4 * i), Floats[i]);
            return raw;
        }

        int size = Int32 ? 4 : 8;
        var bytes = new byte[Ints!.Length * size];
        for (int i = 0; i < Ints.Length; i++)
        {
            if (Int32) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * i), checked((int)Ints[i]));
            else BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8 * i), Ints[i]);
        }

        return bytes;
    }

    public void Write(ProtoWriter t, string? name)
    {
        foreach (var d in Dims) t.Int(1, d);
        t.Int(2, Floats is not null ? TensorFloat : Int32 ? TensorInt32 : TensorInt64);
        if (name is not null) t.String(8, name);
        if (External is { } e)
        {
            t.Message(13, kv => { kv.String(1, "location"); kv.String(2, e.Location); });
            t.Message(13, kv => { kv.String(1, "offset"); kv.String(2, e.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture)); });
            t.Message(13, kv => { kv.String(1, "length"); kv.String(2, e.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)); });
            t.Int(14, 1);
        }
        else if (Typed && Floats is not null)
        {
            foreach (var f in Floats) t.Float(4, f);
        }
        else if (Typed && !Int32)
        {
            foreach (var v in Ints!) t.Int(7, v);
        }
        else
        {
            t.Bytes(9, Raw());
        }
    }
}

/// <summary>An ONNX attribute value: an int, a float, a string, a tensor, a graph (If's branches), or a list of ints, floats or strings.</summary>
internal readonly record struct OnnxAttr(string Name, long? I = null, float? F = null, long[]? Ints = null, string? S = null, float[]? Floats = null, OnnxTensor? T = null, OnnxGraph? G = null, string[]? Strings = null)
{
    public static OnnxAttr Graph(string name, OnnxGraph value) => new(name, G: value);

    public static OnnxAttr StrList(string name, params string[] values) => new(name, Strings: values);
    public static OnnxAttr Int(string name, long value) => new(name, I: value);
    public static OnnxAttr Float(string name, float value) => new(name, F: value);
    public static OnnxAttr List(string name, params long[] values) => new(name, Ints: values);
    public static OnnxAttr FloatList(string name, params float[] values) => new(name, Floats: values);
    public static OnnxAttr Str(string name, string value) => new(name, S: value);
    public static OnnxAttr Tensor(string name, OnnxTensor value) => new(name, T: value);
}

/// <summary>
/// Builds an ONNX inference graph (float32 inputs/outputs, float and int64 initializers) and serializes it to a
/// ModelProto. Node outputs get fresh names; the builder methods return them so graphs read like expressions:
/// <c>var h = g.Op("Relu", g.Op("Gemm", x, w, b, ...))</c>.
/// </summary>
internal sealed class OnnxGraph
{
    private const int TensorFloat = 1;
    private const int AttrFloat = 1, AttrInt = 2, AttrString = 3, AttrTensor = 4, AttrGraph = 5, AttrFloats = 6, AttrInts = 7, AttrStrings = 8;

    private readonly string _name;
    private readonly List<(string Name, int[] Shape, string?[]? Params, int Type)> _inputs = new();
    private readonly List<(string Name, int[]? Shape)> _outputs = new();
    private readonly List<(string Name, OnnxTensor Tensor)> _initializers = new();
    private readonly List<(string Op, string[] Inputs, string[] Outputs, OnnxAttr[] Attrs)> _nodes = new();
    private readonly string _prefix;
    private int _next;

    /// <param name="name">The graph's name.</param>
    /// <param name="prefix">Prepended to the names this builder makes (node outputs, constants), so a subgraph's
    /// values do not shadow its outer graph's.</param>
    public OnnxGraph(string name, string prefix = "")
    {
        _name = name;
        _prefix = prefix;
    }

    public string Input(string name, params int[] shape)
    {
        _inputs.Add((name, shape, null, OnnxTensor.TensorFloat));
        return name;
    }

    /// <summary>An Int64 graph input (token ids, indices).</summary>
    public string Int64Input(string name, params int[] shape)
    {
        _inputs.Add((name, shape, null, OnnxTensor.TensorInt64));
        return name;
    }

    /// <summary>An input whose dimension i is symbolic (dim_param) where <paramref name="symbolic"/>[i] is not null.</summary>
    public string SymbolicInput(string name, int[] shape, string?[] symbolic)
    {
        _inputs.Add((name, shape, symbolic, OnnxTensor.TensorFloat));
        return name;
    }

    /// <summary>Declares a node result as a graph output (its shape is written into the model).</summary>
    public void Output(string name, params int[] shape) => _outputs.Add((name, shape));

    /// <summary>Declares a graph output without a shape (ONNX Runtime and the importer infer it).</summary>
    public void Output(string name) => _outputs.Add((name, null));

    /// <summary>A float initializer with the given data and shape (copied as little-endian raw_data).</summary>
    public string Initializer(string name, ReadOnlySpan<float> data, params int[] shape)
    {
        if (data.Length != (int)shape.Aggregate(1L, (p, d) => p * d)) throw new ArgumentException($"initializer {name}: {data.Length} values for shape [{string.Join(", ", shape)}]");
        _initializers.Add((name, OnnxTensor.Of(data.ToArray(), shape)));
        return name;
    }

    /// <summary>An initializer in any storage form (float_data, external data, ...).</summary>
    public string Initializer(string name, OnnxTensor tensor)
    {
        _initializers.Add((name, tensor));
        return name;
    }

    /// <summary>A scalar (rank-0) float initializer.</summary>
    public string Scalar(float value) => Initializer(_prefix + "const" + _next++, new[] { value });

    /// <summary>A 1-D int64 initializer (the shape operand of Reshape).</summary>
    public string Int64s(params long[] values)
    {
        string name = _prefix + "shape" + _next++;
        _initializers.Add((name, OnnxTensor.Of(values, values.Length)));
        return name;
    }

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Op(string opType, string[] inputs, params OnnxAttr[] attrs)
    {
        string output = $"{_prefix}{opType.ToLowerInvariant()}{_next++}";
        _nodes.Add((opType, inputs, new[] { output }, attrs));
        return output;
    }

    public string Op(string opType, string input, params OnnxAttr[] attrs) => Op(opType, new[] { input }, attrs);

    public string Op(string opType, string a, string b, params OnnxAttr[] attrs) => Op(opType, new[] { a, b }, attrs);

    /// <summary>Adds a node with the given output names (several outputs, or names chosen by the test).</summary>
    public void Node(string opType, string[] inputs, string[] outputs, params OnnxAttr[] attrs) => _nodes.Add((opType, inputs, outputs, attrs));

    /// <summary>Serializes a ModelProto (default domain at <paramref name="opset"/>).</summary>
    public byte[] ToModel(int opset = 17, long irVersion = 8)
    {
        var model = new ProtoWriter();
        model.Int(1, irVersion);
        model.String(2, "aot-tests");
        model.Message(7, WriteGraph);
        model.Message(8, op =>
        {
            op.String(1, "");
            op.Int(2, opset);
        });
        return model.ToArray();
    }

    internal void WriteGraph(ProtoWriter g)
    {
        int index = 0;
        foreach (var (op, inputs, outputs, attrs) in _nodes)
        {
            g.Message(1, n =>
            {
                foreach (var i in inputs) n.String(1, i);
                foreach (var o in outputs) n.String(2, o);
                n.String(3, $"{_prefix}n{index++}_{op}");
                n.String(4, op);
                foreach (var a in attrs) n.Message(5, a2 => WriteAttribute(a2, a));
            });
        }

        g.String(2, _name);
        foreach (var (name, tensor) in _initializers) g.Message(5, t => tensor.Write(t, name));
        foreach (var (name, shape, symbolic, type) in _inputs) g.Message(11, v => WriteValueInfo(v, name, shape, symbolic, type));
        foreach (var (name, shape) in _outputs) g.Message(12, v => WriteValueInfo(v, name, shape, null, OnnxTensor.TensorFloat));
    }

    private static void WriteAttribute(ProtoWriter a, OnnxAttr attr)
    {
        a.String(1, attr.Name);
        if (attr.F is { } f)
        {
            a.Float(2, f);
            a.Int(20, AttrFloat);
        }
        else if (attr.I is { } i)
        {
            a.Int(3, i);
            a.Int(20, AttrInt);
        }
        else if (attr.S is { } s)
        {
            a.String(4, s);
            a.Int(20, AttrString);
        }
        else if (attr.T is { } t)
        {
            a.Message(5, body => t.Write(body, null));
            a.Int(20, AttrTensor);
        }
        else if (attr.G is { } graph)
        {
            a.Message(6, graph.WriteGraph);
            a.Int(20, AttrGraph);
        }
        else if (attr.Strings is { } strings)
        {
            foreach (var v in strings) a.String(9, v);
            a.Int(20, AttrStrings);
        }
        else if (attr.Floats is { } floats)
        {
            foreach (var v in floats) a.Float(7, v);
            a.Int(20, AttrFloats);
        }
        else
        {
            foreach (var v in attr.Ints!) a.Int(8, v);
            a.Int(20, AttrInts);
        }
    }

    private static void WriteValueInfo(ProtoWriter v, string name, int[]? shape, string?[]? symbolic, int elementType)
    {
        v.String(1, name);
        v.Message(2, type => type.Message(1, tensor =>
        {
            tensor.Int(1, elementType);
            if (shape is null) return;
            tensor.Message(2, s =>
            {
                for (int i = 0; i < shape.Length; i++)
                {
                    string? param = symbolic is not null && i < symbolic.Length ? symbolic[i] : null;
                    s.Message(1, dim =>
                    {
                        if (param is not null) dim.String(2, param);
                        else dim.Int(1, shape[i]);
                    });
                }
            });
        }));
    }
}
