using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using Aot.Dsl;

namespace Aot.Runtime;

/// <summary>
/// Writes safetensors files: tensors in the order given, contiguous, little-endian, row-major; the JSON header
/// (compact, <c>__metadata__</c> first, then one <c>{"dtype","shape","data_offsets"}</c> entry per tensor) is
/// padded with spaces to a multiple of 8 bytes, as the reference implementation does.
/// Caller mistakes (a null or duplicate name, the reserved name <c>__metadata__</c>) throw <see cref="ArgumentException"/>.
/// </summary>
public static class SafeTensors
{
    private const int ChunkElements = 1 << 20;

    /// <summary>Writes the tensors to <paramref name="path"/>. The file is written under a temporary name next to it
    /// and then moved into place, so a failed save never leaves a truncated weights file behind.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var list = Collect(tensors);
        byte[] header = BuildHeader(list, metadata);

        string fullPath = Path.GetFullPath(path);
        string temp = Path.Combine(Path.GetDirectoryName(fullPath) ?? ".", $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                Span<byte> prefix = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
                stream.Write(prefix);
                stream.Write(header);
                byte[]? scratch = null;
                foreach (var (_, tensor) in list)
                {
                    var elements = Elements(tensor);
                    for (int start = 0; start < elements.Length; start += ChunkElements)
                    {
                        var chunk = elements.Slice(start, Math.Min(ChunkElements, elements.Length - start));
                        if (BitConverter.IsLittleEndian)
                        {
                            stream.Write(MemoryMarshal.AsBytes(chunk));
                        }
                        else
                        {
                            scratch ??= new byte[ChunkElements * 4];
                            int n = WriteLittleEndian(chunk, scratch);
                            stream.Write(scratch, 0, n);
                        }
                    }
                }

                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // best effort: the original error matters more
            }

            throw;
        }
    }

    /// <summary>The bytes of a safetensors file holding the tensors.</summary>
    public static byte[] Serialize(IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = Collect(tensors);
        byte[] header = BuildHeader(list, metadata);
        long total = 8L + header.Length;
        foreach (var (_, tensor) in list) total += 4L * tensor.Length;
        if (total > Array.MaxLength)
        {
            throw new ArgumentException($"the tensors need {total} bytes, more than a byte array holds; use {nameof(SafeTensors)}.{nameof(Write)} instead", nameof(tensors));
        }

        var result = new byte[total];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)header.Length);
        header.CopyTo(result, 8);
        int position = 8 + header.Length;
        foreach (var (_, tensor) in list)
        {
            position += WriteLittleEndian(Elements(tensor), result.AsSpan(position));
        }

        return result;
    }

    /// <summary>The tensor's elements as 4-byte integers (Float32 bits reinterpreted); both supported dtypes are 4 bytes.</summary>
    private static ReadOnlySpan<int> Elements(Tensor tensor) => tensor.DType switch
    {
        DType.Float32 => MemoryMarshal.Cast<float, int>(tensor.Floats),
        DType.Int32 => tensor.Ints,
        _ => throw new ArgumentException($"cannot write a {tensor.DType} tensor", nameof(tensor)),
    };

    private static int WriteLittleEndian(ReadOnlySpan<int> elements, Span<byte> destination)
    {
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(elements).CopyTo(destination);
        }
        else
        {
            for (int i = 0; i < elements.Length; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(destination.Slice(4 * i), elements[i]);
            }
        }

        return 4 * elements.Length;
    }

    private static List<(string Name, Tensor Tensor)> Collect(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = new List<(string, Tensor)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (name is null) throw new ArgumentException("a tensor name is null", nameof(tensors));
            if (tensor is null) throw new ArgumentException($"tensor '{name}' is null", nameof(tensors));
            if (name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved for the header's metadata and cannot name a tensor", nameof(tensors));
            if (!seen.Add(name)) throw new ArgumentException($"tensor '{name}' is given twice", nameof(tensors));
            if (tensor.DType is not (DType.Float32 or DType.Int32)) throw new ArgumentException($"tensor '{name}' is {tensor.DType}; only Float32 and Int32 tensors can be written", nameof(tensors));
            list.Add((name, tensor));
        }

        return list;
    }

    private static byte[] BuildHeader(List<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed escaping writes non-ASCII names as UTF-8 (as Python's writer does) rather than \u escapes;
        // quotes, backslashes and control characters are still escaped.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var key in metadata.Keys.OrderBy(k => k, StringComparer.Ordinal))
                {
                    if (key is null) throw new ArgumentException("a metadata key is null", nameof(metadata));
                    json.WriteString(key, metadata[key] ?? throw new ArgumentException($"metadata '{key}' is null", nameof(metadata)));
                }

                json.WriteEndObject();
            }

            ulong offset = 0;
            foreach (var (name, tensor) in tensors)
            {
                ulong end = offset + 4UL * (ulong)tensor.Length;
                json.WriteStartObject(name);
                json.WriteString("dtype", DTypeInfo.SafeTensorsName(tensor.DType));
                json.WriteStartArray("shape");
                foreach (int d in tensor.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(end);
                json.WriteEndArray();
                json.WriteEndObject();
                offset = end;
            }

            json.WriteEndObject();
        }

        int padded = (buffer.WrittenCount + 7) / 8 * 8;
        if (padded > SafeTensorsFile.MaxHeaderLength)
        {
            throw new ArgumentException($"the header would be {padded} bytes, more than the {SafeTensorsFile.MaxHeaderLength}-byte limit readers accept", nameof(tensors));
        }

        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }
}
