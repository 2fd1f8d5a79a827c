using System.Buffers.Binary;
using System.Text;

namespace Benchmarks;

// A minimal ONNX writer: just enough of the protobuf wire format and of onnx.proto to serialize inference graphs with
// float initializers. Written by hand (about 200 lines) rather than with Google.Protobuf, which would still need
// hand-written message classes or protoc at build time.
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
//   AttributeProto    name=1, f=2, i=3, ints=8, type=20 (FLOAT=1, INT=2, INTS=7)
//   TensorProto       dims=1 (int64), data_type=2 (FLOAT=1, INT64=7), name=8, raw_data=9 (little-endian bytes)
//   ValueInfoProto    name=1, type=2
//   TypeProto         tensor_type=1;  TypeProto.Tensor elem_type=1, shape=2
//   TensorShapeProto  dim=1;  TensorShapeProto.Dimension dim_value=1

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

/// <summary>An ONNX attribute value: an int, a float or a list of ints.</summary>
internal readonly record struct OnnxAttr(string Name, long? I = null, float? F = null, long[]? Ints = null)
{
    public static OnnxAttr Int(string name, long value) => new(name, I: value);
    public static OnnxAttr Float(string name, float value) => new(name, F: value);
    public static OnnxAttr List(string name, params long[] values) => new(name, Ints: values);
}

/// <summary>
/// Builds an ONNX inference graph (float32 inputs/outputs and initializers, int64 initializers for shapes) and
/// serializes it to a ModelProto. Node outputs get fresh names; the builder methods return them so graphs read
/// like expressions: <c>var h = g.Op("Relu", g.Op("Gemm", x, w, b, ...))</c>.
/// </summary>
internal sealed class OnnxGraph
{
    private const int TensorFloat = 1, TensorInt64 = 7;
    private const int AttrFloat = 1, AttrInt = 2, AttrInts = 7;

    private readonly string _name;
    private readonly List<(string Name, int[] Shape)> _inputs = new();
    private readonly List<(string Name, int[] Shape)> _outputs = new();
    private readonly List<(string Name, long[] Dims, int DataType, byte[] Raw)> _initializers = new();
    private readonly List<(string Op, string[] Inputs, string Output, OnnxAttr[] Attrs)> _nodes = new();
    private int _next;

    public OnnxGraph(string name) => _name = name;

    public string Input(string name, params int[] shape)
    {
        _inputs.Add((name, shape));
        return name;
    }

    /// <summary>Declares a node result as a graph output (its shape is written into the model).</summary>
    public void Output(string name, params int[] shape) => _outputs.Add((name, shape));

    /// <summary>A float initializer with the given data and shape (copied as little-endian raw_data).</summary>
    public string Initializer(string name, ReadOnlySpan<float> data, params int[] shape)
    {
        if (data.Length != (int)shape.Aggregate(1L, (p, d) => p * d)) throw new ArgumentException($"initializer {name}: {data.Length} values for shape [{string.Join(", ", shape)}]");
        var raw = new byte[data.Length * 4];
        for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(4 * i), data[i]);
        _initializers.Add((name, shape.Select(d => (long)d).ToArray(), TensorFloat, raw));
        return name;
    }

    /// <summary>A scalar (rank-0) float initializer.</summary>
    public string Scalar(float value) => Initializer("const" + _next++, new[] { value });

    /// <summary>A 1-D int64 initializer (the shape operand of Reshape).</summary>
    public string Int64s(params long[] values)
    {
        var raw = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(8 * i), values[i]);
        string name = "shape" + _next++;
        _initializers.Add((name, new long[] { values.Length }, TensorInt64, raw));
        return name;
    }

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Op(string opType, string[] inputs, params OnnxAttr[] attrs)
    {
        string output = $"{opType.ToLowerInvariant()}{_next++}";
        _nodes.Add((opType, inputs, output, attrs));
        return output;
    }

    public string Op(string opType, string input, params OnnxAttr[] attrs) => Op(opType, new[] { input }, attrs);

    public string Op(string opType, string a, string b, params OnnxAttr[] attrs) => Op(opType, new[] { a, b }, attrs);

    /// <summary>Serializes a ModelProto (default domain at <paramref name="opset"/>).</summary>
    public byte[] ToModel(int opset = 17, long irVersion = 8)
    {
        var model = new ProtoWriter();
        model.Int(1, irVersion);
        model.String(2, "aot-benchmarks");
        model.Message(7, WriteGraph);
        model.Message(8, op =>
        {
            op.String(1, "");
            op.Int(2, opset);
        });
        return model.ToArray();
    }

    private void WriteGraph(ProtoWriter g)
    {
        int index = 0;
        foreach (var (op, inputs, output, attrs) in _nodes)
        {
            g.Message(1, n =>
            {
                foreach (var i in inputs) n.String(1, i);
                n.String(2, output);
                n.String(3, $"n{index++}_{op}");
                n.String(4, op);
                foreach (var a in attrs) n.Message(5, a2 => WriteAttribute(a2, a));
            });
        }

        g.String(2, _name);
        foreach (var (name, dims, dataType, raw) in _initializers)
        {
            g.Message(5, t =>
            {
                foreach (var d in dims) t.Int(1, d);
                t.Int(2, dataType);
                t.String(8, name);
                t.Bytes(9, raw);
            });
        }

        foreach (var (name, shape) in _inputs) g.Message(11, v => WriteValueInfo(v, name, shape));
        foreach (var (name, shape) in _outputs) g.Message(12, v => WriteValueInfo(v, name, shape));
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
        else
        {
            foreach (var v in attr.Ints!) a.Int(8, v);
            a.Int(20, AttrInts);
        }
    }

    private static void WriteValueInfo(ProtoWriter v, string name, int[] shape)
    {
        v.String(1, name);
        v.Message(2, type => type.Message(1, tensor =>
        {
            tensor.Int(1, TensorFloat);
            tensor.Message(2, s =>
            {
                foreach (var d in shape) s.Message(1, dim => dim.Int(1, d));
            });
        }));
    }
}
