// Linked as source into Aot.Runtime and Aot.Generator: writes the NPU-1 binary container of docs/npu/isa.md.
// The generator emits binaries with it; the runtime's tests and the assembler use it too.
using System;
using System.Collections.Generic;
using System.Text;

#if AOT_GENERATOR
namespace Aot.Generator.Npu;
#else
namespace Aot.Npu;
#endif

/// <summary>One entry of the SYMBOLS section: a named tensor in a DRAM region.</summary>
public sealed class NpuSymbolDefinition
{
    public NpuSymbolDefinition(string name, Region region, NpuDType dtype, uint offset, int[] shape, float scale = 0f, int zeroPoint = 0)
    {
        Name = name ?? throw new ArgumentNullException(nameof(name));
        Region = region;
        DType = dtype;
        Offset = offset;
        Shape = shape ?? throw new ArgumentNullException(nameof(shape));
        Scale = scale;
        ZeroPoint = zeroPoint;
    }

    public string Name { get; }
    public Region Region { get; }
    public NpuDType DType { get; }
    /// <summary>Byte offset of the tensor in its region.</summary>
    public uint Offset { get; }
    /// <summary>Dimensions, outermost first (rank 0-6).</summary>
    public int[] Shape { get; }
    /// <summary>int8 only: real = scale * (q - zero point). Must stay 0 for other dtypes.</summary>
    public float Scale { get; }
    /// <summary>int8 only, in [-128, 127]. Must stay 0 for other dtypes.</summary>
    public int ZeroPoint { get; }
    /// <summary><see cref="NpuContainer.LayoutRowMajor"/> (0) or <see cref="NpuContainer.LayoutChannelsLast"/> (1).</summary>
    public byte Layout { get; set; }

    /// <summary>The bytes the tensor occupies in its layout (what the SYMBOLS entry records): the product of the
    /// dimensions times the element size, with C rounded up to 32 for the channels-last layout.</summary>
    public long ByteSize
    {
        get
        {
            long size = NpuContainer.ElementSize(DType);
            for (int i = 0; i < Shape.Length; i++)
            {
                long d = Shape[i];
                if (d < 0) throw new InvalidOperationException($"symbol '{Name}' has a negative dimension {d}");
                if (Layout == NpuContainer.LayoutChannelsLast && Shape.Length == 4 && i == 1) d = NpuContainer.PaddedChannels(d);
                size = checked(size * d);
            }

            return size;
        }
    }
}

/// <summary>
/// Collects a program (code, CONST bytes, region sizes, symbols, strings, initial semaphore values, optional DEBUG
/// text) and writes it as an NPU-1 binary: the 64-byte header, the section table right after it, then the
/// sections in kind order, each at the next multiple of its alignment, with zero bytes in between. The output
/// depends only on what was added, in the order it was added (no time stamps, no hash ordering).
/// The writer checks only what the encoding needs (fields fit); whether the program is valid is the loader's job.
/// </summary>
public sealed class NpuBinaryWriter
{
    /// <summary>MARK and symbol names. Symbol names are added when the binary is written.</summary>
    public NpuStringTable Strings { get; set; } = new();

    public List<Instruction> Code { get; } = new();

    /// <summary>The CONST section and region (weights, read-only on the device).</summary>
    public byte[] Constants { get; set; } = Array.Empty<byte>();

    /// <summary>
    /// Non-zero: the CONST region has this many bytes bound at load time (the runtime supplies the weights,
    /// packed in the layout the compiler chose, to <c>NpuLoader.Load(binary, constants)</c>) and the CONST section
    /// stays empty. <see cref="Constants"/> must then be empty.
    /// </summary>
    public uint LoadTimeConstBytes { get; set; }

    public uint InputBytes { get; set; }
    public uint OutputBytes { get; set; }
    public uint WorkspaceBytes { get; set; }

    public List<NpuSymbolDefinition> Symbols { get; } = new();

    /// <summary>Initial value of each of the 32 semaphores.</summary>
    public uint[] SemaphoreInit { get; } = new uint[NpuTarget.Semaphores];

    /// <summary>Free-form text for the DEBUG section (e.g. the IR of each kernel); no DEBUG section when null.</summary>
    public string? Debug { get; set; }

    /// <summary>Appends a MARK that opens (or closes) the region <paramref name="name"/>.</summary>
    public void Mark(string name, bool end) => Code.Add(Instruction.Mark(Strings.Add(name), end));

    /// <summary>The binary: header, section table, TARGET, CODE, CONST, REGIONS, SYMBOLS, STRINGS, SEMINIT[, DEBUG].</summary>
    public byte[] ToArray()
    {
        var code = new byte[checked(Code.Count * Instruction.Size)];
        for (int i = 0; i < Code.Count; i++) Code[i].Encode(code.AsSpan(i * Instruction.Size, Instruction.Size));

        if (LoadTimeConstBytes != 0 && Constants.Length != 0)
            throw new InvalidOperationException($"CONST is either carried ({Constants.Length} bytes) or bound at load time ({LoadTimeConstBytes} bytes), not both");
        var regions = new byte[NpuContainer.RegionsSize];
        PutU32(regions, 0, LoadTimeConstBytes != 0 ? LoadTimeConstBytes : (uint)Constants.Length);
        PutU32(regions, 4, InputBytes);
        PutU32(regions, 8, OutputBytes);
        PutU32(regions, 12, WorkspaceBytes);

        // Symbols first: their names go into STRINGS.
        var symbols = new byte[checked(4 + Symbols.Count * NpuContainer.SymbolEntrySize)];
        PutU32(symbols, 0, (uint)Symbols.Count);
        for (int s = 0; s < Symbols.Count; s++) EncodeSymbol(Symbols[s], symbols.AsSpan(4 + s * NpuContainer.SymbolEntrySize, NpuContainer.SymbolEntrySize));

        var seminit = new byte[NpuContainer.SemInitSize];
        for (int s = 0; s < NpuTarget.Semaphores; s++) PutU32(seminit, 4 * s, SemaphoreInit[s]);

        var sections = new List<NpuSection>
        {
            new(NpuSectionKind.Target, TargetSection()),
            new(NpuSectionKind.Code, code),
            new(NpuSectionKind.Const, Constants),
            new(NpuSectionKind.Regions, regions),
            new(NpuSectionKind.Symbols, symbols),
            new(NpuSectionKind.Strings, Strings.ToArray()),
            new(NpuSectionKind.SemInit, seminit),
        };
        if (Debug is not null) sections.Add(new(NpuSectionKind.Debug, Encoding.UTF8.GetBytes(Debug)));
        return WriteContainer(sections);
    }

    /// <summary>The TARGET section describing this machine (<see cref="NpuTarget"/>).</summary>
    public static byte[] TargetSection()
    {
        var t = new byte[NpuContainer.TargetSize];
        PutU16(t, 0, NpuTarget.IsaMajor);
        PutU16(t, 2, NpuTarget.IsaMinor);
        PutU32(t, 4, NpuTarget.ArraySize);
        PutU32(t, 8, NpuTarget.ScratchpadBytes);
        PutU32(t, 12, NpuTarget.ScratchpadBanks);
        PutU32(t, 16, NpuTarget.AccumulatorRows);
        PutU32(t, 20, NpuTarget.AccumulatorBanks);
        PutU32(t, 24, NpuTarget.Semaphores);
        PutU32(t, 28, NpuTarget.DmaChannels);
        PutU32(t, 32, NpuTarget.VpuLanes);
        return t;
    }

    /// <summary>
    /// Lays out any list of sections (known kinds or not, in the given order) as a container: the header, the table
    /// at offset 64, then each section at the next multiple of its alignment, zero bytes in the gaps. Used by
    /// <see cref="ToArray"/> and by tests that need containers the normal writer would never produce.
    /// </summary>
    public static byte[] WriteContainer(IReadOnlyList<NpuSection> sections)
    {
        if (sections is null) throw new ArgumentNullException(nameof(sections));
        long tableOffset = NpuContainer.HeaderSize;
        long at = tableOffset + (long)sections.Count * NpuContainer.SectionEntrySize;
        var offsets = new long[sections.Count];
        for (int i = 0; i < sections.Count; i++)
        {
            uint alignment = sections[i].Alignment;
            if (alignment == 0 || (alignment & (alignment - 1)) != 0)
                throw new ArgumentException($"section {i} ({NpuContainer.Name(sections[i].Kind)}): alignment {alignment} is not a power of two", nameof(sections));
            at = (at + alignment - 1) / alignment * alignment;
            offsets[i] = at;
            at += sections[i].Data.Length;
        }

        if (at > int.MaxValue) throw new ArgumentException($"the binary would be {at} bytes; the container holds at most {int.MaxValue}", nameof(sections));
        var file = new byte[at];
        var magic = NpuContainer.Magic;
        magic.CopyTo(file);
        PutU16(file, NpuContainer.HeaderMajorOffset, NpuContainer.FormatMajor);
        PutU16(file, NpuContainer.HeaderMinorOffset, NpuContainer.FormatMinor);
        PutU32(file, NpuContainer.HeaderSizeOffset, NpuContainer.HeaderSize);
        PutU32(file, NpuContainer.HeaderFileSizeOffset, (uint)file.Length);
        PutU32(file, NpuContainer.HeaderTableOffset, (uint)tableOffset);
        PutU32(file, NpuContainer.HeaderSectionCountOffset, (uint)sections.Count);
        for (int i = 0; i < sections.Count; i++)
        {
            var s = sections[i];
            int entry = (int)tableOffset + i * NpuContainer.SectionEntrySize;
            PutU32(file, entry + NpuContainer.EntryKindOffset, s.Kind);
            PutU32(file, entry + NpuContainer.EntryFlagsOffset, s.Flags);
            PutU32(file, entry + NpuContainer.EntryOffsetOffset, (uint)offsets[i]);
            PutU32(file, entry + NpuContainer.EntrySizeOffset, (uint)s.Data.Length);
            PutU32(file, entry + NpuContainer.EntryAlignmentOffset, s.Alignment);
            PutU32(file, entry + NpuContainer.EntryCrcOffset, NpuCrc32.Compute(s.Data));
            s.Data.CopyTo(file, offsets[i]);
        }

        int tableBytes = sections.Count * NpuContainer.SectionEntrySize;
        PutU32(file, NpuContainer.HeaderTableCrcOffset, NpuCrc32.Compute(file.AsSpan((int)tableOffset, tableBytes)));
        return file;
    }

    private void EncodeSymbol(NpuSymbolDefinition symbol, Span<byte> entry)
    {
        if (symbol.Shape.Length > NpuContainer.MaxSymbolRank)
            throw new ArgumentException($"symbol '{symbol.Name}' has rank {symbol.Shape.Length}; at most {NpuContainer.MaxSymbolRank}");
        long byteSize = symbol.ByteSize;
        if (byteSize > uint.MaxValue) throw new ArgumentException($"symbol '{symbol.Name}' is {byteSize} bytes; a symbol holds at most {uint.MaxValue}");
        PutU32(entry, NpuContainer.SymbolNameOffset, Strings.Add(symbol.Name));
        entry[NpuContainer.SymbolRegionOffset] = (byte)symbol.Region;
        entry[NpuContainer.SymbolDTypeOffset] = (byte)symbol.DType;
        entry[NpuContainer.SymbolRankOffset] = (byte)symbol.Shape.Length;
        entry[NpuContainer.SymbolLayoutOffset] = symbol.Layout;
        PutU32(entry, NpuContainer.SymbolDataOffset, symbol.Offset);
        PutU32(entry, NpuContainer.SymbolByteSizeOffset, (uint)byteSize);
        PutU32(entry, NpuContainer.SymbolScaleOffset, Instruction.BitsOf(symbol.Scale));
        PutU32(entry, NpuContainer.SymbolZeroPointOffset, unchecked((uint)symbol.ZeroPoint));
        for (int d = 0; d < symbol.Shape.Length; d++) PutU32(entry, NpuContainer.SymbolDimsOffset + 4 * d, (uint)symbol.Shape[d]);
    }

    private static void PutU16(Span<byte> b, int at, ushort v)
    {
        b[at] = (byte)v;
        b[at + 1] = (byte)(v >> 8);
    }

    private static void PutU32(Span<byte> b, int at, uint v)
    {
        b[at] = (byte)v;
        b[at + 1] = (byte)(v >> 8);
        b[at + 2] = (byte)(v >> 16);
        b[at + 3] = (byte)(v >> 24);
    }

    private static void PutU32(byte[] b, int at, uint v) => PutU32(b.AsSpan(), at, v);

    private static void PutU16(byte[] b, int at, ushort v) => PutU16(b.AsSpan(), at, v);
}
