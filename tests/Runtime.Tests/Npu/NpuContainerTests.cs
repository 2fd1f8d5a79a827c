using System.Text;
using Aot.Npu;
using Aot.Runtime.Npu;
using static Aot.Runtime.Tests.Npu.NpuTestUtil;

namespace Aot.Runtime.Tests.Npu;

public class NpuContainerTests
{
    [Theory]
    [InlineData("", 0x00000000u)]
    [InlineData("a", 0xE8B7BE43u)]
    [InlineData("abc", 0x352441C2u)]
    [InlineData("123456789", 0xCBF43926u)]
    [InlineData("The quick brown fox jumps over the lazy dog", 0x414FA339u)]
    public void Crc32_matches_the_IEEE_check_values(string text, uint expected)
    {
        Assert.Equal(expected, NpuCrc32.Compute(Encoding.ASCII.GetBytes(text)));
    }

    [Fact]
    public void Crc32_can_be_continued()
    {
        var data = Encoding.ASCII.GetBytes("123456789");
        for (int split = 0; split <= data.Length; split++)
            Assert.Equal(0xCBF43926u, NpuCrc32.Append(NpuCrc32.Compute(data.AsSpan(0, split)), data.AsSpan(split)));
        var zeros = new byte[32];
        Assert.Equal(0x190A55ADu, NpuCrc32.Compute(zeros));
    }

    [Fact]
    public void Writer_lays_out_header_table_and_sections_as_documented()
    {
        var file = KitchenSink();
        Assert.Equal("NPU1BIN\0"u8.ToArray(), file[..8]);
        Assert.Equal(1u, U32(file, 8) & 0xFFFF);
        Assert.Equal(0u, U32(file, 8) >> 16);
        Assert.Equal(64u, U32(file, 12));
        Assert.Equal((uint)file.Length, U32(file, 16));
        Assert.Equal(64u, U32(file, 20));
        Assert.Equal(8u, U32(file, 24));
        Assert.All(file[32..64], b => Assert.Equal(0, b));
        Assert.Equal(NpuCrc32.Compute(file.AsSpan(64, 8 * 32)), U32(file, 28));

        var kinds = new List<uint>();
        long previousEnd = 64 + 8 * 32;
        for (int e = 0; e < 8; e++)
        {
            long at = EntryOffset(file, e);
            uint kind = U32(file, at), flags = U32(file, at + 4), offset = U32(file, at + 8), size = U32(file, at + 12), align = U32(file, at + 16);
            kinds.Add(kind);
            Assert.Equal(kind == 8 ? 0u : 1u, flags);
            Assert.Equal((uint)NpuContainer.MinimumAlignment((NpuSectionKind)kind), align);
            Assert.Equal(0u, offset % align);
            Assert.True(offset >= previousEnd && offset - previousEnd < align, $"section {kind} at {offset} after {previousEnd}");
            Assert.Equal(NpuCrc32.Compute(file.AsSpan((int)offset, (int)size)), U32(file, at + 20));
            Assert.Equal(0u, U32(file, at + 24));
            Assert.Equal(0u, U32(file, at + 28));
            previousEnd = offset + size;
        }

        Assert.Equal(new uint[] { 1, 2, 3, 4, 5, 6, 7, 8 }, kinds);
        Assert.Equal(file.Length, previousEnd);
        Assert.Equal(0u, SectionOffset(file, NpuSectionKind.Code) % 32);
        Assert.Equal(0u, SectionOffset(file, NpuSectionKind.Const) % 64);
    }

    [Fact]
    public void Writer_output_is_deterministic()
    {
        var a = KitchenSink();
        var b = KitchenSink();
        Assert.Equal(a, b);
        var writer = KitchenSinkWriter();
        Assert.Equal(writer.ToArray(), writer.ToArray()); // writing twice (symbol names already interned) changes nothing
    }

    [Fact]
    public void Writer_and_loader_round_trip_everything()
    {
        var writer = KitchenSinkWriter();
        var program = NpuLoader.Load(writer.ToArray());

        Assert.Equal(writer.Code.ToArray(), program.Code);
        Assert.Equal(writer.Constants, program.Constants);
        Assert.Equal(8192, program.InputBytes);
        Assert.Equal(4096, program.OutputBytes);
        Assert.Equal(65536, program.WorkspaceBytes);
        Assert.Equal(writer.SemaphoreInit, program.SemaphoreInit);
        Assert.Equal(2u, program.SemaphoreInit[0]);
        Assert.Equal(1u, program.SemaphoreInit[7]);

        Assert.Equal(new[] { "x", "w", "img", "y", "s" }, program.Symbols.Select(s => s.Name));
        var w = program.Symbols[1];
        Assert.Equal((Region.Const, NpuDType.Int8, 0, 1024, 0.05f, -1), (w.Region, w.DType, w.Offset, w.ByteSize, w.Scale, w.ZeroPoint));
        Assert.Equal(new[] { 32, 32 }, w.Shape);
        var img = program.Symbols[2];
        Assert.Equal(4 * 4 * 32 * 2, img.ByteSize); // channels-last pads C = 3 to 32
        Assert.Equal(NpuContainer.LayoutChannelsLast, img.Layout);
        Assert.Equal(NpuContainer.LayoutRowMajor, w.Layout);
        Assert.Equal(new[] { 1, 3, 4, 4 }, img.Shape);
        Assert.Empty(program.Symbols[4].Shape);
        Assert.Equal(4, program.Symbols[4].ByteSize);

        Assert.Equal(program.Code.Length, program.MarkNames.Length);
        for (int i = 0; i < program.Code.Length; i++)
        {
            if (program.Code[i].Op == Opcode.Mark) Assert.Equal(writer.Strings.At(program.Code[i].Name), program.MarkNames[i]);
            else Assert.Equal("", program.MarkNames[i]);
        }

        Assert.Equal("all", program.MarkNames[0]);
        Assert.Equal("gemm", program.MarkNames[6]);
    }

    [Fact]
    public void Disassembling_a_loaded_program_and_assembling_it_gives_the_same_binary()
    {
        var original = KitchenSinkWriter();
        original.Debug = null;
        var bytes = original.ToArray();
        var text = NpuAssembler.Disassemble(NpuLoader.Load(bytes));
        Assert.Contains(".symbol \"img\" region=input offset=0x1000 dtype=fp16 shape=[1,3,4,4] layout=channels-last\n", text);
        var again = NpuAssembler.Assemble(text);
        again.Constants = original.Constants;
        Assert.Equal(bytes, again.ToArray());
    }

    [Fact]
    public void String_table_interns_and_round_trips()
    {
        var t = new NpuStringTable();
        Assert.Equal(0u, t.Add("layer1"));
        Assert.Equal(7u, t.Add("é"));
        Assert.Equal(0u, t.Add("layer1"));
        Assert.Equal(10u, t.Add(""));
        Assert.Equal(11, t.Size);
        var copy = new NpuStringTable(t.ToArray());
        Assert.Equal("é", copy.At(7));
        Assert.Equal(7u, copy.Add("é"));
        Assert.Equal(11u, copy.Add("next"));
        Assert.Null(copy.At(1));
        Assert.Throws<ArgumentException>(() => t.Add("a\0b"));
        Assert.Throws<EncoderFallbackException>(() => t.Add("\ud800"));
    }

    [Fact]
    public void A_minimal_program_loads()
    {
        var writer = new NpuBinaryWriter();
        writer.Code.Add(Instruction.Halt());
        var program = NpuLoader.Load(writer.ToArray());
        Assert.Single(program.Code);
        Assert.Empty(program.Constants);
        Assert.Empty(program.Symbols);
        Assert.Equal(new[] { "" }, program.MarkNames);
        Assert.Equal(7, SectionCount(writer.ToArray())); // no DEBUG section without debug text
    }
}
