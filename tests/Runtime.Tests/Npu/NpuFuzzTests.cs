using System.Diagnostics;
using Aot.Npu;
using Aot.Runtime.Npu;
using static Aot.Runtime.Tests.Npu.NpuTestUtil;

namespace Aot.Runtime.Tests.Npu;

/// <summary>
/// The loader on damaged binaries: truncations, bit flips, byte replacements and random instruction words. Every
/// load runs under a timeout guard; the only acceptable outcomes are <see cref="NpuBinaryException"/> (without an
/// inner exception, i.e. not a wrapped loader defect) or a program whose every footprint an independent check
/// (<see cref="Oracle"/>) finds inside the memories. Deterministic seeds; a few seconds in all.
/// </summary>
public class NpuFuzzTests
{
    [Fact]
    public void Every_truncation_is_rejected()
    {
        var file = KitchenSink();
        for (int length = 0; length < file.Length; length++)
        {
            Assert.Null(LoadGuarded(file[..length], out var error));
            Assert.NotNull(error);
        }
    }

    [Fact]
    public void Every_single_bit_flip_is_rejected()
    {
        // Every byte of a valid binary is covered by an exact check or a CRC, so no single flip can load. CONST is
        // sampled (it is only CRC-checked); everything else is flipped bit by bit.
        var file = KitchenSink();
        long constStart = SectionOffset(file, NpuSectionKind.Const), constEnd = constStart + SectionSize(file, NpuSectionKind.Const);
        int flips = 0;
        for (int bit = 0; bit < file.Length * 8; bit++)
        {
            int b = bit >> 3;
            if (b >= constStart && b < constEnd && bit % 97 != 0) continue;
            file[b] ^= (byte)(1 << (bit & 7));
            var program = LoadGuarded(file, out var error);
            Assert.True(program is null, $"flipping bit {bit & 7} of byte {b} still loads");
            Assert.NotNull(error);
            file[b] ^= (byte)(1 << (bit & 7));
            flips++;
        }

        Assert.True(flips > 10000, $"{flips} flips");
        NpuLoader.Load(file); // restored
    }

    [Fact]
    public void Random_byte_damage_behind_fixed_crcs_never_escapes_the_checks()
    {
        // Damage inside the sections, then recompute the CRCs so the damage reaches the structural and
        // instruction checks instead of stopping at the first CRC.
        var rng = new Random(20261127);
        var original = KitchenSink();
        var kinds = new[] { NpuSectionKind.Code, NpuSectionKind.Code, NpuSectionKind.Code, NpuSectionKind.Symbols, NpuSectionKind.Strings, NpuSectionKind.Regions, NpuSectionKind.SemInit, NpuSectionKind.Target };
        var outcomes = new Outcomes();
        for (int iteration = 0; iteration < 3000; iteration++)
        {
            var file = (byte[])original.Clone();
            int damage = 1 + rng.Next(4);
            for (int d = 0; d < damage; d++)
            {
                var kind = kinds[rng.Next(kinds.Length)];
                long start = SectionOffset(file, kind), size = SectionSize(file, kind);
                long at = start + rng.Next((int)size);
                switch (rng.Next(3))
                {
                    case 0: file[at] ^= (byte)(1 << rng.Next(8)); break;
                    case 1: file[at] = (byte)rng.Next(256); break;
                    default: file[at] = Interesting[rng.Next(Interesting.Length)]; break;
                }
            }

            FixCrcs(file);
            outcomes.Add(file);
        }

        outcomes.AssertSomeOfEach();
    }

    [Fact]
    public void Random_table_damage_behind_fixed_crcs_never_escapes_the_checks()
    {
        var rng = new Random(77);
        var original = KitchenSink();
        var outcomes = new Outcomes();
        for (int iteration = 0; iteration < 2000; iteration++)
        {
            var file = (byte[])original.Clone();
            long entry = EntryOffset(file, rng.Next(SectionCount(file)));
            int field = rng.Next(6) * 4;
            uint value = rng.Next(4) switch
            {
                0 => U32(file, entry + field) + (uint)rng.Next(-70, 70),
                1 => (uint)rng.Next(),
                2 => 0xFFFFFFFF - (uint)rng.Next(64),
                _ => 1u << rng.Next(32),
            };
            PutU32(file, entry + field, value);
            if (rng.Next(4) == 0) PutU32(file, NpuContainer.HeaderSectionCountOffset, (uint)rng.Next(12));
            FixCrcs(file);
            outcomes.Add(file);
        }

        Assert.True(outcomes.Rejected > 1000);
    }

    [Fact]
    public void Random_instruction_words_never_escape_the_checks()
    {
        // Structured random words: known opcodes, fields biased to 0, 1, the edges of the memories and the
        // maxima of their encodings, so that many pass the early checks and reach the footprint checks.
        var rng = new Random(4242);
        var original = KitchenSink();
        int count = (int)(SectionSize(original, NpuSectionKind.Code) / 32);
        var opcodes = Enum.GetValues<Opcode>().Where(o => o != Opcode.Halt).ToArray();
        var outcomes = new Outcomes();
        var word = new byte[32];
        for (int iteration = 0; iteration < 6000; iteration++)
        {
            var file = (byte[])original.Clone();
            int replaced = 1 + rng.Next(3);
            for (int r = 0; r < replaced; r++)
            {
                var ins = RandomInstruction(rng, opcodes[rng.Next(opcodes.Length)]);
                ins.Encode(word);
                word.CopyTo(file, InstructionOffset(file, rng.Next(count - 1)));
            }

            FixCrcs(file);
            outcomes.Add(file);
        }

        outcomes.AssertSomeOfEach();
    }

    private static readonly byte[] Interesting = { 0x00, 0x01, 0x02, 0x04, 0x1F, 0x20, 0x21, 0x3F, 0x40, 0x7F, 0x80, 0xFE, 0xFF };

    private static uint Pick(Random rng, params long[] candidates)
    {
        long v = candidates[rng.Next(candidates.Length)];
        return (uint)Math.Clamp(v + rng.Next(-2, 3) * (rng.Next(3) == 0 ? 1 : 0), 0, uint.MaxValue);
    }

    private static Instruction RandomInstruction(Random rng, Opcode op)
    {
        var i = Instruction.Create(op, (byte)(rng.Next(3) == 0 ? rng.Next(256) : rng.Next(4) == 0 ? 0 : 1 << rng.Next(5)));
        if (rng.Next(2) == 0) i = i.WithWait(rng.Next(3) == 0 ? rng.Next(40) : rng.Next(8), (uint)rng.Next(4));
        if (rng.Next(2) == 0) i = i.WithSignal(rng.Next(3) == 0 ? rng.Next(40) : rng.Next(8));
        switch (op)
        {
            case Opcode.Mark:
                i.Name = Pick(rng, 0, 4, 9, 21, 100);
                break;
            case Opcode.DmaLoad:
            case Opcode.DmaStore:
                i.Channel = (byte)Pick(rng, 0, 3, 4);
                i.Region = (Region)Pick(rng, 0, 1, 2, 3, 4);
                i.PadBefore = (byte)Math.Min(255, Pick(rng, 0, 1, 255));
                i.PadAfter = (byte)Math.Min(255, Pick(rng, 0, 1, 255));
                i.Rows = (int)Math.Min(0xFFFF, Pick(rng, 0, 1, 32, 65535));
                i.RowBytes = (int)Math.Min(0xFFFF, Pick(rng, 0, 1, 64, 4096, 65535));
                i.DramOffset = Pick(rng, 0, 64, 4096, 8192, 65536, uint.MaxValue);
                i.DramStride = Pick(rng, 0, 64, 128, uint.MaxValue);
                i.Local = Pick(rng, 0, 0x1000, 0x7FF00, 0x80000, 0x9FF80, uint.MaxValue);
                i.LocalStride = Pick(rng, 0, 64, 128, uint.MaxValue);
                break;
            case Opcode.MxuLoadWeights:
                i.Local = Pick(rng, 0, 0x1000, 0x7F000, 0x7FF00, 0x80000, uint.MaxValue);
                i.LocalStride = Pick(rng, 0, 1, 64, 128, uint.MaxValue);
                i.Rows = (int)Math.Min(255, Pick(rng, 0, 1, 32, 33, 255));
                i.Cols = (int)Math.Min(255, Pick(rng, 0, 1, 32, 33, 255));
                break;
            case Opcode.MxuMatmul:
                i.Local = Pick(rng, 0, 0x1000, 0x7FFC0, 0x80000, uint.MaxValue);
                i.LocalStride = Pick(rng, 0, 2, 64, 128, uint.MaxValue);
                i.Rows = (int)Math.Min(0xFFFF, Pick(rng, 0, 1, 32, 1024, 1025, 65535));
                i.K = (int)Math.Min(255, Pick(rng, 0, 1, 32, 33, 255));
                i.AccRow = (int)Math.Min(0xFFFF, Pick(rng, 0, 1, 512, 1023, 1024, 65535));
                i.AccStride = (int)Math.Min(0xFFFF, Pick(rng, 0, 1, 2, 65535));
                break;
            default:
                i.SubOp = (byte)Math.Min(255, Pick(rng, 0, 1, 2, 3, 5, 7, 8, 255));
                i.Vectors = (int)Math.Min(255, Pick(rng, 0, 1, 2, 24, 255));
                i.Rows = (int)Math.Min(0xFFFF, Pick(rng, 0, 1, 32, 1024, 65535));
                i.Dst = Math.Min(0xFFFFFF, Pick(rng, 0, 0x1000, 0x7FF80, 0x80000, 0x9FF80, 0xA0000, 0xFFFFFF));
                i.Src1 = Math.Min(0xFFFFFF, Pick(rng, 0, 0x1000, 0x7FF80, 0x80000, 0x9FF80, 0xFFFFFF));
                i.Src2 = Math.Min(0xFFFFFF, Pick(rng, 0, 0x1000, 0x7FF80, 0x9FF80, 0xFFFF80, 0xFFFFFF));
                i.DstStride = (int)Math.Min(0xFFFF, Pick(rng, 0, 4, 128, 3072, 65535));
                i.Src1Stride = (int)Math.Min(0xFFFF, Pick(rng, 0, 4, 128, 65535));
                i.Src2Stride = (int)Math.Min(0xFFFF, Pick(rng, 0, 128, 65535));
                i.Aux = (byte)Math.Min(255, Pick(rng, 0, 0, 0, 1, 2, 3, 4));
                i.Imm = Pick(rng, 0, 1, 0x3F800000, uint.MaxValue);
                break;
        }

        return i;
    }

    /// <summary>Loads each file under the guard and checks every accepted program with the oracle.</summary>
    private sealed class Outcomes
    {
        public int Loaded { get; private set; }
        public int Rejected { get; private set; }
        private readonly HashSet<string> _sections = new();

        public void Add(byte[] file)
        {
            var sw = Stopwatch.StartNew();
            var program = LoadGuarded(file, out var error);
            Assert.True(sw.ElapsedMilliseconds < 2000, $"one load took {sw.ElapsedMilliseconds} ms");
            if (program is null)
            {
                Rejected++;
                _sections.Add(error!.Section ?? "(container)");
            }
            else
            {
                Loaded++;
                Oracle.Check(program);
            }
        }

        public void AssertSomeOfEach()
        {
            Assert.True(Loaded > 20, $"only {Loaded} mutated programs loaded: the fuzzer does not reach the oracle");
            Assert.True(Rejected > 100, $"only {Rejected} rejected");
            Assert.Contains("CODE", _sections);
        }
    }
}

/// <summary>
/// An independent reading of the memory rules (docs/npu/isa.md) for accepted programs: every row of every
/// footprint is enumerated one by one (no closed forms) and must lie in its memory; every wait is reachable.
/// </summary>
internal static class Oracle
{
    private const long Scratchpad = 512 * 1024, AccBase = Scratchpad, AccEnd = AccBase + 128 * 1024;

    public static void Check(NpuProgram p)
    {
        long[] regions = { p.Constants.Length, p.InputBytes, p.OutputBytes, p.WorkspaceBytes };
        foreach (var s in p.Symbols)
        {
            Assert.InRange((int)s.Region, 0, 3);
            Assert.True(s.Offset >= 0 && s.ByteSize >= 0 && (long)s.Offset + s.ByteSize <= regions[(int)s.Region], $"symbol {s.Name}");
        }

        Assert.Equal(p.Code.Length, p.MarkNames.Length);
        Assert.Equal(Opcode.Halt, p.Code[^1].Op);
        Assert.Equal(1, p.Code.Count(i => i.Op == Opcode.Halt));
        var counts = p.SemaphoreInit.Select(v => (long)v).ToArray();
        bool shadowFull = false;
        for (int n = 0; n < p.Code.Length; n++)
        {
            var i = p.Code[n];
            if (i.WaitSemaphore != 0xFF)
            {
                Assert.InRange(i.WaitSemaphore, 0, 31);
                Assert.True(counts[i.WaitSemaphore] >= i.WaitValue, $"instruction {n}: unreachable wait");
            }

            if (i.SignalSemaphore != 0xFF)
            {
                Assert.InRange(i.SignalSemaphore, 0, 31);
                counts[i.SignalSemaphore]++;
                Assert.True(counts[i.SignalSemaphore] <= uint.MaxValue);
            }

            switch (i.Op)
            {
                case Opcode.DmaLoad:
                case Opcode.DmaStore:
                    Assert.InRange(i.Channel, 0, 3);
                    Assert.InRange((int)i.Region, i.Op == Opcode.DmaStore ? 2 : 0, 3);
                    Assert.True(i.Rows >= 1 && i.RowBytes >= 1);
                    for (long r = 0; r < i.Rows; r++) Inside(i.DramOffset + r * i.DramStride, i.RowBytes, 0, regions[(int)i.Region], n);
                    for (long r = 0; r < i.PadBefore + i.Rows + i.PadAfter; r++) Inside(i.Local + r * i.LocalStride, i.RowBytes, 0, Scratchpad, n);
                    break;
                case Opcode.MxuLoadWeights:
                {
                    int e = (i.Flags & 3) switch { 0 => 1, 1 => 2, _ => throw new Xunit.Sdk.XunitException($"instruction {n}: MXU dtype {i.Flags & 3}") };
                    Assert.True(i.Rows is >= 1 and <= 32 && i.Cols is >= 1 and <= 32);
                    bool transpose = (i.Flags & 4) != 0;
                    for (long r = 0; r < (transpose ? i.Cols : i.Rows); r++) Inside(i.Local + r * i.LocalStride, (transpose ? i.Rows : i.Cols) * e, 0, Scratchpad, n);
                    Assert.False(shadowFull, $"instruction {n}: a second weight load would deadlock");
                    shadowFull = true;
                    break;
                }

                case Opcode.MxuMatmul:
                {
                    int e = (i.Flags & 3) switch { 0 => 1, 1 => 2, _ => throw new Xunit.Sdk.XunitException($"instruction {n}: MXU dtype {i.Flags & 3}") };
                    Assert.True(i.Rows is >= 1 and <= 1024 && i.K is >= 1 and <= 32);
                    for (long r = 0; r < i.Rows; r++)
                    {
                        long row = i.AccRow + r * i.AccStride;
                        Assert.True(row < 1024, $"instruction {n}: accumulator row {row}");
                        Inside(i.Local + r * i.LocalStride, i.K * e, 0, Scratchpad, n);
                    }

                    if ((i.Flags & 8) != 0)
                    {
                        Assert.True(shadowFull, $"instruction {n}: swap without a loaded block");
                        shadowFull = false;
                    }

                    break;
                }

                case >= Opcode.VBinary and <= Opcode.VFill:
                    CheckVector(i, n);
                    break;
            }
        }
    }

    private static void CheckVector(in Instruction i, int n)
    {
        Assert.True(i.Rows >= 1 && i.Vectors >= 1);
        int Size(int dtype) => dtype switch { 0 => 1, 1 => 2, _ => 4 };
        long full = 128L * i.Vectors;
        bool s1Vector = (i.Flags & 2) != 0, s2Vector = (i.Flags & 4) != 0;
        long dst = i.Op switch
        {
            Opcode.VReduce => (i.Flags & 0x10) != 0 ? 128 : 4,
            Opcode.VConvert => 32L * i.Vectors * Size(i.SubOp),
            _ => full,
        };
        Operand(i.Dst, i.DstStride, i.Rows, dst, n);
        if (i.Op != Opcode.VFill)
            Operand(i.Src1, i.Src1Stride, i.Rows, i.Op == Opcode.VConvert ? 32L * i.Vectors * Size(i.Aux) : s1Vector ? 128 : full, n);
        if (i.Op == Opcode.VBinary || (i.Op == Opcode.VActivation && (i.Flags & 8) == 0))
            Operand(i.Src2, i.Src2Stride, i.Rows, s2Vector ? 128 : full, n);
    }

    /// <summary>Every row must lie wholly in the scratchpad or wholly in the accumulator, and all rows in the same one.</summary>
    private static void Operand(long address, long stride, int rows, long rowBytes, int n)
    {
        bool inAccumulator = address >= AccBase;
        for (long r = 0; r < rows; r++)
        {
            if (inAccumulator) Inside(address + r * stride, rowBytes, AccBase, AccEnd, n);
            else Inside(address + r * stride, rowBytes, 0, Scratchpad, n);
        }
    }

    private static void Inside(long start, long length, long memoryStart, long memoryEnd, int n)
    {
        if (start < memoryStart || start + length > memoryEnd)
            throw new Xunit.Sdk.XunitException($"instruction {n}: bytes [{start}, {start + length}) outside [{memoryStart}, {memoryEnd})");
    }
}
