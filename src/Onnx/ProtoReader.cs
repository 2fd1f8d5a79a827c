using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;

namespace Aot.Onnx;

/// <summary>The protobuf wire types (https://protobuf.dev/programming-guides/encoding/).</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// <summary>
/// Reads one protobuf message from a byte range: a sequence of (key varint, payload) fields. Only what onnx.proto needs:
/// varints, fixed32/fixed64, length-delimited payloads (strings, bytes, embedded messages, packed repeated scalars).
/// Every problem throws <see cref="OnnxFormatException"/> naming the message path, the field and the absolute byte
/// offset in the file; nothing is read outside the message's range.
/// </summary>
internal sealed class ProtoReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlyMemory<byte> _data;
    private readonly int _end;
    private int _position;
    private int _fieldStart;

    /// <param name="data">The whole file (offsets in messages are absolute).</param>
    /// <param name="start">First byte of this message.</param>
    /// <param name="end">One past its last byte.</param>
    /// <param name="path">Where this message is, for error messages (e.g. <c>ModelProto.graph.node[3]</c>).</param>
    public ProtoReader(ReadOnlyMemory<byte> data, int start, int end, string path)
    {
        _data = data;
        _position = start;
        _end = end;
        Path = path;
    }

    public string Path { get; }

    /// <summary>The field being read: its number and name (set by <see cref="Next"/> and the caller's <see cref="Name"/>).</summary>
    public int Field { get; private set; }

    public WireType Wire { get; private set; }

    private string _fieldName = "";

    /// <summary>Advances to the next field; false at the end of the message.</summary>
    public bool Next()
    {
        if (_position >= _end) return false;
        _fieldStart = _position;
        _fieldName = "";
        ulong key = ReadRawVarint("field key");
        int wire = (int)(key & 7);
        ulong number = key >> 3;
        if (number == 0 || number > 536_870_911) throw Error($"invalid field number {number}");
        if (wire is 6 or 7) throw Error($"field {number} has invalid wire type {wire}");
        Field = (int)number;
        Wire = (WireType)wire;
        return true;
    }

    /// <summary>Names the current field for error messages (e.g. "graph").</summary>
    public ProtoReader Name(string name)
    {
        _fieldName = name;
        return this;
    }

    /// <summary>Builds the exception for a problem at the current field.</summary>
    public OnnxFormatException Error(string problem)
    {
        string field = Field == 0 ? "" : _fieldName.Length > 0 ? $", field {Field} ({_fieldName})" : $", field {Field}";
        return new OnnxFormatException($"malformed ONNX protobuf in {Path}{field} at byte offset {_fieldStart}: {problem}");
    }

    private void Expect(WireType wire)
    {
        if (Wire != wire) throw Error($"wire type {(int)Wire} ({Wire}), expected {(int)wire} ({wire})");
    }

    private ulong ReadRawVarint(string what)
    {
        var span = _data.Span;
        ulong result = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (_position >= _end) throw Error($"truncated {what} (varint runs past the end of {Path})");
            byte b = span[_position++];
            if (shift == 63 && b > 1) throw Error($"{what} varint overflows 64 bits");
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }

        throw Error($"{what} varint is longer than 10 bytes");
    }

    public long Int64()
    {
        Expect(WireType.Varint);
        return unchecked((long)ReadRawVarint("value"));
    }

    public int Int32()
    {
        long v = Int64();
        if (v < int.MinValue || v > int.MaxValue) throw Error($"value {v} does not fit an int32");
        return (int)v;
    }

    public float Float()
    {
        Expect(WireType.Fixed32);
        return BinaryPrimitives.ReadSingleLittleEndian(Take(4, "float").Span);
    }

    public double Double()
    {
        Expect(WireType.Fixed64);
        return BinaryPrimitives.ReadDoubleLittleEndian(Take(8, "double").Span);
    }

    /// <summary>A length-delimited payload (bytes, or the body of a string/message/packed field) and its absolute offset.</summary>
    public ReadOnlyMemory<byte> Bytes(out int offset)
    {
        Expect(WireType.LengthDelimited);
        ulong length = ReadRawVarint("length");
        if (length > (ulong)(_end - _position))
        {
            throw Error($"length {length} exceeds the {_end - _position} bytes left in {Path} (truncated file?)");
        }

        offset = _position;
        return Take((int)length, "payload");
    }

    public ReadOnlyMemory<byte> Bytes() => Bytes(out _);

    public string String()
    {
        var bytes = Bytes();
        try
        {
            return StrictUtf8.GetString(bytes.Span);
        }
        catch (DecoderFallbackException e)
        {
            throw new OnnxFormatException($"malformed ONNX protobuf in {Path}, field {Field} ({_fieldName}) at byte offset {_fieldStart}: string is not valid UTF-8", e);
        }
    }

    /// <summary>An embedded message: a reader over its bytes.</summary>
    public ProtoReader Message(string path)
    {
        Bytes(out int offset);
        return new ProtoReader(_data, offset, _position, path);
    }

    /// <summary>Repeated int64/int32/enum: unpacked (one varint) or packed (a length-delimited run of varints).</summary>
    public void Int64s(List<long> into)
    {
        if (Wire != WireType.LengthDelimited)
        {
            into.Add(Int64());
            return;
        }

        Bytes(out int offset);
        var packed = new ProtoReader(_data, offset, _position, Path) { Field = Field, _fieldName = _fieldName, _fieldStart = offset };
        while (packed._position < packed._end) into.Add(unchecked((long)packed.ReadRawVarint("packed element")));
    }

    /// <summary>Repeated float: unpacked (fixed32) or packed (a multiple of 4 bytes).</summary>
    public void Floats(List<float> into)
    {
        if (Wire != WireType.LengthDelimited)
        {
            into.Add(Float());
            return;
        }

        var span = Bytes().Span;
        if (span.Length % 4 != 0) throw Error($"packed floats have {span.Length} bytes, not a multiple of 4");
        for (int i = 0; i < span.Length; i += 4) into.Add(BinaryPrimitives.ReadSingleLittleEndian(span.Slice(i)));
    }

    /// <summary>Repeated double: unpacked (fixed64) or packed (a multiple of 8 bytes).</summary>
    public void Doubles(List<double> into)
    {
        if (Wire != WireType.LengthDelimited)
        {
            into.Add(Double());
            return;
        }

        var span = Bytes().Span;
        if (span.Length % 8 != 0) throw Error($"packed doubles have {span.Length} bytes, not a multiple of 8");
        for (int i = 0; i < span.Length; i += 8) into.Add(BinaryPrimitives.ReadDoubleLittleEndian(span.Slice(i)));
    }

    /// <summary>Skips a field this reader does not use.</summary>
    public void Skip()
    {
        switch (Wire)
        {
            case WireType.Varint:
                ReadRawVarint("skipped value");
                break;
            case WireType.Fixed64:
                Take(8, "skipped fixed64");
                break;
            case WireType.Fixed32:
                Take(4, "skipped fixed32");
                break;
            case WireType.LengthDelimited:
                Bytes();
                break;
            default:
                throw Error($"wire type {(int)Wire} ({Wire}: protobuf groups) does not occur in ONNX files");
        }
    }

    private ReadOnlyMemory<byte> Take(int count, string what)
    {
        if (_end - _position < count) throw Error($"truncated {what}: needs {count} bytes, {_end - _position} left in {Path}");
        var slice = _data.Slice(_position, count);
        _position += count;
        return slice;
    }
}
