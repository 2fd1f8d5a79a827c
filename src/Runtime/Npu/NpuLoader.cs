using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using System.Text.Unicode;
using Aot.Npu;

namespace Aot.Runtime.Npu;

/// <summary>
/// Reads an NPU-1 binary (docs/npu/isa.md) as untrusted input: every check of "What the loader checks" runs before
/// anything else sees the program, and each failure is an <see cref="NpuBinaryException"/> naming the section, the
/// byte offset and, for code, the instruction index. No other exception escapes for any input. Every footprint is
/// computed in 64-bit arithmetic from fields of at most 32 bits, so none can wrap.
/// </summary>
public static class NpuLoader
{
    /// <summary>The largest INPUT, OUTPUT or WORKSPACE region a binary may declare (1 GiB): the simulator allocates
    /// them, so an untrusted binary must not be able to ask for arbitrary amounts of host memory.</summary>
    public const uint MaxRegionBytes = 1u << 30;

    /// <summary>Validates <paramref name="binary"/> and returns the program the simulator runs. The binary carries
    /// its CONST contents (or has none).</summary>
    /// <exception cref="NpuBinaryException">The binary fails a check; nothing else is thrown.</exception>
    public static NpuProgram Load(ReadOnlySpan<byte> binary) => Load(binary, default, constantsSupplied: false);

    /// <summary>
    /// Validates a binary whose CONST region is bound at load time (an empty CONST section and a non-zero CONST
    /// size in REGIONS: the generator fixes only the weights' layout, the weights come from the weights file) and
    /// returns the program with <paramref name="constants"/> as its CONST contents; they must be exactly the
    /// region's size.
    /// </summary>
    /// <exception cref="NpuBinaryException">The binary fails a check, carries its own CONST contents, or
    /// <paramref name="constants"/> is not the CONST region's size; nothing else is thrown.</exception>
    public static NpuProgram Load(ReadOnlySpan<byte> binary, ReadOnlySpan<byte> constants) => Load(binary, constants, constantsSupplied: true);

    private static NpuProgram Load(ReadOnlySpan<byte> binary, ReadOnlySpan<byte> constants, bool constantsSupplied)
    {
        try
        {
            return new Reader(binary).Read(constants, constantsSupplied);
        }
        catch (NpuBinaryException)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A defect of the loader, not of the binary; the fuzz tests assert this never happens.
            throw new NpuBinaryException(null, 0, null, "internal loader error: " + e.Message, e);
        }
    }

    private struct SectionRef
    {
        public bool Present;
        public int Entry;
        public long Offset;
        public long Size;
    }

    private readonly struct Range
    {
        public Range(long start, long length, string? section, long entryAt)
        {
            Start = start;
            Length = length;
            Section = section;
            EntryAt = entryAt;
        }

        public long Start { get; }
        public long Length { get; }
        public long End => Start + Length;
        public string? Section { get; }
        public long EntryAt { get; }
    }

    private ref struct Reader
    {
        private const string Code = "CODE";

        private readonly ReadOnlySpan<byte> _f;
        private readonly SectionRef[] _sections;
        private long _constBytes;
        private uint _inputBytes;
        private uint _outputBytes;
        private uint _workspaceBytes;
        private uint[] _semInit;
        private Dictionary<uint, string> _strings;

        public Reader(ReadOnlySpan<byte> file)
        {
            _f = file;
            _sections = new SectionRef[(int)NpuSectionKind.Debug + 1];
            _semInit = Array.Empty<uint>();
            _strings = new Dictionary<uint, string>();
        }

        public NpuProgram Read(ReadOnlySpan<byte> supplied, bool constantsSupplied)
        {
            long tableOffset = ReadHeader(out uint count);
            ReadTable(tableOffset, count);
            ReadTarget();
            ReadRegions(supplied.Length, constantsSupplied);
            ReadSemInit();
            ReadStrings();
            var symbols = ReadSymbols();
            var code = ReadCode(out var markNames);
            var constants = constantsSupplied ? supplied.ToArray() : Slice(NpuSectionKind.Const).ToArray();
            return new NpuProgram(code, constants, (int)_inputBytes, (int)_outputBytes, (int)_workspaceBytes, symbols, _semInit, markNames);
        }

        // ---------------------------------------------------------------- header and section table

        private readonly long ReadHeader(out uint count)
        {
            if (_f.Length < NpuContainer.HeaderSize)
                throw Fail(null, _f.Length, $"the file is {_f.Length} bytes, shorter than the {NpuContainer.HeaderSize}-byte header");
            var magic = NpuContainer.Magic;
            for (int b = 0; b < magic.Length; b++)
            {
                if (_f[b] != magic[b])
                    throw Fail(null, b, $"bad magic {HexBytes(_f.Slice(0, magic.Length))}; an NPU-1 binary starts with 'NPU1BIN\\0' ({HexBytes(magic)})");
            }

            uint major = U16(NpuContainer.HeaderMajorOffset), minor = U16(NpuContainer.HeaderMinorOffset);
            if (major != NpuContainer.FormatMajor)
                throw Fail(null, NpuContainer.HeaderMajorOffset, $"container format {major}.{minor}; this loader reads {NpuContainer.FormatMajor}.{NpuContainer.FormatMinor}");
            if (minor != NpuContainer.FormatMinor)
                throw Fail(null, NpuContainer.HeaderMinorOffset, $"container format {major}.{minor}; this loader reads {NpuContainer.FormatMajor}.{NpuContainer.FormatMinor}");
            uint headerSize = U32(NpuContainer.HeaderSizeOffset);
            if (headerSize != NpuContainer.HeaderSize)
                throw Fail(null, NpuContainer.HeaderSizeOffset, $"header size {headerSize}; it must be {NpuContainer.HeaderSize}");
            uint fileSize = U32(NpuContainer.HeaderFileSizeOffset);
            if (fileSize != _f.Length)
                throw Fail(null, NpuContainer.HeaderFileSizeOffset, $"the header says the file is {fileSize} bytes but it is {_f.Length}");
            for (int b = NpuContainer.HeaderReservedOffset; b < NpuContainer.HeaderSize; b++)
            {
                if (_f[b] != 0) throw Fail(null, b, $"reserved header byte {b} is 0x{_f[b]:x2}; it must be zero");
            }

            long tableOffset = U32(NpuContainer.HeaderTableOffset);
            if (tableOffset < NpuContainer.HeaderSize || tableOffset % NpuContainer.TableAlignment != 0)
                throw Fail(null, NpuContainer.HeaderTableOffset, $"section table offset {tableOffset}; it must be a multiple of {NpuContainer.TableAlignment} after the {NpuContainer.HeaderSize}-byte header");
            count = U32(NpuContainer.HeaderSectionCountOffset);
            long tableEnd = checked(tableOffset + (long)count * NpuContainer.SectionEntrySize);
            if (tableEnd > _f.Length)
                throw Fail(null, NpuContainer.HeaderSectionCountOffset, $"the section table ({count} entries of {NpuContainer.SectionEntrySize} bytes at offset {tableOffset}) ends at {tableEnd}, past the end of the file ({_f.Length} bytes)");
            uint crc = NpuCrc32.Compute(_f.Slice((int)tableOffset, (int)(tableEnd - tableOffset)));
            uint stored = U32(NpuContainer.HeaderTableCrcOffset);
            if (crc != stored)
                throw Fail(null, NpuContainer.HeaderTableCrcOffset, $"the section table's CRC-32 is 0x{crc:x8}; the header says 0x{stored:x8}");
            return tableOffset;
        }

        private readonly void ReadTable(long tableOffset, uint count)
        {
            long tableEnd = tableOffset + (long)count * NpuContainer.SectionEntrySize;
            var ranges = new List<Range>(checked((int)count) + 2)
            {
                new Range(0, NpuContainer.HeaderSize, null, 0),
                new Range(tableOffset, tableEnd - tableOffset, null, NpuContainer.HeaderTableOffset),
            };
            for (int e = 0; e < count; e++)
            {
                long at = tableOffset + (long)e * NpuContainer.SectionEntrySize;
                uint kind = U32(at + NpuContainer.EntryKindOffset);
                uint flags = U32(at + NpuContainer.EntryFlagsOffset);
                long offset = U32(at + NpuContainer.EntryOffsetOffset);
                long size = U32(at + NpuContainer.EntrySizeOffset);
                uint alignment = U32(at + NpuContainer.EntryAlignmentOffset);
                uint crc = U32(at + NpuContainer.EntryCrcOffset);
                string name = NpuContainer.Name(kind);
                for (int b = NpuContainer.EntryReservedOffset; b < NpuContainer.SectionEntrySize; b++)
                {
                    if (_f[(int)(at + b)] != 0)
                        throw Fail(name, at + b, $"reserved byte {b} of section entry {e} is 0x{_f[(int)(at + b)]:x2}; it must be zero");
                }

                bool known = NpuContainer.IsKnown(kind);
                if ((flags & ~NpuContainer.SectionRequired) != 0)
                    throw Fail(name, at + NpuContainer.EntryFlagsOffset, $"section entry {e} has flags 0x{flags:x}; only 0x1 (required) is defined");
                if (!known && (flags & NpuContainer.SectionRequired) != 0)
                    throw Fail(name, at + NpuContainer.EntryKindOffset, $"section entry {e} has unknown kind {kind} and is marked required");
                if (known && flags != NpuContainer.ExpectedFlags((NpuSectionKind)kind))
                    throw Fail(name, at + NpuContainer.EntryFlagsOffset, $"a {name} section has flags 0x{NpuContainer.ExpectedFlags((NpuSectionKind)kind):x}, not 0x{flags:x}");
                if (alignment == 0 || (alignment & (alignment - 1)) != 0)
                    throw Fail(name, at + NpuContainer.EntryAlignmentOffset, $"alignment {alignment} is not a power of two");
                if (known && alignment < NpuContainer.MinimumAlignment((NpuSectionKind)kind))
                    throw Fail(name, at + NpuContainer.EntryAlignmentOffset, $"alignment {alignment}; a {name} section is aligned to at least {NpuContainer.MinimumAlignment((NpuSectionKind)kind)}");
                if (offset % alignment != 0)
                    throw Fail(name, at + NpuContainer.EntryOffsetOffset, $"offset {offset} is not a multiple of the section's alignment {alignment}");
                if (offset < NpuContainer.HeaderSize)
                    throw Fail(name, at + NpuContainer.EntryOffsetOffset, $"offset {offset} lies inside the {NpuContainer.HeaderSize}-byte header");
                if (offset + size > _f.Length)
                    throw Fail(name, at + NpuContainer.EntrySizeOffset, $"the section [{offset}, {offset + size}) runs past the end of the file ({_f.Length} bytes)");
                if (size > 0 && offset < tableEnd && offset + size > tableOffset)
                    throw Fail(name, at + NpuContainer.EntryOffsetOffset, $"the section [{offset}, {offset + size}) overlaps the section table [{tableOffset}, {tableEnd})");
                if (known)
                {
                    ref var s = ref _sections[kind];
                    if (s.Present)
                        throw Fail(name, at + NpuContainer.EntryKindOffset, $"section entry {e} is a second {name} section (entry {s.Entry} is the first)");
                    s = new SectionRef { Present = true, Entry = e, Offset = offset, Size = size };
                }

                uint actual = NpuCrc32.Compute(_f.Slice((int)offset, (int)size));
                if (actual != crc)
                    throw Fail(name, offset, $"the contents' CRC-32 is 0x{actual:x8}; section entry {e} says 0x{crc:x8}");
                if (size > 0) ranges.Add(new Range(offset, size, name, at));
            }

            // Sections may not overlap each other; every byte outside the header, the table and the sections is zero
            // padding (so that every byte of a valid file is covered by a check or a CRC).
            ranges.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.Length.CompareTo(b.Length));
            long covered = 0;
            Range last = ranges[0];
            foreach (var r in ranges)
            {
                if (r.Start < covered)
                    throw Fail(r.Section, r.EntryAt + (r.Section is null ? 0 : NpuContainer.EntryOffsetOffset),
                        $"[{r.Start}, {r.End}) overlaps {Describe(last)} [{last.Start}, {last.End})");
                for (long b = covered; b < r.Start; b++)
                {
                    if (_f[(int)b] != 0) throw Fail(null, b, $"byte {b} lies between sections and must be zero padding (it is 0x{_f[(int)b]:x2})");
                }

                covered = r.End;
                last = r;
            }

            for (long b = covered; b < _f.Length; b++)
            {
                if (_f[(int)b] != 0) throw Fail(null, b, $"byte {b} lies after the last section and must be zero padding (it is 0x{_f[(int)b]:x2})");
            }

            for (uint kind = (uint)NpuSectionKind.Target; kind < (uint)NpuSectionKind.Debug; kind++)
            {
                if (!_sections[kind].Present)
                    throw Fail(NpuContainer.Name(kind), tableOffset, $"the required section {NpuContainer.Name(kind)} is missing");
            }
        }

        private static string Describe(Range r) => r.Section is null ? (r.Start == 0 ? "the header" : "the section table") : "section " + r.Section;

        // ---------------------------------------------------------------- TARGET, REGIONS, SEMINIT, STRINGS, SYMBOLS

        private readonly void ReadTarget()
        {
            var s = _sections[(int)NpuSectionKind.Target];
            if (s.Size != NpuContainer.TargetSize)
                throw Fail("TARGET", s.Offset, $"TARGET is {s.Size} bytes; it must be {NpuContainer.TargetSize}");
            CheckTarget(s.Offset, 0, U16(s.Offset), NpuTarget.IsaMajor, "ISA major version");
            CheckTarget(s.Offset, 2, U16(s.Offset + 2), NpuTarget.IsaMinor, "ISA minor version");
            CheckTarget(s.Offset, 4, U32(s.Offset + 4), NpuTarget.ArraySize, "systolic array size");
            CheckTarget(s.Offset, 8, U32(s.Offset + 8), NpuTarget.ScratchpadBytes, "scratchpad bytes");
            CheckTarget(s.Offset, 12, U32(s.Offset + 12), NpuTarget.ScratchpadBanks, "scratchpad banks");
            CheckTarget(s.Offset, 16, U32(s.Offset + 16), NpuTarget.AccumulatorRows, "accumulator rows");
            CheckTarget(s.Offset, 20, U32(s.Offset + 20), NpuTarget.AccumulatorBanks, "accumulator banks");
            CheckTarget(s.Offset, 24, U32(s.Offset + 24), NpuTarget.Semaphores, "semaphores");
            CheckTarget(s.Offset, 28, U32(s.Offset + 28), NpuTarget.DmaChannels, "DMA channels");
            CheckTarget(s.Offset, 32, U32(s.Offset + 32), NpuTarget.VpuLanes, "VPU lanes");
        }

        private static void CheckTarget(long section, int field, uint value, int expected, string what)
        {
            if (value != (uint)expected)
                throw Fail("TARGET", section + field, $"the binary is built for {what} = {value}; this machine has {expected}");
        }

        private void ReadRegions(int suppliedBytes, bool constantsSupplied)
        {
            var s = _sections[(int)NpuSectionKind.Regions];
            if (s.Size != NpuContainer.RegionsSize)
                throw Fail("REGIONS", s.Offset, $"REGIONS is {s.Size} bytes; it must be {NpuContainer.RegionsSize}");
            long section = _sections[(int)NpuSectionKind.Const].Size;
            uint constRegion = U32(s.Offset);
            if (constantsSupplied)
            {
                // CONST bound at load time: the section is empty and the region has the supplied weights' size.
                if (section != 0)
                    throw Fail("CONST", _sections[(int)NpuSectionKind.Const].Offset, $"constants were supplied at load time but the binary carries its own CONST contents ({section} bytes)");
                if (constRegion != suppliedBytes)
                    throw Fail("REGIONS", s.Offset, $"the CONST region is {constRegion} bytes but {suppliedBytes} bytes of constants were supplied");
            }
            else if (constRegion != section)
            {
                throw Fail("REGIONS", s.Offset, section == 0
                    ? (FormattableString)$"the CONST region is {constRegion} bytes and the CONST section is empty: the constants are bound at load time (NpuLoader.Load(binary, constants))"
                    : $"the CONST region is {constRegion} bytes but the CONST section is {section}");
            }

            _constBytes = constRegion;
            _inputBytes = RegionSize(s.Offset, 1, "INPUT");
            _outputBytes = RegionSize(s.Offset, 2, "OUTPUT");
            _workspaceBytes = RegionSize(s.Offset, 3, "WORKSPACE");
        }

        private readonly uint RegionSize(long section, int index, string name)
        {
            uint size = U32(section + 4 * index);
            if (size > MaxRegionBytes)
                throw Fail("REGIONS", section + 4 * index, $"the {name} region is {size} bytes; at most {MaxRegionBytes} (1 GiB)");
            return size;
        }

        private void ReadSemInit()
        {
            var s = _sections[(int)NpuSectionKind.SemInit];
            if (s.Size != NpuContainer.SemInitSize)
                throw Fail("SEMINIT", s.Offset, $"SEMINIT is {s.Size} bytes; it must be {NpuContainer.SemInitSize} ({NpuTarget.Semaphores} x u32)");
            _semInit = new uint[NpuTarget.Semaphores];
            for (int i = 0; i < _semInit.Length; i++) _semInit[i] = U32(s.Offset + 4 * i);
        }

        private void ReadStrings()
        {
            var s = _sections[(int)NpuSectionKind.Strings];
            var bytes = _f.Slice((int)s.Offset, (int)s.Size);
            if (bytes.Length > 0 && bytes[bytes.Length - 1] != 0)
                throw Fail("STRINGS", s.Offset + bytes.Length - 1, $"STRINGS does not end with a NUL byte");
            int start = 0;
            char[] buffer = Array.Empty<char>();
            for (int i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] != 0) continue;
                var utf8 = bytes.Slice(start, i - start);
                if (buffer.Length < utf8.Length) buffer = new char[Math.Max(utf8.Length, 2 * buffer.Length)];
                var status = Utf8.ToUtf16(utf8, buffer, out int read, out int written, replaceInvalidSequences: false);
                if (status != OperationStatus.Done)
                    throw Fail("STRINGS", s.Offset + start + read, $"the string at STRINGS offset {start} is not valid UTF-8 (at its byte {read})");
                _strings[(uint)start] = new string(buffer, 0, written);
                start = i + 1;
            }
        }

        /// <summary>The string a name field refers to: it must start a string of STRINGS and not be empty.</summary>
        private readonly string Name(uint offset, string section, long fieldAt, int? index, string what)
        {
            if (!_strings.TryGetValue(offset, out var name))
            {
                long size = _sections[(int)NpuSectionKind.Strings].Size;
                throw Fail(section, fieldAt, index, offset >= size
                    ? (FormattableString)$"{what} refers to STRINGS offset {offset}, past the end of STRINGS ({size} bytes)"
                    : $"{what} refers to STRINGS offset {offset}, which is not the start of a string");
            }

            if (name.Length == 0) throw Fail(section, fieldAt, index, $"{what} is the empty string (STRINGS offset {offset})");
            return name;
        }

        private readonly NpuSymbol[] ReadSymbols()
        {
            var s = _sections[(int)NpuSectionKind.Symbols];
            if (s.Size < 4) throw Fail("SYMBOLS", s.Offset, $"SYMBOLS is {s.Size} bytes, too short for its u32 count");
            uint count = U32(s.Offset);
            long expected = 4 + (long)count * NpuContainer.SymbolEntrySize;
            if (expected != s.Size)
                throw Fail("SYMBOLS", s.Offset, $"SYMBOLS declares {count} symbols ({expected} bytes with the count) but is {s.Size} bytes");
            var symbols = new NpuSymbol[count];
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < count; i++)
            {
                long at = s.Offset + 4 + (long)i * NpuContainer.SymbolEntrySize;
                string name = Name(U32(at + NpuContainer.SymbolNameOffset), "SYMBOLS", at + NpuContainer.SymbolNameOffset, null, $"the name of symbol {i}");
                string quoted = "symbol '" + WeightsException.Quote(name) + "'";
                if (!names.Add(name)) throw Fail("SYMBOLS", at + NpuContainer.SymbolNameOffset, $"{quoted} is defined twice");
                byte region = _f[(int)(at + NpuContainer.SymbolRegionOffset)];
                if (region > (byte)Region.Workspace)
                    throw Fail("SYMBOLS", at + NpuContainer.SymbolRegionOffset, $"{quoted} is in region {region}; regions are 0 CONST, 1 INPUT, 2 OUTPUT, 3 WORKSPACE");
                byte dtype = _f[(int)(at + NpuContainer.SymbolDTypeOffset)];
                if (dtype > (byte)NpuDType.Int32)
                    throw Fail("SYMBOLS", at + NpuContainer.SymbolDTypeOffset, $"{quoted} has dtype {dtype}; dtypes are 0 int8, 1 fp16, 2 fp32, 3 int32");
                byte rank = _f[(int)(at + NpuContainer.SymbolRankOffset)];
                if (rank > NpuContainer.MaxSymbolRank)
                    throw Fail("SYMBOLS", at + NpuContainer.SymbolRankOffset, $"{quoted} has rank {rank}; at most {NpuContainer.MaxSymbolRank}");
                byte layout = _f[(int)(at + NpuContainer.SymbolLayoutOffset)];
                if (layout > NpuContainer.LayoutChannelsLast)
                    throw Fail("SYMBOLS", at + NpuContainer.SymbolLayoutOffset, $"{quoted} has layout {layout}; defined are 0 (row-major) and 1 (channels-last [1, C, H, W])");
                if (layout == NpuContainer.LayoutChannelsLast && (rank != 4 || U32(at + NpuContainer.SymbolDimsOffset) != 1))
                    throw Fail("SYMBOLS", at + NpuContainer.SymbolLayoutOffset, $"{quoted} has the channels-last layout but is not [1, C, H, W] (rank {rank}, first dimension {U32(at + NpuContainer.SymbolDimsOffset)})");
                var shape = new int[rank];
                long elements = 1;
                for (int d = 0; d < NpuContainer.MaxSymbolRank; d++)
                {
                    long dimAt = at + NpuContainer.SymbolDimsOffset + 4 * d;
                    uint dim = U32(dimAt);
                    if (d >= rank)
                    {
                        if (dim != 0) throw Fail("SYMBOLS", dimAt, $"{quoted} has rank {rank} but dimension {d} is {dim}; unused dimensions must be zero");
                        continue;
                    }

                    if (dim > int.MaxValue) throw Fail("SYMBOLS", dimAt, $"{quoted} dimension {d} is {dim}; at most {int.MaxValue}");
                    shape[d] = (int)dim;
                    long stored = layout == NpuContainer.LayoutChannelsLast && d == 1 ? NpuContainer.PaddedChannels(dim) : dim;
                    // Saturate instead of overflowing: anything above 2^40 elements is already wrong.
                    elements = elements > (1L << 40) ? elements : elements * stored;
                }

                int elementSize = NpuContainer.ElementSize((NpuDType)dtype);
                long bytesExpected = elements > (1L << 40) ? long.MaxValue : elements * elementSize;
                uint byteSize = U32(at + NpuContainer.SymbolByteSizeOffset);
                if (byteSize != bytesExpected)
                    throw Fail("SYMBOLS", at + NpuContainer.SymbolByteSizeOffset,
                        $"{quoted} records {byteSize} bytes but its shape [{string.Join(", ", shape)}] of {NpuAsm.DTypeName(dtype)}{(layout == NpuContainer.LayoutChannelsLast ? " channels-last" : "")} is {(bytesExpected == long.MaxValue ? "more than 2^40 elements" : bytesExpected + " bytes")}");
                uint offset = U32(at + NpuContainer.SymbolDataOffset);
                long regionSize = RegionBytes((Region)region);
                if ((long)offset + byteSize > regionSize)
                    throw Fail("SYMBOLS", at + NpuContainer.SymbolDataOffset,
                        $"{quoted} occupies [{offset}, {(long)offset + byteSize}) of {NpuAsm.RegionName(region).ToUpperInvariant()}, which is {regionSize} bytes");
                uint scaleBits = U32(at + NpuContainer.SymbolScaleOffset);
                float scale = BitConverter.UInt32BitsToSingle(scaleBits);
                int zeroPoint = (int)U32(at + NpuContainer.SymbolZeroPointOffset);
                if (dtype == (byte)NpuDType.Int8)
                {
                    if (!float.IsFinite(scale) || scale <= 0)
                        throw Fail("SYMBOLS", at + NpuContainer.SymbolScaleOffset, $"int8 {quoted} has scale {scale}; it must be finite and positive");
                    if (zeroPoint < sbyte.MinValue || zeroPoint > sbyte.MaxValue)
                        throw Fail("SYMBOLS", at + NpuContainer.SymbolZeroPointOffset, $"int8 {quoted} has zero point {zeroPoint}; it must be in [-128, 127]");
                }
                else
                {
                    if (scaleBits != 0)
                        throw Fail("SYMBOLS", at + NpuContainer.SymbolScaleOffset, $"{NpuAsm.DTypeName(dtype)} {quoted} has scale {scale}; only int8 symbols have one (it must be 0)");
                    if (zeroPoint != 0)
                        throw Fail("SYMBOLS", at + NpuContainer.SymbolZeroPointOffset, $"{NpuAsm.DTypeName(dtype)} {quoted} has zero point {zeroPoint}; only int8 symbols have one (it must be 0)");
                }

                symbols[i] = new NpuSymbol(name, (Region)region, (NpuDType)dtype, (int)offset, (int)byteSize, shape, scale, zeroPoint, layout);
            }

            return symbols;
        }

        private readonly long RegionBytes(Region region) => region switch
        {
            Region.Const => _constBytes,
            Region.Input => _inputBytes,
            Region.Output => _outputBytes,
            Region.Workspace => _workspaceBytes,
            _ => 0,
        };

        // ---------------------------------------------------------------- CODE

        private readonly Instruction[] ReadCode(out string[] markNames)
        {
            var s = _sections[(int)NpuSectionKind.Code];
            if (s.Size == 0) throw Fail(Code, s.Offset, $"CODE is empty; a program ends with HALT");
            if (s.Size % Instruction.Size != 0)
                throw Fail(Code, s.Offset, $"CODE is {s.Size} bytes, not a multiple of the {Instruction.Size}-byte instruction word");
            int n = (int)(s.Size / Instruction.Size);
            var code = new Instruction[n];
            markNames = new string[n];
            var signals = new long[NpuTarget.Semaphores];
            for (int k = 0; k < signals.Length; k++) signals[k] = _semInit[k];
            var weights = new WeightState();
            var marks = new List<(string Name, int Index)>();
            for (int i = 0; i < n; i++)
            {
                long at = s.Offset + (long)i * Instruction.Size;
                var word = _f.Slice((int)at, Instruction.Size);
                byte op = word[0];
                if (!IsKnownOpcode(op)) throw Fail(Code, at, i, $"unknown opcode 0x{op:x2}");
                int reserved = Instruction.FirstNonCanonicalByte(word);
                if (reserved >= 0)
                    throw Fail(Code, at + reserved, i, $"byte {reserved} of this {Mnemonic(op)} is 0x{word[reserved]:x2}; it is reserved and must be zero");
                var ins = Instruction.Decode(word);
                markNames[i] = "";
                CheckSemaphores(ins, at, i);
                CheckOperands(ins, at, i, ref weights, marks, markNames);

                // Static synchronization: the wait is reachable from the initial value and earlier signals only.
                if (ins.Waits && signals[ins.WaitSemaphore] < ins.WaitValue)
                {
                    int sem = ins.WaitSemaphore;
                    long earlier = signals[sem] - _semInit[sem];
                    throw Fail(Code, at + 4, i, $"{Mnemonic(op)} waits for s{sem} >= {ins.WaitValue}, but s{sem} starts at {_semInit[sem]} and only {earlier} earlier instruction(s) signal it, so it reaches at most {signals[sem]} before this wait: the wait can never be satisfied (deadlock)");
                }

                if (ins.Signals)
                {
                    int sem = ins.SignalSemaphore;
                    if (++signals[sem] > uint.MaxValue)
                        throw Fail(Code, at + 3, i, $"this signal takes s{sem} past {uint.MaxValue} (it starts at {_semInit[sem]}): a u32 semaphore would wrap and stop being monotonic");
                }

                if (ins.Op == Opcode.Halt && i != n - 1)
                    throw Fail(Code, at, i, $"HALT at instruction {i} of {n}: a program has exactly one HALT and it is the last instruction");
                code[i] = ins;
            }

            if (code[n - 1].Op != Opcode.Halt)
                throw Fail(Code, s.Offset + (long)(n - 1) * Instruction.Size, n - 1, $"the last instruction is {Mnemonic((byte)code[n - 1].Op)}, not HALT");
            if (marks.Count > 0)
            {
                var (name, index) = marks[marks.Count - 1];
                throw Fail(Code, s.Offset + (long)index * Instruction.Size, index, $"mark.begin \"{WeightsException.Quote(name)}\" is never closed by a mark.end");
            }

            return code;
        }

        private struct WeightState
        {
            /// <summary>An MXU_LW has loaded the shadow buffer and no MXU_MM has swapped it in yet.</summary>
            public bool ShadowPending;
            public int ShadowDType;
            public int ShadowIndex;
            /// <summary>Dtype of the active weights, -1 before the first swap.</summary>
            public int ActiveDType;
            public bool AnySwap;
        }

        private static void CheckSemaphores(in Instruction ins, long at, int i)
        {
            if (ins.WaitSemaphore != InstructionFlags.NoSemaphore && ins.WaitSemaphore >= NpuTarget.Semaphores)
                throw Fail(Code, at + 2, i, $"wait semaphore {ins.WaitSemaphore}; the machine has s0-s{NpuTarget.Semaphores - 1} (0xff = none)");
            if (!ins.Waits && ins.WaitValue != 0)
                throw Fail(Code, at + 4, i, $"wait value {ins.WaitValue} without a wait semaphore; it must be zero");
            if (ins.SignalSemaphore != InstructionFlags.NoSemaphore && ins.SignalSemaphore >= NpuTarget.Semaphores)
                throw Fail(Code, at + 3, i, $"signal semaphore {ins.SignalSemaphore}; the machine has s0-s{NpuTarget.Semaphores - 1} (0xff = none)");
        }

        private readonly void CheckOperands(in Instruction ins, long at, int i, ref WeightState weights, List<(string Name, int Index)> marks, string[] markNames)
        {
            string mn = Mnemonic((byte)ins.Op);
            switch (ins.Op)
            {
                case Opcode.Nop:
                case Opcode.Halt:
                case Opcode.Fence:
                    NoFlags(ins, at, i, mn);
                    break;
                case Opcode.Wait:
                    if (ins.Flags > (byte)Unit.Vpu + 1)
                        throw Fail(Code, at + 1, i, $"WAIT flags 0x{ins.Flags:x2}; 0 waits in the dispatcher, 1-6 in the queue of DMA0-3, MXU, VPU");
                    if (!ins.Waits) throw Fail(Code, at + 2, i, $"WAIT without a wait semaphore");
                    break;
                case Opcode.Signal:
                    NoFlags(ins, at, i, mn);
                    if (!ins.Signals) throw Fail(Code, at + 3, i, $"SIGNAL without a signal semaphore");
                    break;
                case Opcode.Mark:
                {
                    if ((ins.Flags & ~InstructionFlags.MarkEnd) != 0)
                        throw Fail(Code, at + 1, i, $"MARK flags 0x{ins.Flags:x2}; only 0x01 (end) is defined");
                    bool end = (ins.Flags & InstructionFlags.MarkEnd) != 0;
                    string name = Name(ins.Name, Code, at + 8, i, end ? "mark.end's name" : "mark.begin's name");
                    markNames[i] = name;
                    if (!end)
                    {
                        marks.Add((name, i));
                    }
                    else if (marks.Count == 0)
                    {
                        throw Fail(Code, at + 8, i, $"mark.end \"{WeightsException.Quote(name)}\" closes no open region");
                    }
                    else
                    {
                        var (open, openedAt) = marks[marks.Count - 1];
                        if (!string.Equals(open, name, StringComparison.Ordinal))
                            throw Fail(Code, at + 8, i, $"mark.end \"{WeightsException.Quote(name)}\" does not match the innermost open region \"{WeightsException.Quote(open)}\" (instruction {openedAt}): marks must nest");
                        marks.RemoveAt(marks.Count - 1);
                    }

                    break;
                }

                case Opcode.DmaLoad:
                case Opcode.DmaStore:
                    CheckDma(ins, at, i, mn);
                    break;
                case Opcode.MxuLoadWeights:
                    CheckLoadWeights(ins, at, i, ref weights);
                    break;
                case Opcode.MxuMatmul:
                    CheckMatmul(ins, at, i, ref weights);
                    break;
                default:
                    CheckVector(ins, at, i, mn);
                    break;
            }
        }

        private static void NoFlags(in Instruction ins, long at, int i, string mn)
        {
            if (ins.Flags != 0) throw Fail(Code, at + 1, i, $"{mn} has no flags; they are 0x{ins.Flags:x2}");
        }

        private readonly void CheckDma(in Instruction ins, long at, int i, string mn)
        {
            bool load = ins.Op == Opcode.DmaLoad;
            NoFlags(ins, at, i, mn);
            if (ins.Channel >= NpuTarget.DmaChannels)
                throw Fail(Code, at + 8, i, $"{mn} on channel {ins.Channel}; the machine has channels 0-{NpuTarget.DmaChannels - 1}");
            if ((byte)ins.Region > (byte)Region.Workspace)
                throw Fail(Code, at + 9, i, $"{mn} names region {(byte)ins.Region}; regions are 0 CONST, 1 INPUT, 2 OUTPUT, 3 WORKSPACE");
            string region = NpuAsm.RegionName((byte)ins.Region).ToUpperInvariant();
            if (!load && ins.Region is Region.Const or Region.Input)
                throw Fail(Code, at + 9, i, $"dma.st to {region}: only OUTPUT and WORKSPACE are writable");
            if (!load && ins.PadBefore != 0) throw Fail(Code, at + 10, i, $"dma.st with {ins.PadBefore} pad rows before; padding is for loads only");
            if (!load && ins.PadAfter != 0) throw Fail(Code, at + 11, i, $"dma.st with {ins.PadAfter} pad rows after; padding is for loads only");
            if (ins.Rows == 0) throw Fail(Code, at + 12, i, $"{mn} moves 0 rows");
            if (ins.RowBytes == 0) throw Fail(Code, at + 14, i, $"{mn} moves rows of 0 bytes");
            long regionSize = RegionBytes(ins.Region);
            long dramEnd = checked(ins.DramOffset + (long)(ins.Rows - 1) * ins.DramStride + ins.RowBytes);
            if (dramEnd > regionSize)
                throw Fail(Code, at + 16, i, $"{mn} {(load ? "reads" : "writes")} {region} bytes up to {dramEnd} ({ins.Rows} rows of {ins.RowBytes} bytes from offset {ins.DramOffset}, stride {ins.DramStride}); the {region} region is {regionSize} bytes");
            long localRows = ins.PadBefore + ins.Rows + ins.PadAfter;
            long localEnd = checked(ins.Local + (localRows - 1) * ins.LocalStride + ins.RowBytes);
            if (localEnd > NpuTarget.ScratchpadBytes)
                throw Fail(Code, at + 24, i, $"{mn} {(load ? "writes" : "reads")} scratchpad bytes [0x{ins.Local:x}, 0x{localEnd:x}) ({localRows} rows of {ins.RowBytes} bytes, stride {ins.LocalStride}); the scratchpad ends at 0x{NpuTarget.ScratchpadBytes:x}");
        }

        private static int MxuDType(in Instruction ins, long at, int i, string mn)
        {
            int dtype = ins.Flags & InstructionFlags.MxuDTypeMask;
            if (dtype is not ((int)NpuDType.Int8 or (int)NpuDType.Float16))
                throw Fail(Code, at + 1, i, $"{mn} with dtype {NpuAsm.DTypeName(dtype)}; the MXU takes int8 or fp16");
            return dtype;
        }

        private static void CheckLoadWeights(in Instruction ins, long at, int i, ref WeightState weights)
        {
            const string mn = "mxu.lw";
            if ((ins.Flags & ~(InstructionFlags.MxuDTypeMask | InstructionFlags.MxuTranspose)) != 0)
                throw Fail(Code, at + 1, i, $"{mn} flags 0x{ins.Flags:x2}; defined are bits 0-1 (dtype) and 0x04 (transpose)");
            int dtype = MxuDType(ins, at, i, mn);
            if (ins.Rows is < 1 or > NpuTarget.ArraySize) throw Fail(Code, at + 16, i, $"{mn} of {ins.Rows} weight rows (K); it must be 1-{NpuTarget.ArraySize}");
            if (ins.Cols is < 1 or > NpuTarget.ArraySize) throw Fail(Code, at + 17, i, $"{mn} of {ins.Cols} weight columns (N); it must be 1-{NpuTarget.ArraySize}");
            int e = NpuContainer.ElementSize((NpuDType)dtype);
            bool transpose = (ins.Flags & InstructionFlags.MxuTranspose) != 0;
            int sourceRows = transpose ? ins.Cols : ins.Rows;
            int rowBytes = (transpose ? ins.Rows : ins.Cols) * e;
            CheckAligned(ins.Local, ins.LocalStride, e, at + 8, at + 12, i, mn, "weights");
            long end = checked(ins.Local + (long)(sourceRows - 1) * ins.LocalStride + rowBytes);
            if (end > NpuTarget.ScratchpadBytes)
                throw Fail(Code, at + 8, i, $"{mn} reads scratchpad bytes [0x{ins.Local:x}, 0x{end:x}) ({sourceRows} rows of {rowBytes} bytes, stride {ins.LocalStride}); the scratchpad ends at 0x{NpuTarget.ScratchpadBytes:x}");
            if (weights.ShadowPending)
                throw Fail(Code, at, i, $"{mn} while the block loaded by instruction {weights.ShadowIndex} has not been swapped in: it would wait forever for a swapping mxu.mm queued behind it");
            weights.ShadowPending = true;
            weights.ShadowDType = dtype;
            weights.ShadowIndex = i;
        }

        private static void CheckMatmul(in Instruction ins, long at, int i, ref WeightState weights)
        {
            const string mn = "mxu.mm";
            if ((ins.Flags & ~(InstructionFlags.MxuDTypeMask | InstructionFlags.MxuAccumulate | InstructionFlags.MxuSwapWeights)) != 0)
                throw Fail(Code, at + 1, i, $"{mn} flags 0x{ins.Flags:x2}; defined are bits 0-1 (dtype), 0x04 (accumulate) and 0x08 (swap)");
            int dtype = MxuDType(ins, at, i, mn);
            if (ins.Rows is < 1 or > NpuTarget.AccumulatorRows) throw Fail(Code, at + 16, i, $"{mn} of m = {ins.Rows} rows; it must be 1-{NpuTarget.AccumulatorRows}");
            if (ins.K is < 1 or > NpuTarget.ArraySize) throw Fail(Code, at + 22, i, $"{mn} with K = {ins.K}; it must be 1-{NpuTarget.ArraySize}");
            if (ins.Rows > 1 && ins.AccStride == 0) throw Fail(Code, at + 20, i, $"{mn} of {ins.Rows} rows with accumulator row stride 0; it must be at least 1");
            long accEnd = checked(ins.AccRow + (long)(ins.Rows - 1) * ins.AccStride + 1);
            if (accEnd > NpuTarget.AccumulatorRows)
                throw Fail(Code, at + 18, i, $"{mn} writes accumulator rows {ins.AccRow} to {accEnd - 1} ({ins.Rows} rows, stride {ins.AccStride}); the accumulator has rows 0-{NpuTarget.AccumulatorRows - 1}");
            int e = NpuContainer.ElementSize((NpuDType)dtype);
            CheckAligned(ins.Local, ins.LocalStride, e, at + 8, at + 12, i, mn, "A");
            long end = checked(ins.Local + (long)(ins.Rows - 1) * ins.LocalStride + (long)ins.K * e);
            if (end > NpuTarget.ScratchpadBytes)
                throw Fail(Code, at + 8, i, $"{mn} reads A from scratchpad bytes [0x{ins.Local:x}, 0x{end:x}) ({ins.Rows} rows of {ins.K * e} bytes, stride {ins.LocalStride}); the scratchpad ends at 0x{NpuTarget.ScratchpadBytes:x}");
            if ((ins.Flags & InstructionFlags.MxuSwapWeights) != 0)
            {
                if (!weights.ShadowPending)
                    throw Fail(Code, at + 1, i, $"{mn} swaps weights in, but no mxu.lw has loaded a block since the last swap");
                weights.ShadowPending = false;
                weights.ActiveDType = weights.ShadowDType;
                weights.AnySwap = true;
            }
            else if (!weights.AnySwap)
            {
                throw Fail(Code, at + 1, i, $"{mn} without swap before any weights were swapped in: there are no active weights");
            }

            if (weights.ActiveDType != dtype)
                throw Fail(Code, at + 1, i, $"{mn} on {NpuAsm.DTypeName(dtype)} but the active weights are {NpuAsm.DTypeName(weights.ActiveDType)}");
        }

        private static void CheckAligned(uint address, uint stride, int alignment, long addressAt, long strideAt, int i, string mn, string what)
        {
            if (address % alignment != 0)
                throw Fail(Code, addressAt, i, $"{mn} {what} address 0x{address:x} is not a multiple of its {alignment}-byte elements");
            if (stride % alignment != 0)
                throw Fail(Code, strideAt, i, $"{mn} {what} stride {stride} is not a multiple of its {alignment}-byte elements");
        }

        private readonly void CheckVector(in Instruction ins, long at, int i, string mn)
        {
            const byte vInt = InstructionFlags.VInt, s1b = InstructionFlags.VBroadcastS1, s2b = InstructionFlags.VBroadcastS2,
                noS2 = InstructionFlags.VNoS2, splat = InstructionFlags.VBroadcastResult;
            byte allowed = ins.Op switch
            {
                Opcode.VBinary => vInt | s1b | s2b,
                Opcode.VImmediate => vInt | s1b,
                Opcode.VActivation => vInt | s1b | s2b | noS2,
                Opcode.VReduce => vInt | splat,
                Opcode.VMove => vInt | s1b,
                _ => vInt, // V_CVT, V_FILL
            };
            if ((ins.Flags & ~allowed) != 0)
                throw Fail(Code, at + 1, i, $"{mn} flags 0x{ins.Flags:x2}; {mn} allows only 0x{allowed:x2} ({FlagNames(allowed)})");
            bool isInt = (ins.Flags & vInt) != 0;
            bool hasS2 = ins.Op == Opcode.VBinary || (ins.Op == Opcode.VActivation && (ins.Flags & noS2) == 0);
            int subOps = ins.Op switch
            {
                Opcode.VBinary or Opcode.VImmediate => 6,
                Opcode.VActivation => 8,
                Opcode.VReduce => 3,
                Opcode.VConvert => 4,
                _ => 1,
            };
            if (ins.SubOp >= subOps) throw Fail(Code, at + 8, i, $"{mn} sub-op {ins.SubOp}; it must be 0-{subOps - 1}");
            if (ins.Op == Opcode.VActivation)
            {
                if ((ins.Flags & noS2) != 0 && (ins.Flags & s2b) != 0)
                    throw Fail(Code, at + 1, i, $"v.act with both nos2 (0x08) and s2bcast (0x04)");
                if (isInt && ins.SubOp > (byte)VActivation.Relu)
                    throw Fail(Code, at + 1, i, $"v.act {NpuAsm.ActivationName(ins.SubOp)} on int32 lanes; only identity and relu take the int flag");
            }

            int dstElem = 4, srcElem = 4;
            if (ins.Op == Opcode.VConvert)
            {
                if (ins.Aux > (byte)NpuDType.Int32) throw Fail(Code, at + 27, i, $"v.cvt from dtype {ins.Aux}; dtypes are 0 int8, 1 fp16, 2 fp32, 3 int32");
                var from = (NpuDType)ins.Aux;
                var to = (NpuDType)ins.SubOp;
                bool narrowFrom = from is NpuDType.Int8 or NpuDType.Float16, narrowTo = to is NpuDType.Int8 or NpuDType.Float16;
                if (narrowFrom == narrowTo && !(from == NpuDType.Float32 && to == NpuDType.Int32) && !(from == NpuDType.Int32 && to == NpuDType.Float32))
                    throw Fail(Code, at + 8, i, $"v.cvt {NpuAsm.DTypeName(ins.Aux)}->{NpuAsm.DTypeName(ins.SubOp)}: the VPU converts between a 32-bit and a narrow type, or between fp32 and int32");
                bool intConversion = from == NpuDType.Int8 && to == NpuDType.Int32;
                if (isInt != intConversion)
                    throw Fail(Code, at + 1, i, isInt
                        ? (FormattableString)$"v.cvt {NpuAsm.DTypeName(ins.Aux)}->{NpuAsm.DTypeName(ins.SubOp)} with the int flag; only int8->int32 is integer arithmetic"
                        : $"v.cvt int8->int32 without the int flag: integer conversions take an int32 immediate");
                int zeroPoint = NpuDisassembler.SignExtend24(ins.Src2);
                if (from == NpuDType.Int8 || to == NpuDType.Int8)
                {
                    if (zeroPoint is < sbyte.MinValue or > sbyte.MaxValue)
                        throw Fail(Code, at + 18, i, $"v.cvt zero point {zeroPoint}; an int8 zero point is in [-128, 127]");
                }
                else if (zeroPoint != 0)
                {
                    throw Fail(Code, at + 18, i, $"v.cvt {NpuAsm.DTypeName(ins.Aux)}->{NpuAsm.DTypeName(ins.SubOp)} with zero point {zeroPoint}; only conversions to or from int8 have one");
                }

                if (ins.Src2Stride != 0) throw Fail(Code, at + 25, i, $"v.cvt has no s2; its s2 stride field is {ins.Src2Stride} and must be zero");
                srcElem = NpuContainer.ElementSize(from);
                dstElem = NpuContainer.ElementSize(to);
            }
            else if (ins.Aux != 0)
            {
                throw Fail(Code, at + 27, i, $"byte 27 is only used by v.cvt; in {mn} it is {ins.Aux} and must be zero");
            }

            if (ins.Vectors == 0) throw Fail(Code, at + 9, i, $"{mn} of 0 vectors per row");
            if (ins.Rows == 0) throw Fail(Code, at + 10, i, $"{mn} of 0 rows");
            if (ins.Op == Opcode.VFill && (ins.Src1 != 0 || ins.Src1Stride != 0))
                throw Fail(Code, at + (ins.Src1 != 0 ? 15 : 23), i, $"v.fill has no s1; its s1 fields must be zero");
            if (!hasS2 && ins.Op != Opcode.VConvert && (ins.Src2 != 0 || ins.Src2Stride != 0))
                throw Fail(Code, at + (ins.Src2 != 0 ? 18 : 25), i, $"{mn}{((ins.Flags & noS2) != 0 ? " nos2" : "")} has no s2; its s2 fields must be zero");
            if (ins.Op is Opcode.VBinary or Opcode.VMove && ins.Imm != 0)
                throw Fail(Code, at + 28, i, $"{mn} has no immediate; its field is 0x{ins.Imm:x8} and must be zero");

            long vectorBytes = (long)ins.Vectors * NpuTarget.VpuVectorBytes;
            long dstRow = ins.Op switch
            {
                Opcode.VReduce => (ins.Flags & splat) != 0 ? NpuTarget.VpuVectorBytes : 4,
                Opcode.VConvert => (long)ins.Vectors * NpuTarget.VpuLanes * dstElem,
                _ => vectorBytes,
            };
            CheckLocal(ins.Dst, ins.DstStride, ins.Rows, dstRow, dstElem, at + 12, at + 21, i, mn, "dst");
            if (ins.Op != Opcode.VFill)
            {
                long s1Row = ins.Op == Opcode.VConvert ? (long)ins.Vectors * NpuTarget.VpuLanes * srcElem
                    : (ins.Flags & s1b) != 0 ? NpuTarget.VpuVectorBytes : vectorBytes;
                CheckLocal(ins.Src1, ins.Src1Stride, ins.Rows, s1Row, srcElem, at + 15, at + 23, i, mn, "s1");
            }

            if (hasS2)
                CheckLocal(ins.Src2, ins.Src2Stride, ins.Rows, (ins.Flags & s2b) != 0 ? NpuTarget.VpuVectorBytes : vectorBytes, 4, at + 18, at + 25, i, mn, "s2");
        }

        private static void CheckLocal(uint address, int stride, int rows, long rowBytes, int alignment, long addressAt, long strideAt, int i, string mn, string what)
        {
            if (address % alignment != 0)
                throw Fail(Code, addressAt, i, $"{mn} {what} address 0x{address:x} is not a multiple of its {alignment}-byte elements");
            if (stride % alignment != 0)
                throw Fail(Code, strideAt, i, $"{mn} {what} row stride {stride} is not a multiple of its {alignment}-byte elements");
            long end = checked(address + (long)(rows - 1) * stride + rowBytes);
            string footprint = $"{mn} {what} covers [0x{address:x}, 0x{end:x}) ({rows} rows of {rowBytes} bytes, stride {stride})";
            if (address < NpuTarget.ScratchpadBytes)
            {
                if (end > NpuTarget.ScratchpadBytes)
                    throw Fail(Code, addressAt, i, $"{footprint}: it runs past the end of the scratchpad (0x{NpuTarget.ScratchpadBytes:x}); an operand may not straddle the scratchpad and the accumulator");
            }
            else if (address < NpuTarget.LocalAddressLimit)
            {
                if (end > NpuTarget.LocalAddressLimit)
                    throw Fail(Code, addressAt, i, $"{footprint}: it runs past the end of the accumulator (0x{NpuTarget.LocalAddressLimit:x})");
            }
            else
            {
                throw Fail(Code, addressAt, i, $"{mn} {what} address 0x{address:x} is outside the scratchpad (0x0-0x{NpuTarget.ScratchpadBytes - 1:x}) and the accumulator (0x{NpuTarget.AccumulatorBase:x}-0x{NpuTarget.LocalAddressLimit - 1:x})");
            }
        }

        private static string FlagNames(byte flags)
        {
            var names = new List<string>();
            if ((flags & InstructionFlags.VInt) != 0) names.Add("int");
            if ((flags & InstructionFlags.VBroadcastS1) != 0) names.Add("s1bcast");
            if ((flags & InstructionFlags.VBroadcastS2) != 0) names.Add("s2bcast");
            if ((flags & InstructionFlags.VNoS2) != 0) names.Add("nos2");
            if ((flags & InstructionFlags.VBroadcastResult) != 0) names.Add("splat");
            return string.Join(", ", names);
        }

        private static bool IsKnownOpcode(byte op) => op is <= (byte)Opcode.Mark
            or (byte)Opcode.DmaLoad or (byte)Opcode.DmaStore
            or (byte)Opcode.MxuLoadWeights or (byte)Opcode.MxuMatmul
            or (>= (byte)Opcode.VBinary and <= (byte)Opcode.VFill);

        private static string Mnemonic(byte op) => op == (byte)Opcode.Mark ? "mark" : NpuAsm.Mnemonic((Opcode)op);

        // ---------------------------------------------------------------- helpers

        private readonly ReadOnlySpan<byte> Slice(NpuSectionKind kind)
        {
            var s = _sections[(int)kind];
            return _f.Slice((int)s.Offset, (int)s.Size);
        }

        private readonly uint U16(long at) => BinaryPrimitives.ReadUInt16LittleEndian(_f.Slice((int)at, 2));

        private readonly uint U32(long at) => BinaryPrimitives.ReadUInt32LittleEndian(_f.Slice((int)at, 4));

        private static string HexBytes(ReadOnlySpan<byte> bytes)
        {
            var sb = new StringBuilder(bytes.Length * 3);
            foreach (byte b in bytes) sb.Append(sb.Length == 0 ? "" : " ").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            return sb.ToString();
        }

        // Messages are formatted with the invariant culture whatever the host's culture is.
        private static NpuBinaryException Fail(string? section, long offset, FormattableString problem) =>
            new(section, offset, null, FormattableString.Invariant(problem));

        private static NpuBinaryException Fail(string? section, long offset, int? index, FormattableString problem) =>
            new(section, offset, index, FormattableString.Invariant(problem));
    }
}
