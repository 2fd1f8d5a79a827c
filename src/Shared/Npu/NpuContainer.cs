// Linked as source into Aot.Runtime and Aot.Generator: the layout constants of the NPU-1 binary container
// (docs/npu/isa.md, "Binary container"), used by the writer (generator) and the loader (runtime).
using System;

#if AOT_GENERATOR
namespace Aot.Generator.Npu;
#else
namespace Aot.Npu;
#endif

/// <summary>Section kinds of the container. Kinds 1-7 are required exactly once; DEBUG is optional.</summary>
public enum NpuSectionKind : uint
{
    Target = 1,
    Code = 2,
    Const = 3,
    Regions = 4,
    Symbols = 5,
    Strings = 6,
    SemInit = 7,
    Debug = 8,
}

/// <summary>One section as the writer lays it out: kind, flags, alignment and contents.</summary>
public readonly struct NpuSection
{
    public NpuSection(uint kind, uint flags, uint alignment, byte[] data)
    {
        Kind = kind;
        Flags = flags;
        Alignment = alignment;
        Data = data ?? throw new ArgumentNullException(nameof(data));
    }

    /// <summary>A section of a known kind with that kind's flags and minimum alignment.</summary>
    public NpuSection(NpuSectionKind kind, byte[] data)
        : this((uint)kind, NpuContainer.ExpectedFlags(kind), (uint)NpuContainer.MinimumAlignment(kind), data)
    {
    }

    public uint Kind { get; }
    public uint Flags { get; }
    public uint Alignment { get; }
    public byte[] Data { get; }
}

/// <summary>Sizes, offsets and per-kind rules of the binary container.</summary>
public static class NpuContainer
{
    /// <summary>The eight magic bytes <c>NPU1BIN\0</c>.</summary>
    public static ReadOnlySpan<byte> Magic => "NPU1BIN\0"u8;

    public const ushort FormatMajor = 1;
    public const ushort FormatMinor = 0;

    public const int HeaderSize = 64;
    public const int SectionEntrySize = 32;
    public const int TableAlignment = 8;

    // Header field offsets.
    public const int HeaderMajorOffset = 8;
    public const int HeaderMinorOffset = 10;
    public const int HeaderSizeOffset = 12;
    public const int HeaderFileSizeOffset = 16;
    public const int HeaderTableOffset = 20;
    public const int HeaderSectionCountOffset = 24;
    public const int HeaderTableCrcOffset = 28;
    public const int HeaderReservedOffset = 32;

    // Section entry field offsets.
    public const int EntryKindOffset = 0;
    public const int EntryFlagsOffset = 4;
    public const int EntryOffsetOffset = 8;
    public const int EntrySizeOffset = 12;
    public const int EntryAlignmentOffset = 16;
    public const int EntryCrcOffset = 20;
    public const int EntryReservedOffset = 24;

    /// <summary>Section flag: a reader that does not know the kind must reject the file.</summary>
    public const uint SectionRequired = 0x1;

    /// <summary>TARGET: ISA major u16, minor u16, then eight u32 machine parameters.</summary>
    public const int TargetSize = 36;
    /// <summary>REGIONS: four u32 sizes, CONST, INPUT, OUTPUT, WORKSPACE.</summary>
    public const int RegionsSize = 16;
    /// <summary>SEMINIT: one u32 initial value per semaphore.</summary>
    public const int SemInitSize = NpuTarget.Semaphores * 4;
    /// <summary>SYMBOLS: u32 count, then this many bytes per symbol.</summary>
    public const int SymbolEntrySize = 48;
    public const int MaxSymbolRank = 6;

    // Symbol entry field offsets.
    public const int SymbolNameOffset = 0;
    public const int SymbolRegionOffset = 4;
    public const int SymbolDTypeOffset = 5;
    public const int SymbolRankOffset = 6;
    public const int SymbolLayoutOffset = 7;
    public const int SymbolDataOffset = 8;
    public const int SymbolByteSizeOffset = 12;
    public const int SymbolScaleOffset = 16;
    public const int SymbolZeroPointOffset = 20;
    public const int SymbolDimsOffset = 24;

    /// <summary>Symbol layout 0: row-major in the symbol's own shape.</summary>
    public const byte LayoutRowMajor = 0;
    /// <summary>Symbol layout 1: a [1, C, H, W] tensor stored channels-last as [H, W, C'], C' = C rounded up to 32,
    /// the padding channels zero.</summary>
    public const byte LayoutChannelsLast = 1;

    /// <summary>C rounded up to a multiple of 32 (the channels-last layout's innermost extent).</summary>
    public static long PaddedChannels(long channels) => (channels + NpuTarget.ArraySize - 1) / NpuTarget.ArraySize * NpuTarget.ArraySize;

    /// <summary>Whether kind is one of the eight this version defines.</summary>
    public static bool IsKnown(uint kind) => kind >= (uint)NpuSectionKind.Target && kind <= (uint)NpuSectionKind.Debug;

    /// <summary>The flags a section of a known kind carries: required for kinds 1-7, none for DEBUG.</summary>
    public static uint ExpectedFlags(NpuSectionKind kind) => kind == NpuSectionKind.Debug ? 0u : SectionRequired;

    /// <summary>
    /// The smallest alignment a section of this kind may declare: CODE 32 (instruction words), CONST 64 (DRAM
    /// bursts), the sections of u32 fields 4, STRINGS and DEBUG 1.
    /// </summary>
    public static int MinimumAlignment(NpuSectionKind kind) => kind switch
    {
        NpuSectionKind.Code => 32,
        NpuSectionKind.Const => 64,
        NpuSectionKind.Target or NpuSectionKind.Regions or NpuSectionKind.Symbols or NpuSectionKind.SemInit => 4,
        _ => 1,
    };

    /// <summary>The section's name as the loader and the docs spell it (TARGET, CODE, ...), or "kind N".</summary>
    public static string Name(uint kind) => kind switch
    {
        (uint)NpuSectionKind.Target => "TARGET",
        (uint)NpuSectionKind.Code => "CODE",
        (uint)NpuSectionKind.Const => "CONST",
        (uint)NpuSectionKind.Regions => "REGIONS",
        (uint)NpuSectionKind.Symbols => "SYMBOLS",
        (uint)NpuSectionKind.Strings => "STRINGS",
        (uint)NpuSectionKind.SemInit => "SEMINIT",
        (uint)NpuSectionKind.Debug => "DEBUG",
        _ => "kind " + kind.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Bytes per element of <paramref name="dtype"/> (int8 1, fp16 2, fp32/int32 4), or 0 if unknown.</summary>
    public static int ElementSize(NpuDType dtype) => dtype switch
    {
        NpuDType.Int8 => 1,
        NpuDType.Float16 => 2,
        NpuDType.Float32 or NpuDType.Int32 => 4,
        _ => 0,
    };
}
