// Linked as source into Aot.Runtime and Aot.Generator: the STRINGS section (MARK names, symbol names).
using System;
using System.Collections.Generic;
using System.Text;

#if AOT_GENERATOR
namespace Aot.Generator.Npu;
#else
namespace Aot.Npu;
#endif

/// <summary>
/// Builds the STRINGS section: NUL-terminated UTF-8 strings, each stored once (interned), in the order they were
/// first added, so the same additions always give the same bytes. Instructions and symbols refer to a string by
/// the byte offset <see cref="Add"/> returns, which is always the start of a string (the loader requires that).
/// </summary>
public sealed class NpuStringTable
{
    private readonly Dictionary<string, uint> _offsets = new(StringComparer.Ordinal);
    private readonly Dictionary<uint, string> _byOffset = new();
    private readonly List<byte> _bytes = new();
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public NpuStringTable()
    {
    }

    /// <summary>
    /// Starts from an existing STRINGS section (NUL-terminated UTF-8 strings); its strings keep their offsets and
    /// later additions are appended.
    /// </summary>
    public NpuStringTable(ReadOnlySpan<byte> existing)
    {
        if (existing.Length > 0 && existing[existing.Length - 1] != 0)
            throw new ArgumentException("a STRINGS section ends with a NUL byte", nameof(existing));
        int start = 0;
        for (int i = 0; i < existing.Length; i++)
        {
            if (existing[i] != 0) continue;
            string s = Encoding.UTF8.GetString(existing.Slice(start, i - start).ToArray());
            if (!_offsets.ContainsKey(s)) _offsets[s] = (uint)start;
            _byOffset[(uint)start] = s;
            start = i + 1;
        }

        foreach (byte b in existing) _bytes.Add(b);
    }

    /// <summary>Bytes the section has so far.</summary>
    public int Size => _bytes.Count;

    /// <summary>The offset of <paramref name="value"/> in the section, adding it if it is new.</summary>
    public uint Add(string value)
    {
        if (value is null) throw new ArgumentNullException(nameof(value));
        if (_offsets.TryGetValue(value, out uint at)) return at;
        if (value.IndexOf('\0') >= 0) throw new ArgumentException("a string of the STRINGS section cannot contain NUL", nameof(value));
        at = (uint)_bytes.Count;
        _bytes.AddRange(StrictUtf8.GetBytes(value)); // throws on lone surrogates: the name must survive the round trip
        _bytes.Add(0);
        _offsets[value] = at;
        _byOffset[at] = value;
        return at;
    }

    /// <summary>The string that starts at <paramref name="offset"/>, or null when no string starts there.</summary>
    public string? At(uint offset) => _byOffset.TryGetValue(offset, out var s) ? s : null;

    /// <summary>The section's contents.</summary>
    public byte[] ToArray() => _bytes.ToArray();
}
