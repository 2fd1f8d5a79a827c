using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Aot.Dsl;
using Microsoft.Win32.SafeHandles;

namespace Aot.Runtime;

/// <summary>
/// A safetensors weights file (the format PyTorch and Hugging Face export): an 8-byte little-endian header
/// length N, N bytes of UTF-8 JSON describing each tensor (dtype, shape, data_offsets) plus optional string
/// metadata, then the data buffer the offsets point into.
/// </summary>
/// <remarks>
/// The file is untrusted input. <see cref="Open"/> and <see cref="Parse"/> validate the whole header up front:
/// every entry's dtype, shape and offsets, that offsets agree with shape and dtype, and that the tensors cover
/// the data buffer exactly, without gaps or overlaps (as the reference implementation requires). Any problem is
/// a <see cref="WeightsException"/> whose message names the file, the tensor and the offending values.
/// <see cref="Open"/> reads only the header; tensor data is read from the file on demand by <see cref="Read(string)"/>,
/// so the file is held open (shared for reading) until <see cref="Dispose"/>.
/// Entries with a dtype the format defines but <see cref="DType"/> does not (F64, U8, F8_E4M3, ...) are validated
/// and listed in <see cref="Names"/>; asking for their spec or data throws <see cref="WeightsException"/>.
/// </remarks>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>Largest header accepted, the same limit as the reference implementation.</summary>
    public const int MaxHeaderLength = 100_000_000;

    private const string MetadataKey = "__metadata__";
    private const int MaxNamesInMessage = 10;

    private readonly string _source;
    private readonly Dictionary<string, Entry> _entries;
    private readonly ReadOnlyCollection<string> _names;
    private readonly ReadOnlyDictionary<string, string> _metadata;
    private readonly ReadOnlyMemory<byte> _buffer;   // the data buffer, when parsed from memory
    private readonly SafeFileHandle? _handle;        // the open file, when opened from a path
    private readonly long _bufferStart;              // file offset of the data buffer
    private bool _disposed;

    private SafeTensorsFile(string source, Header header, ReadOnlyMemory<byte> buffer, SafeFileHandle? handle, long bufferStart)
    {
        _source = source;
        _entries = header.Entries;
        _names = header.Names.AsReadOnly();
        _metadata = header.Metadata.AsReadOnly();
        _buffer = buffer;
        _handle = handle;
        _bufferStart = bufferStart;
    }

    /// <summary>The tensor names, in header order.</summary>
    public IReadOnlyCollection<string> Names => _names;

    /// <summary>The header's <c>__metadata__</c> map (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata => _metadata;

    /// <summary>The file path, or the name given to <see cref="Parse"/>; used in every error message.</summary>
    public string SourceName => _source;

    /// <summary>Opens a file and validates its header. The data is read lazily; dispose to close the file.</summary>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WeightsException(path, null, $"cannot be opened: {e.Message}", e);
        }

        try
        {
            long length;
            try
            {
                length = RandomAccess.GetLength(handle);
            }
            catch (IOException e)
            {
                throw new WeightsException(path, null, $"cannot be read: {e.Message}", e);
            }

            if (length < 8) throw TooShort(path, length);

            Span<byte> prefix = stackalloc byte[8];
            ReadExactly(handle, prefix, 0, path, null);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            CheckHeaderLength(headerLength, (ulong)length - 8, path);

            var headerBytes = new byte[(int)headerLength];
            ReadExactly(handle, headerBytes, 8, path, null);
            ulong bufferLength = (ulong)length - 8 - headerLength;
            var header = ParseHeader(headerBytes, bufferLength, path);
            return new SafeTensorsFile(path, header, ReadOnlyMemory<byte>.Empty, handle, 8 + (long)headerLength);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Parses a whole safetensors file held in memory. The memory is used, not copied: keep it unchanged.</summary>
    public static SafeTensorsFile Parse(ReadOnlyMemory<byte> bytes, string sourceName = "<memory>")
    {
        ArgumentNullException.ThrowIfNull(sourceName);
        if (bytes.Length < 8) throw TooShort(sourceName, bytes.Length);

        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes.Span);
        CheckHeaderLength(headerLength, (ulong)bytes.Length - 8, sourceName);

        int dataStart = 8 + (int)headerLength;
        var header = ParseHeader(bytes.Slice(8, (int)headerLength), (ulong)(bytes.Length - dataStart), sourceName);
        return new SafeTensorsFile(sourceName, header, bytes.Slice(dataStart), null, 0);
    }

    /// <summary>Whether the file has a tensor with this name.</summary>
    public bool Contains(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _entries.ContainsKey(name);
    }

    /// <summary>The tensor's dtype and shape. Throws <see cref="WeightsException"/> when the file has no such tensor
    /// or stores it with a dtype <see cref="DType"/> cannot name.</summary>
    public TensorSpec GetSpec(string name)
    {
        var entry = Find(name);
        if (entry.DType is not DType dtype)
        {
            throw new WeightsException(_source, entry.Name, $"has dtype {entry.DTypeName}, which this runtime does not support");
        }

        return new TensorSpec(entry.Name, dtype, (int[])entry.Shape.Clone());
    }

    /// <summary>Reads a tensor as stored. Only Float32 and Int32 tensors can be held by the eager runtime.</summary>
    public Tensor Read(string name) => ReadEntry(Find(name));

    /// <summary>
    /// Reads a tensor the model declares with <paramref name="expectedDType"/> and <paramref name="expectedShape"/>;
    /// a missing tensor, another dtype or another shape is a <see cref="WeightsException"/> naming both sides.
    /// </summary>
    public Tensor Read(string name, DType expectedDType, ReadOnlySpan<int> expectedShape)
    {
        var entry = Find(name);
        if (entry.DType != expectedDType)
        {
            throw new WeightsException(_source, entry.Name, $"has dtype {entry.DTypeName}, the model declares {DTypeName(expectedDType)}");
        }

        if (!expectedShape.SequenceEqual(entry.Shape))
        {
            throw new WeightsException(_source, entry.Name, $"has shape {FormatShape(entry.Shape)}, the model declares {FormatShape(expectedShape)}");
        }

        return ReadEntry(entry);
    }

    /// <summary>Closes the file (when opened from a path). Reading tensor data afterwards throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _disposed = true;
        _handle?.Dispose();
    }

    // ---- Reading data -----------------------------------------------------------------------------------

    private Entry Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_entries.TryGetValue(name, out var entry)) return entry;

        var sb = new StringBuilder();
        sb.Append("is not in the file (");
        if (_names.Count == 0)
        {
            sb.Append("it has no tensors");
        }
        else
        {
            sb.Append("it has ").Append(_names.Count).Append(_names.Count == 1 ? " tensor: " : " tensors: ");
            for (int i = 0; i < _names.Count && i < MaxNamesInMessage; i++)
            {
                if (i > 0) sb.Append(", ");
                sb.Append('\'').Append(WeightsException.Quote(_names[i])).Append('\'');
            }

            if (_names.Count > MaxNamesInMessage) sb.Append(", ...");
        }

        sb.Append(')');
        throw new WeightsException(_source, name, sb.ToString());
    }

    private Tensor ReadEntry(Entry entry)
    {
        if (entry.DType is not (DType.Float32 or DType.Int32))
        {
            throw new WeightsException(_source, entry.Name,
                $"has dtype {entry.DTypeName}; the eager runtime cannot hold {entry.DTypeName} tensors yet (only F32 and I32)");
        }

        if (entry.ElementCount > (ulong)Array.MaxLength)
        {
            throw new WeightsException(_source, entry.Name,
                $"has shape {FormatShape(entry.Shape)} with {entry.ElementCount} elements; the eager runtime holds at most {Array.MaxLength} elements per tensor");
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        int count = (int)entry.ElementCount;
        if (entry.DType == DType.Float32)
        {
            var data = new float[count];
            Fill(MemoryMarshal.Cast<float, int>(data.AsSpan()), entry);
            return Tensor.FromArray(data, entry.Shape);
        }
        else
        {
            var data = new int[count];
            Fill(data.AsSpan(), entry);
            return Tensor.FromArray(data, entry.Shape);
        }
    }

    /// <summary>Copies the entry's little-endian 4-byte elements into <paramref name="destination"/>, in chunks small
    /// enough that a byte view of each fits a span.</summary>
    private void Fill(Span<int> destination, Entry entry)
    {
        const int ChunkElements = 1 << 26; // 256 MiB
        ulong offset = entry.Begin;
        for (int start = 0; start < destination.Length; start += ChunkElements)
        {
            var chunk = destination.Slice(start, Math.Min(ChunkElements, destination.Length - start));
            var bytes = MemoryMarshal.AsBytes(chunk);
            if (_handle is null)
            {
                _buffer.Span.Slice(checked((int)offset), bytes.Length).CopyTo(bytes);
            }
            else
            {
                ReadExactly(_handle, bytes, _bufferStart + (long)offset, _source, entry.Name);
            }

            if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(chunk, chunk);
            offset += (ulong)bytes.Length;
        }
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long fileOffset, string source, string? tensor)
    {
        try
        {
            while (destination.Length > 0)
            {
                int read = RandomAccess.Read(handle, destination, fileOffset);
                if (read <= 0)
                {
                    throw new WeightsException(source, tensor,
                        $"{(tensor is null ? "ends" : "cannot be read: the file ends")} at byte {fileOffset}, {destination.Length} bytes short (was it truncated after it was opened?)");
                }

                destination = destination.Slice(read);
                fileOffset += read;
            }
        }
        catch (IOException e)
        {
            throw new WeightsException(source, tensor, $"cannot be read: {e.Message}", e);
        }
    }

    // ---- Header validation ------------------------------------------------------------------------------

    private sealed class Entry
    {
        public required string Name { get; init; }
        public required string DTypeName { get; init; }
        public required DType? DType { get; init; }
        public required int[] Shape { get; init; }
        public required ulong ElementCount { get; init; }
        public required ulong Begin { get; init; }
        public required ulong End { get; init; }
    }

    private sealed class Header
    {
        public Dictionary<string, Entry> Entries { get; } = new(StringComparer.Ordinal);
        public List<string> Names { get; } = new();
        public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);
    }

    private static WeightsException TooShort(string source, long length) =>
        new(source, null, $"is {length} bytes long; a safetensors file starts with an 8-byte header length");

    private static void CheckHeaderLength(ulong headerLength, ulong available, string source)
    {
        if (headerLength > MaxHeaderLength)
        {
            throw new WeightsException(source, null,
                $"declares a {headerLength}-byte header, more than the {MaxHeaderLength}-byte limit (is it a safetensors file?)");
        }

        if (headerLength > available)
        {
            throw new WeightsException(source, null,
                $"declares a {headerLength}-byte header, but only {available} bytes follow the 8-byte length (is the file truncated?)");
        }
    }

    private static Header ParseHeader(ReadOnlyMemory<byte> json, ulong bufferLength, string source)
    {
        if (!Utf8.IsValid(json.Span))
        {
            throw new WeightsException(source, null, $"header is not valid UTF-8 (bad byte at header offset {FirstInvalidUtf8(json.Span)})");
        }

        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new WeightsException(source, null, $"header is a JSON {Kind(root.ValueKind)}, not an object");
            }

            var header = new Header();
            bool sawMetadata = false;
            foreach (var property in root.EnumerateObject())
            {
                string name = property.Name;
                if (name == MetadataKey)
                {
                    if (sawMetadata) throw new WeightsException(source, null, $"header has \"{MetadataKey}\" twice");
                    sawMetadata = true;
                    ParseMetadata(property.Value, header.Metadata, source);
                    continue;
                }

                if (header.Entries.ContainsKey(name))
                {
                    throw new WeightsException(source, name, "appears twice in the header");
                }

                header.Entries.Add(name, ParseEntry(name, property.Value, bufferLength, source));
                header.Names.Add(name);
            }

            CheckCoverage(header, bufferLength, source);
            return header;
        }
        catch (JsonException e)
        {
            throw new WeightsException(source, null, $"header is not valid JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e) when (e is not ObjectDisposedException)
        {
            // System.Text.Json reports undecodable strings (e.g. an escaped lone surrogate) this way.
            throw new WeightsException(source, null, $"header has an unreadable JSON string: {e.Message}", e);
        }
    }

    private static void ParseMetadata(JsonElement value, Dictionary<string, string> metadata, string source)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new WeightsException(source, null, $"\"{MetadataKey}\" is {Raw(value)}, expected an object of strings");
        }

        foreach (var property in value.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.String)
            {
                throw new WeightsException(source, null,
                    $"\"{MetadataKey}\" key '{WeightsException.Quote(property.Name)}' has value {Raw(property.Value)}, expected a string");
            }

            if (!metadata.TryAdd(property.Name, property.Value.GetString()!))
            {
                throw new WeightsException(source, null, $"\"{MetadataKey}\" has key '{WeightsException.Quote(property.Name)}' twice");
            }
        }
    }

    private static Entry ParseEntry(string name, JsonElement value, ulong bufferLength, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new WeightsException(source, name, $"has header entry {Raw(value)}, expected an object with dtype, shape and data_offsets");
        }

        JsonElement? dtypeJson = null, shapeJson = null, offsetsJson = null;
        foreach (var property in value.EnumerateObject())
        {
            switch (property.Name)
            {
                case "dtype": SetOnce(ref dtypeJson, property); break;
                case "shape": SetOnce(ref shapeJson, property); break;
                case "data_offsets": SetOnce(ref offsetsJson, property); break;
                default: break; // unknown keys are ignored, as the reference implementation does
            }
        }

        void SetOnce(ref JsonElement? slot, JsonProperty property)
        {
            if (slot is not null) throw new WeightsException(source, name, $"has \"{property.Name}\" twice in its header entry");
            slot = property.Value;
        }

        // dtype
        if (dtypeJson is not JsonElement dt) throw Missing(source, name, "dtype");
        if (dt.ValueKind != JsonValueKind.String)
        {
            throw new WeightsException(source, name, $"has dtype {Raw(dt)}, expected a string such as \"F32\"");
        }

        string dtypeName = dt.GetString()!;
        if (!TryGetDTypeInfo(dtypeName, out int elementSize, out DType? dtype))
        {
            throw new WeightsException(source, name,
                $"has unknown dtype \"{WeightsException.Quote(dtypeName)}\" (the format defines BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64)");
        }

        // shape
        if (shapeJson is not JsonElement sh) throw Missing(source, name, "shape");
        if (sh.ValueKind != JsonValueKind.Array)
        {
            throw new WeightsException(source, name, $"has shape {Raw(sh)}, expected an array of dimensions");
        }

        var shape = new int[sh.GetArrayLength()];
        int axis = 0;
        bool hasZero = false;
        foreach (var dim in sh.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long d))
            {
                // Integers beyond 64 bits still deserve the "negative" / "too large" wording.
                bool integral = dim.ValueKind == JsonValueKind.Number && dim.TryGetDecimal(out var dec) && decimal.Truncate(dec) == dec
                    && dim.GetRawText().AsSpan().IndexOfAny(".eE") < 0;
                string why = !integral ? "not an integer"
                    : dim.GetRawText().StartsWith('-') ? "negative"
                    : $"larger than {int.MaxValue}, the largest dimension this runtime supports";
                throw new WeightsException(source, name, $"has shape {Raw(sh)}: dimension {axis} is {Raw(dim)}, {why}");
            }

            if (d < 0) throw new WeightsException(source, name, $"has shape {Raw(sh)}: dimension {axis} is {d}, negative");
            if (d > int.MaxValue)
            {
                throw new WeightsException(source, name,
                    $"has shape {Raw(sh)}: dimension {axis} is {d}, larger than {int.MaxValue}, the largest dimension this runtime supports");
            }

            shape[axis++] = (int)d;
            hasZero |= d == 0;
        }

        ulong elements = 1;
        if (hasZero)
        {
            elements = 0;
        }
        else
        {
            foreach (int d in shape)
            {
                if (elements > ulong.MaxValue / (ulong)d)
                {
                    throw new WeightsException(source, name, $"has shape {FormatShape(shape)}, whose element count overflows 64 bits");
                }

                elements *= (ulong)d;
            }
        }

        if (elements > ulong.MaxValue / (ulong)elementSize)
        {
            throw new WeightsException(source, name,
                $"has shape {FormatShape(shape)} and dtype {dtypeName}, whose byte size overflows 64 bits ({elements} elements of {elementSize} bytes)");
        }

        ulong byteLength = elements * (ulong)elementSize;

        // data_offsets
        if (offsetsJson is not JsonElement of) throw Missing(source, name, "data_offsets");
        if (of.ValueKind != JsonValueKind.Array || of.GetArrayLength() != 2)
        {
            throw new WeightsException(source, name, $"has data_offsets {Raw(of)}, expected [begin, end]");
        }

        if (!TryGetOffset(of[0], out ulong begin) || !TryGetOffset(of[1], out ulong end))
        {
            throw new WeightsException(source, name, $"has data_offsets {Raw(of)}, expected two non-negative integers [begin, end]");
        }

        if (begin > end)
        {
            throw new WeightsException(source, name, $"has data_offsets [{begin}, {end}]: begin is after end");
        }

        if (end > bufferLength)
        {
            throw new WeightsException(source, name,
                $"has data_offsets [{begin}, {end}], outside the {bufferLength}-byte data buffer (is the file truncated?)");
        }

        if (end - begin != byteLength)
        {
            throw new WeightsException(source, name,
                $"has data_offsets [{begin}, {end}] ({end - begin} bytes), but shape {FormatShape(shape)} of dtype {dtypeName} needs {elements} * {elementSize} = {byteLength} bytes");
        }

        return new Entry
        {
            Name = name,
            DTypeName = dtypeName,
            DType = dtype,
            Shape = shape,
            ElementCount = elements,
            Begin = begin,
            End = end,
        };
    }

    private static bool TryGetOffset(JsonElement element, out ulong value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetUInt64(out value);
    }

    private static WeightsException Missing(string source, string name, string key) =>
        new(source, name, $"has no \"{key}\" in its header entry");

    /// <summary>The spec requires the tensors to tile the data buffer exactly: sorted by offset, each begins where the
    /// previous one ends, the first at 0 and the last at the buffer's end.</summary>
    private static void CheckCoverage(Header header, ulong bufferLength, string source)
    {
        var sorted = new List<Entry>(header.Entries.Values);
        sorted.Sort(static (a, b) =>
        {
            int c = a.Begin.CompareTo(b.Begin);
            if (c == 0) c = a.End.CompareTo(b.End);
            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });

        ulong covered = 0;
        Entry? previous = null;
        foreach (var entry in sorted)
        {
            if (entry.Begin > covered)
            {
                string after = previous is null ? "at the start of the data buffer" : $"after tensor '{WeightsException.Quote(previous.Name)}' (which ends at {previous.End})";
                throw new WeightsException(source, entry.Name,
                    $"has data_offsets [{entry.Begin}, {entry.End}], leaving bytes [{covered}, {entry.Begin}) {after} not covered by any tensor");
            }

            if (entry.Begin < covered)
            {
                throw new WeightsException(source, entry.Name,
                    $"has data_offsets [{entry.Begin}, {entry.End}], which overlap tensor '{WeightsException.Quote(previous!.Name)}' at [{previous.Begin}, {previous.End}]");
            }

            covered = entry.End;
            previous = entry;
        }

        if (covered != bufferLength)
        {
            string by = previous is null ? "the header has no tensors" : $"the tensors end at {covered}";
            throw new WeightsException(source, null,
                $"data buffer is {bufferLength} bytes but {by}: bytes [{covered}, {bufferLength}) are not covered by any tensor");
        }
    }

    private static bool TryGetDTypeInfo(string name, out int elementSize, out DType? dtype)
    {
        if (DTypeInfo.TryParseSafeTensorsName(name, out var known))
        {
            dtype = known;
            elementSize = DTypeInfo.SizeOf(known);
            return true;
        }

        dtype = null;
        elementSize = name switch
        {
            "U8" or "F8_E5M2" or "F8_E4M3" => 1,
            "I16" or "U16" => 2,
            "U32" => 4,
            "F64" or "U64" => 8,
            _ => 0,
        };
        return elementSize != 0;
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            if (Rune.DecodeFromUtf8(bytes.Slice(i), out _, out int consumed) != System.Buffers.OperationStatus.Done) return i;
            i += consumed;
        }

        return i;
    }

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };

    /// <summary>An element's JSON text, shortened, for messages.</summary>
    private static string Raw(JsonElement element) => WeightsException.Quote(element.GetRawText());

    // ---- Formatting shared with the writer and TensorSpec -----------------------------------------------

    internal static string FormatShape(ReadOnlySpan<int> shape)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < shape.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(shape[i].ToString(CultureInfo.InvariantCulture));
        }

        return sb.Append(']').ToString();
    }

    internal static string DTypeName(DType dtype) => Enum.IsDefined(dtype) ? DTypeInfo.SafeTensorsName(dtype) : $"DType({(int)dtype})";
}
