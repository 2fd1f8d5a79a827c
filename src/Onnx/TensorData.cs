using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;

namespace Aot.Onnx;

/// <summary>A tensor's value known at import time: Float32 (weights, float constants) or Int64 (shapes, indices; Int32
/// and Int64 initializers both land here).</summary>
public sealed class ConstTensor
{
    public ConstTensor(int[] shape, float[]? floats, long[]? ints)
    {
        Shape = shape;
        Floats = floats;
        Ints = ints;
    }

    public int[] Shape { get; }
    public float[]? Floats { get; }
    public long[]? Ints { get; }
    public bool IsFloat => Floats is not null;
    public int Length => IsFloat ? Floats!.Length : Ints!.Length;

    public static ConstTensor Int64s(params long[] values) => new(new[] { values.Length }, null, values);
}

/// <summary>Decodes a TensorProto's data: raw_data, the typed repeated fields, or external data next to the model.</summary>
internal static class TensorData
{
    /// <summary>The tensor's value; <paramref name="modelDirectory"/> resolves external data (null: external data is an error).</summary>
    public static ConstTensor Decode(OnnxTensorProto t, string? modelDirectory, string what)
    {
        string where = $"{what} '{t.Name}' ({t.Path})";
        var shape = new int[t.Dims.Count];
        long count = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            long d = t.Dims[i];
            if (d < 0 || d > int.MaxValue) throw new OnnxFormatException($"{where}: dimension {i} is {d}");
            shape[i] = (int)d;
            count *= d;
            if (count > Array.MaxLength) throw new OnnxFormatException($"{where}: shape [{string.Join(", ", t.Dims)}] has more elements than an array holds");
        }

        if (t.HasSegment) throw new OnnxUnsupportedException($"{where}: segmented tensors are not supported");
        int elementSize = t.DataType switch
        {
            OnnxDataType.Float or OnnxDataType.Int32 => 4,
            OnnxDataType.Int64 => 8,
            _ => throw new OnnxUnsupportedException($"{where}: data type {t.DataType} ({(int)t.DataType}) is not supported (Float, Int32 and Int64 are)"),
        };

        ReadOnlyMemory<byte>? raw = t.RawData;
        if (t.DataLocation == 1)
        {
            raw = External(t, modelDirectory, where, count * elementSize);
        }
        else if (t.DataLocation != 0)
        {
            throw new OnnxFormatException($"{where}: unknown data_location {t.DataLocation}");
        }

        if (raw is { } bytes)
        {
            if (bytes.Length != count * elementSize)
            {
                throw new OnnxFormatException($"{where}: raw_data has {bytes.Length} bytes, shape [{string.Join(", ", shape)}] of {t.DataType} needs {count * elementSize}");
            }

            var span = bytes.Span;
            int n = (int)count;
            if (t.DataType == OnnxDataType.Float)
            {
                var floats = new float[n];
                for (int i = 0; i < n; i++) floats[i] = BinaryPrimitives.ReadSingleLittleEndian(span.Slice(4 * i));
                return new ConstTensor(shape, floats, null);
            }

            var ints = new long[n];
            for (int i = 0; i < n; i++)
            {
                ints[i] = t.DataType == OnnxDataType.Int32 ? BinaryPrimitives.ReadInt32LittleEndian(span.Slice(4 * i)) : BinaryPrimitives.ReadInt64LittleEndian(span.Slice(8 * i));
            }

            return new ConstTensor(shape, null, ints);
        }

        (int have, string field) = t.DataType switch
        {
            OnnxDataType.Float => (t.FloatData.Count, "float_data"),
            OnnxDataType.Int32 => (t.Int32Data.Count, "int32_data"),
            _ => (t.Int64Data.Count, "int64_data"),
        };
        if (have != count) throw new OnnxFormatException($"{where}: {field} has {have} values, shape [{string.Join(", ", shape)}] needs {count}");
        return t.DataType switch
        {
            OnnxDataType.Float => new ConstTensor(shape, t.FloatData.ToArray(), null),
            OnnxDataType.Int32 => new ConstTensor(shape, null, t.Int32Data.Select(v => (long)v).ToArray()),
            _ => new ConstTensor(shape, null, t.Int64Data.ToArray()),
        };
    }

    /// <summary>Reads external data: location (relative to the model's folder, never outside it), offset, length.</summary>
    private static byte[] External(OnnxTensorProto t, string? modelDirectory, string where, long expected)
    {
        string? location = null;
        long offset = 0, length = -1;
        foreach (var (key, value) in t.ExternalData)
        {
            switch (key)
            {
                case "location": location = value; break;
                case "offset": offset = ParseLong(value, key, where); break;
                case "length": length = ParseLong(value, key, where); break;
                case "checksum": break;
                default: throw new OnnxFormatException($"{where}: unknown external_data key '{key}'");
            }
        }

        if (location is null) throw new OnnxFormatException($"{where}: external data has no 'location'");
        if (modelDirectory is null) throw new OnnxFormatException($"{where}: external data '{location}' needs the model's folder (import from a file path)");
        if (Path.IsPathRooted(location)) throw new OnnxFormatException($"{where}: external data location '{location}' must be relative to the model's folder");
        string root = Path.GetFullPath(modelDirectory);
        string file = Path.GetFullPath(Path.Combine(root, location));
        string rootWithSeparator = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        if (!file.StartsWith(rootWithSeparator, StringComparison.Ordinal))
        {
            throw new OnnxFormatException($"{where}: external data location '{location}' points outside the model's folder");
        }

        if (!File.Exists(file)) throw new OnnxFormatException($"{where}: external data file '{file}' does not exist");
        if (length < 0) length = expected;
        if (length != expected) throw new OnnxFormatException($"{where}: external data length {length} bytes, the shape needs {expected}");
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (offset < 0 || offset > stream.Length || stream.Length - offset < length)
        {
            throw new OnnxFormatException($"{where}: external data offset {offset} + length {length} is past the end of '{location}' ({stream.Length} bytes)");
        }

        var buffer = new byte[length];
        stream.Position = offset;
        stream.ReadExactly(buffer);
        return buffer;
    }

    private static long ParseLong(string value, string key, string where) =>
        long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long v)
            ? v
            : throw new OnnxFormatException($"{where}: external_data {key} '{value}' is not a non-negative integer");
}
