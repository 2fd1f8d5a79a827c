using Aot.Npu;
using Aot.Runtime.Npu;
using static Aot.Runtime.Tests.Npu.NpuTestUtil;

namespace Aot.Runtime.Tests.Npu;

/// <summary>One test per container check of docs/npu/isa.md "What the loader checks": header, table, sections.</summary>
public class NpuLoaderContainerTests
{
    private static void AssertError(NpuBinaryException e, string? section, long offset, string message)
    {
        Assert.Equal(section, e.Section);
        Assert.Equal(offset, e.ByteOffset);
        Assert.Null(e.InstructionIndex);
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), $"expected \"{message}\" in\n{e.Message}");
    }

    private static NpuBinaryException Patched(Action<byte[]> patch, bool fixCrcs = true)
    {
        var file = KitchenSink();
        patch(file);
        if (fixCrcs) FixCrcs(file);
        return Rejects(file);
    }

    private static long Entry(NpuSectionKind kind) => EntryOffset(KitchenSink(), NpuTestUtil.Entry(KitchenSink(), kind));

    private static long Offset(NpuSectionKind kind) => SectionOffset(KitchenSink(), kind);

    [Fact]
    public void The_kitchen_sink_loads()
    {
        Assert.Equal(45, NpuLoader.Load(KitchenSink()).Code.Length);
    }

    // ---------------------------------------------------------------- header

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(63)]
    public void Shorter_than_the_header(int length)
    {
        AssertError(Rejects(KitchenSink()[..length]), null, length, "shorter than the 64-byte header");
    }

    [Fact]
    public void Bad_magic() => AssertError(Patched(f => f[3] = (byte)'2'), null, 3, "bad magic 4e 50 55 32");

    [Fact]
    public void Unknown_major_version() => AssertError(Patched(f => PutU16(f, 8, 2)), null, 8, "container format 2.0; this loader reads 1.0");

    [Fact]
    public void Unknown_minor_version() => AssertError(Patched(f => PutU16(f, 10, 1)), null, 10, "container format 1.1; this loader reads 1.0");

    [Fact]
    public void Wrong_header_size() => AssertError(Patched(f => PutU32(f, 12, 128)), null, 12, "header size 128; it must be 64");

    [Fact]
    public void File_size_differs_from_the_header()
    {
        var file = KitchenSink();
        var longer = file.Concat(new byte[4]).ToArray();
        AssertError(Rejects(longer), null, 16, $"the header says the file is {file.Length} bytes but it is {file.Length + 4}");
        AssertError(Rejects(file[..^1]), null, 16, $"the header says the file is {file.Length} bytes but it is {file.Length - 1}");
    }

    [Fact]
    public void Reserved_header_bytes_are_zero() => AssertError(Patched(f => f[45] = 1), null, 45, "reserved header byte 45 is 0x01");

    [Theory]
    [InlineData(68u)]
    [InlineData(32u)]
    [InlineData(0u)]
    public void Table_offset_is_aligned_and_after_the_header(uint offset) =>
        AssertError(Patched(f => PutU32(f, 20, offset), fixCrcs: false), null, 20, $"section table offset {offset}; it must be a multiple of 8 after the 64-byte header");

    [Theory]
    [InlineData(1000u)]
    [InlineData(0xFFFFFFFFu)]
    public void Table_inside_the_file(uint count) =>
        AssertError(Patched(f => PutU32(f, 24, count), fixCrcs: false), null, 24, $"the section table ({count} entries of 32 bytes at offset 64) ends at {64 + 32L * count}, past the end of the file");

    [Fact]
    public void Table_crc() => AssertError(Patched(f => f[28] ^= 0x10, fixCrcs: false), null, 28, "the section table's CRC-32 is 0x");

    // ---------------------------------------------------------------- section table

    [Fact]
    public void Entry_reserved_bytes_are_zero()
    {
        long at = Entry(NpuSectionKind.Code);
        AssertError(Patched(f => f[at + 29] = 7), "CODE", at + 29, "reserved byte 29 of section entry 1 is 0x07");
    }

    [Fact]
    public void Entry_flags_beyond_required_are_rejected()
    {
        long at = Entry(NpuSectionKind.Symbols);
        AssertError(Patched(f => PutU32(f, at + 4, 3)), "SYMBOLS", at + 4, "section entry 4 has flags 0x3; only 0x1 (required) is defined");
    }

    [Fact]
    public void Unknown_required_kind_is_rejected()
    {
        long at = Entry(NpuSectionKind.Debug);
        AssertError(Patched(f => { PutU32(f, at, 99); PutU32(f, at + 4, 1); }), "kind 99", at, "section entry 7 has unknown kind 99 and is marked required");
    }

    [Fact]
    public void Unknown_optional_kind_is_skipped()
    {
        var file = KitchenSink();
        PutU32(file, Entry(NpuSectionKind.Debug), 99);
        FixCrcs(file);
        Assert.Equal(45, NpuLoader.Load(file).Code.Length);
        // ... and so is a missing DEBUG section.
        Assert.Equal(45, NpuLoader.Load(NpuSections.Without(KitchenSink(), NpuSectionKind.Debug)).Code.Length);
    }

    [Theory]
    [InlineData(NpuSectionKind.Target, 0u, "a TARGET section has flags 0x1, not 0x0")]
    [InlineData(NpuSectionKind.Const, 0u, "a CONST section has flags 0x1, not 0x0")]
    [InlineData(NpuSectionKind.Debug, 1u, "a DEBUG section has flags 0x0, not 0x1")]
    public void Known_kinds_carry_their_own_flags(NpuSectionKind kind, uint flags, string message)
    {
        long at = Entry(kind);
        AssertError(Patched(f => PutU32(f, at + 4, flags)), NpuContainer.Name((uint)kind), at + 4, message);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(48u)]
    [InlineData(0x80000001u)]
    public void Alignment_is_a_power_of_two(uint alignment)
    {
        long at = Entry(NpuSectionKind.Code);
        AssertError(Patched(f => PutU32(f, at + 16, alignment)), "CODE", at + 16, $"alignment {alignment} is not a power of two");
    }

    [Theory]
    [InlineData(NpuSectionKind.Code, 16u, 32)]
    [InlineData(NpuSectionKind.Const, 32u, 64)]
    [InlineData(NpuSectionKind.Symbols, 2u, 4)]
    public void Alignment_is_at_least_the_kinds(NpuSectionKind kind, uint alignment, int minimum)
    {
        long at = Entry(kind);
        AssertError(Patched(f => PutU32(f, at + 16, alignment)), NpuContainer.Name((uint)kind), at + 16,
            $"alignment {alignment}; a {NpuContainer.Name((uint)kind)} section is aligned to at least {minimum}");
    }

    [Fact]
    public void Offset_is_a_multiple_of_the_alignment()
    {
        long at = Entry(NpuSectionKind.Target);
        Assert.Equal(320, Offset(NpuSectionKind.Target));
        AssertError(Patched(f => PutU32(f, at + 16, 128)), "TARGET", at + 8, "offset 320 is not a multiple of the section's alignment 128");
    }

    [Fact]
    public void Sections_start_after_the_header()
    {
        long at = Entry(NpuSectionKind.Target);
        AssertError(Patched(f => PutU32(f, at + 8, 32)), "TARGET", at + 8, "offset 32 lies inside the 64-byte header");
    }

    [Fact]
    public void Sections_end_inside_the_file()
    {
        long at = Entry(NpuSectionKind.Debug);
        var file = KitchenSink();
        long end = Offset(NpuSectionKind.Debug) + SectionSize(file, NpuSectionKind.Debug);
        AssertError(Patched(f => PutU32(f, at + 12, U32(f, at + 12) + 1)), "DEBUG", at + 12, $"runs past the end of the file ({end} bytes)");
        AssertError(Patched(f => PutU32(f, at + 8, 0xFFFFFFFF)), "DEBUG", at + 12, "[4294967295, 4294967321) runs past the end of the file");
    }

    [Fact]
    public void Sections_do_not_overlap_the_table()
    {
        long at = Entry(NpuSectionKind.Target);
        AssertError(Patched(f => PutU32(f, at + 8, 256)), "TARGET", at + 8, "the section [256, 292) overlaps the section table [64, 320)");
    }

    [Fact]
    public void Sections_do_not_overlap_each_other()
    {
        long at = Entry(NpuSectionKind.Debug);
        long code = Offset(NpuSectionKind.Code);
        AssertError(Patched(f => PutU32(f, at + 8, (uint)code + 32)), "DEBUG", at + 8, $"[{code + 32}, {code + 32 + 26}) overlaps section CODE [{code}, ");
    }

    [Fact]
    public void Each_known_kind_appears_once()
    {
        long at = Entry(NpuSectionKind.Debug);
        AssertError(Patched(f => { PutU32(f, at, 6); PutU32(f, at + 4, 1); }), "STRINGS", at, "section entry 7 is a second STRINGS section (entry 5 is the first)");
    }

    [Fact]
    public void Section_crc()
    {
        long code = Offset(NpuSectionKind.Code);
        var e = Patched(f => f[code + 40] ^= 0x01, fixCrcs: false);
        AssertError(e, "CODE", code, "the contents' CRC-32 is 0x");
        Assert.Contains("section entry 1 says 0x", e.Message);
    }

    [Fact]
    public void Bytes_between_sections_are_zero()
    {
        var file = KitchenSink();
        long gap = Offset(NpuSectionKind.Target) + SectionSize(file, NpuSectionKind.Target);
        Assert.True(gap < Offset(NpuSectionKind.Code));
        AssertError(Patched(f => f[gap + 1] = 0x20), null, gap + 1, $"byte {gap + 1} lies between sections and must be zero padding (it is 0x20)");
    }

    [Fact]
    public void Bytes_after_the_last_section_are_zero()
    {
        var file = KitchenSink().Concat(new byte[8]).ToArray();
        PutU32(file, 16, (uint)file.Length);
        Assert.Equal(45, NpuLoader.Load(file).Code.Length); // zero padding at the end is fine
        file[^3] = 1;
        AssertError(Rejects(file), null, file.Length - 3, "lies after the last section and must be zero padding");
    }

    [Theory]
    [InlineData(NpuSectionKind.Target)]
    [InlineData(NpuSectionKind.Code)]
    [InlineData(NpuSectionKind.Const)]
    [InlineData(NpuSectionKind.Regions)]
    [InlineData(NpuSectionKind.Symbols)]
    [InlineData(NpuSectionKind.Strings)]
    [InlineData(NpuSectionKind.SemInit)]
    public void Every_required_kind_is_present(NpuSectionKind kind)
    {
        string name = NpuContainer.Name((uint)kind);
        AssertError(Rejects(NpuSections.Without(KitchenSink(), kind)), name, 64, $"the required section {name} is missing");
    }

    // ---------------------------------------------------------------- TARGET, REGIONS, SEMINIT

    [Theory]
    [InlineData(0, 2, "ISA major version = 2; this machine has 1")]
    [InlineData(2, 2, "ISA minor version = 1; this machine has 0")]
    [InlineData(4, 4, "systolic array size = 33; this machine has 32")]
    [InlineData(8, 4, "scratchpad bytes = 524289; this machine has 524288")]
    [InlineData(12, 4, "scratchpad banks = 9; this machine has 8")]
    [InlineData(16, 4, "accumulator rows = 1025; this machine has 1024")]
    [InlineData(20, 4, "accumulator banks = 5; this machine has 4")]
    [InlineData(24, 4, "semaphores = 33; this machine has 32")]
    [InlineData(28, 4, "DMA channels = 5; this machine has 4")]
    [InlineData(32, 4, "VPU lanes = 33; this machine has 32")]
    public void Target_equals_the_machine(int field, int width, string message)
    {
        long at = Offset(NpuSectionKind.Target) + field;
        AssertError(Patched(f => { if (width == 2) PutU16(f, at, (ushort)(U32(f, at) + 1)); else PutU32(f, at, U32(f, at) + 1); }), "TARGET", at, message);
    }

    [Theory]
    [InlineData(NpuSectionKind.Target, 40, "TARGET is 40 bytes; it must be 36")]
    [InlineData(NpuSectionKind.Regions, 12, "REGIONS is 12 bytes; it must be 16")]
    [InlineData(NpuSectionKind.SemInit, 124, "SEMINIT is 124 bytes; it must be 128 (32 x u32)")]
    [InlineData(NpuSectionKind.Symbols, 2, "SYMBOLS is 2 bytes, too short for its u32 count")]
    [InlineData(NpuSectionKind.Code, 0, "CODE is empty; a program ends with HALT")]
    [InlineData(NpuSectionKind.Code, 40, "CODE is 40 bytes, not a multiple of the 32-byte instruction word")]
    public void Fixed_size_sections_have_their_size(NpuSectionKind kind, int size, string message)
    {
        var file = NpuSections.Replace(KitchenSink(), kind, new byte[size]);
        AssertError(Rejects(file), NpuContainer.Name((uint)kind), SectionOffset(file, kind), message);
    }

    [Fact]
    public void Const_region_is_the_const_section()
    {
        long at = Offset(NpuSectionKind.Regions);
        AssertError(Patched(f => PutU32(f, at, 4160)), "REGIONS", at, "the CONST region is 4160 bytes but the CONST section is 4096");
    }

    [Fact]
    public void Const_can_be_bound_at_load_time()
    {
        // The generator fixes the weights' layout; the weights come at load time. The binary declares the CONST
        // region's size in REGIONS and leaves the CONST section empty.
        string code = "dma.ld ch=0 region=const dram=0xf00+0 local=0x0+0 rows=1 bytes=256 pad=0,0\nhalt";
        var bound = NpuAssembler.AssembleBinary(".region const 4096\n.region input 64\n" + code);
        Assert.Equal(0, SectionSize(bound, NpuSectionKind.Const));
        var weights = Enumerable.Range(0, 4096).Select(i => (byte)i).ToArray();
        var program = NpuLoader.Load(bound, weights);
        Assert.Equal(weights, program.Constants);

        long regions = SectionOffset(bound, NpuSectionKind.Regions);
        AssertError(Rejects(bound), "REGIONS", regions, "the CONST region is 4096 bytes and the CONST section is empty: the constants are bound at load time (NpuLoader.Load(binary, constants))");
        var e = Assert.Throws<NpuBinaryException>(() => NpuLoader.Load(bound, weights.AsSpan(0, 4095)));
        AssertError(e, "REGIONS", regions, "the CONST region is 4096 bytes but 4095 bytes of constants were supplied");
        var carried = KitchenSink();
        e = Assert.Throws<NpuBinaryException>(() => NpuLoader.Load(carried, new byte[4096]));
        AssertError(e, "CONST", SectionOffset(carried, NpuSectionKind.Const), "constants were supplied at load time but the binary carries its own CONST contents (4096 bytes)");

        // Footprints are checked against the bound region's size.
        var past = NpuAssembler.AssembleBinary(".region const 4096\n" + code.Replace("0xf00", "0xf01"));
        e = Assert.Throws<NpuBinaryException>(() => NpuLoader.Load(past, weights));
        Assert.Contains("the CONST region is 4096 bytes", e.Message);
        Assert.Equal(0, e.InstructionIndex);

        var writer = new NpuBinaryWriter { Constants = new byte[64], LoadTimeConstBytes = 64 };
        writer.Code.Add(Instruction.Halt());
        Assert.Throws<InvalidOperationException>(() => writer.ToArray());
    }

    [Theory]
    [InlineData(1, "INPUT")]
    [InlineData(2, "OUTPUT")]
    [InlineData(3, "WORKSPACE")]
    public void Regions_are_at_most_1_GiB(int index, string name)
    {
        long at = Offset(NpuSectionKind.Regions) + 4 * index;
        AssertError(Patched(f => PutU32(f, at, (1u << 30) + 1)), "REGIONS", at, $"the {name} region is 1073741825 bytes; at most 1073741824 (1 GiB)");
        var file = KitchenSink();
        PutU32(file, at, 1u << 30);
        FixCrcs(file);
        NpuLoader.Load(file);
    }

    // ---------------------------------------------------------------- STRINGS

    [Fact]
    public void Strings_end_with_nul()
    {
        var file = KitchenSink();
        long end = Offset(NpuSectionKind.Strings) + SectionSize(file, NpuSectionKind.Strings) - 1;
        AssertError(Patched(f => f[end] = (byte)'z'), "STRINGS", end, "STRINGS does not end with a NUL byte");
    }

    [Theory]
    [InlineData(new byte[] { 0xFF }, 0)]
    [InlineData(new byte[] { 0xC3, 0x65 }, 0)]
    [InlineData(new byte[] { 0x65, 0xED, 0xA0, 0x80 }, 1)] // an encoded surrogate
    public void Strings_are_utf8(byte[] bad, int at)
    {
        long start = Offset(NpuSectionKind.Strings) + 4; // "gemm"
        AssertError(Patched(f => bad.CopyTo(f, start)), "STRINGS", start + at, "the string at STRINGS offset 4 is not valid UTF-8");
    }

    // ---------------------------------------------------------------- SYMBOLS

    private static long Symbol(int index) => Offset(NpuSectionKind.Symbols) + 4 + 48L * index;

    [Fact]
    public void Symbol_count_matches_the_size()
    {
        long at = Offset(NpuSectionKind.Symbols);
        AssertError(Patched(f => PutU32(f, at, 6)), "SYMBOLS", at, "SYMBOLS declares 6 symbols (292 bytes with the count) but is 244 bytes");
        AssertError(Patched(f => PutU32(f, at, 0x7FFFFFFF)), "SYMBOLS", at, "SYMBOLS declares 2147483647 symbols");
    }

    [Theory]
    [InlineData(1u, "the name of symbol 0 refers to STRINGS offset 1, which is not the start of a string")]
    [InlineData(1000u, "the name of symbol 0 refers to STRINGS offset 1000, past the end of STRINGS (21 bytes)")]
    public void Symbol_names_are_strings(uint name, string message)
    {
        long at = Symbol(0);
        AssertError(Patched(f => PutU32(f, at, name)), "SYMBOLS", at, message);
    }

    private static NpuBinaryException WithSymbols(params NpuSymbolDefinition[] symbols)
    {
        var writer = KitchenSinkWriter();
        writer.Symbols.Clear();
        writer.Symbols.AddRange(symbols);
        return Rejects(writer.ToArray());
    }

    [Fact]
    public void Symbol_names_are_not_empty()
    {
        var e = WithSymbols(new NpuSymbolDefinition("", Region.Input, NpuDType.Float16, 0, new[] { 4 }));
        Assert.Equal("SYMBOLS", e.Section);
        Assert.Contains("the name of symbol 0 is the empty string", e.Message);
    }

    [Fact]
    public void Symbol_names_are_unique()
    {
        var e = WithSymbols(
            new NpuSymbolDefinition("x", Region.Input, NpuDType.Float16, 0, new[] { 4 }),
            new NpuSymbolDefinition("x", Region.Output, NpuDType.Float16, 0, new[] { 4 }));
        Assert.Equal(("SYMBOLS", 48L + 4), (e.Section, e.ByteOffset - SectionOffset(KitchenSink(), NpuSectionKind.Symbols)));
        Assert.Contains("symbol 'x' is defined twice", e.Message);
    }

    [Theory]
    [InlineData(4, 4u, 1, "symbol 'x' is in region 4")]
    [InlineData(5, 4u, 1, "symbol 'x' has dtype 4")]
    [InlineData(6, 7u, 1, "symbol 'x' has rank 7; at most 6")]
    [InlineData(7, 2u, 1, "symbol 'x' has layout 2")]
    [InlineData(7, 1u, 1, "symbol 'x' has the channels-last layout but is not [1, C, H, W] (rank 2, first dimension 32)")]
    [InlineData(32, 5u, 4, "symbol 'x' has rank 2 but dimension 2 is 5; unused dimensions must be zero")]
    [InlineData(24, 0x80000000u, 4, "symbol 'x' dimension 0 is 2147483648; at most 2147483647")]
    [InlineData(12, 4095u, 4, "symbol 'x' records 4095 bytes but its shape [32, 64] of fp16 is 4096 bytes")]
    [InlineData(8, 4098u, 4, "symbol 'x' occupies [4098, 8194) of INPUT, which is 8192 bytes")]
    [InlineData(8, 0xFFFFFFFFu, 4, "symbol 'x' occupies [4294967295, 4294971391) of INPUT")]
    [InlineData(16, 0x3F800000u, 4, "fp16 symbol 'x' has scale 1; only int8 symbols have one (it must be 0)")]
    [InlineData(16, 0x80000000u, 4, "fp16 symbol 'x' has scale -0; only int8 symbols have one")]
    [InlineData(20, 1u, 4, "fp16 symbol 'x' has zero point 1; only int8 symbols have one (it must be 0)")]
    public void Symbol_fields_are_checked(int field, uint value, int width, string message)
    {
        long at = Symbol(0) + field;
        AssertError(Patched(f => { if (width == 1) f[at] = (byte)value; else PutU32(f, at, value); }), "SYMBOLS", at, message);
    }

    [Theory]
    [InlineData(16, 0x7FC00000u, "int8 symbol 'w' has scale NaN; it must be finite and positive")]
    [InlineData(16, 0x7F800000u, "int8 symbol 'w' has scale Infinity; it must be finite and positive")]
    [InlineData(16, 0u, "int8 symbol 'w' has scale 0; it must be finite and positive")]
    [InlineData(16, 0xBF800000u, "int8 symbol 'w' has scale -1; it must be finite and positive")]
    [InlineData(20, 128u, "int8 symbol 'w' has zero point 128; it must be in [-128, 127]")]
    [InlineData(20, 0xFFFFFF7Fu, "int8 symbol 'w' has zero point -129; it must be in [-128, 127]")]
    public void Int8_symbols_have_a_valid_scale_and_zero_point(int field, uint value, string message)
    {
        long at = Symbol(1) + field;
        AssertError(Patched(f => PutU32(f, at, value)), "SYMBOLS", at, message);
    }

    [Fact]
    public void Symbol_sizes_cannot_overflow()
    {
        long at = Symbol(0);
        var e = Patched(f =>
        {
            f[at + 6] = 6;
            for (int d = 0; d < 6; d++) PutU32(f, at + 24 + 4 * d, 0x7FFFFFFF);
        });
        AssertError(e, "SYMBOLS", at + 12, "is more than 2^40 elements");
        // A zero dimension makes the product 0 whatever the others are.
        var file = KitchenSink();
        file[at + 6] = 3;
        PutU32(file, at + 24, 0);
        PutU32(file, at + 28, 0x7FFFFFFF);
        PutU32(file, at + 32, 0x7FFFFFFF);
        PutU32(file, at + 12, 0);
        FixCrcs(file);
        Assert.Equal(new[] { 0, int.MaxValue, int.MaxValue }, NpuLoader.Load(file).Symbols[0].Shape);
    }
}
