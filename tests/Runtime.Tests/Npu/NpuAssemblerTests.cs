using Aot.Npu;
using Aot.Runtime.Npu;
using static Aot.Runtime.Tests.Npu.NpuTestUtil;

namespace Aot.Runtime.Tests.Npu;

public class NpuAssemblerTests
{
    /// <summary>Canonical encodings the loader rejects but the text must still express exactly.</summary>
    private const string OddCorpus = """
        op.0x7f flags=0x03 wait=s40>=3 signal=s200
        op.0xff
        nop flags=0x01
        halt signal=s31
        wait
        wait s255>=5
        wait s1>=1 queue=7 flags=0xf8
        signal
        signal s4 flags=0x10 wait=s1>=1
        fence flags=0x80
        mark.begin @17 flags=0x02
        mark.end @4294967295
        dma.ld ch=9 region=7 dram=0xffffffff+4294967295 local=0xffffffff+4294967295 rows=65535 bytes=65535 pad=255,255 flags=0x01
        dma.st ch=0 region=const dram=0x0+0 local=0x0+0 rows=0 bytes=0 pad=1,2 flags=0x40
        mxu.lw fp32 w=0x0+0 k=0 n=255 transpose flags=0xf0
        mxu.lw int32 w=0x0+0 k=255 n=0
        mxu.mm int32 a=0x0+0 m=65535 k=255 acc=65535+65535 swap accumulate flags=0xf0
        v.bin 9 rows=0 vecs=0 dst=0xffffff+65535 s1=0x0+0 s2=0x0+0 imm=0x7fc00001 aux=255 splat
        v.imm 255 int rows=1 vecs=1 dst=0x0+0 s1=0x0+0 s2=0x10+4 imm=-2147483648 nos2 flags=0xe0
        v.act 200 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=0xff800000 nos2
        v.act identity rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=-0.0 s1bcast s2bcast nos2 splat
        v.red 3 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1E-45
        v.cvt 7->9 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 zp=-8388608 s2stride=3 imm=3.4028235E+38
        v.cvt int8->int8 int rows=1 vecs=1 dst=0x0+0 s1=0x0+0 zp=8388607 imm=0
        v.mov sub=3 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 s2=0x20+0 imm=2.5 aux=4
        v.fill rows=1 vecs=1 dst=0x0+0 s1=0x10+4 imm=0x7f800000
        v.fill int sub=1 rows=1 vecs=1 dst=0x0+0 imm=2147483647
        """;

    private static IEnumerable<string> Lines(string text) => text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0);

    [Fact]
    public void Canonical_text_survives_assemble_then_disassemble()
    {
        var strings = new NpuStringTable();
        int count = 0;
        foreach (var line in Lines(KitchenSinkCode).Concat(Lines(OddCorpus)))
        {
            var ins = NpuAssembler.AssembleInstruction(line, strings);
            Assert.Equal(line, NpuDisassembler.Format(ins, strings.At));
            count++;
        }

        Assert.True(count > 70);
    }

    [Fact]
    public void The_corpus_covers_every_opcode_and_flag_bit()
    {
        var strings = new NpuStringTable();
        var code = Lines(KitchenSinkCode).Concat(Lines(OddCorpus)).Select(l => NpuAssembler.AssembleInstruction(l, strings)).ToList();
        foreach (Opcode op in Enum.GetValues<Opcode>()) Assert.Contains(code, i => i.Op == op);
        foreach (var group in code.GroupBy(i => i.Op))
        {
            int seen = group.Aggregate(0, (acc, i) => acc | i.Flags);
            if (group.Key == Opcode.Halt || !Enum.IsDefined(group.Key)) continue; // HALT: nothing to show; op.0xff: flags are on op.0x7f
            Assert.True(seen != 0, $"{group.Key}: no flag bit exercised");
        }

        // Every valid flag of the loader appears in the kitchen sink (which loads).
        var valid = Lines(KitchenSinkCode).Select(l => NpuAssembler.AssembleInstruction(l, strings)).ToList();
        Assert.Equal(0x1F, valid.Where(i => i.Op >= Opcode.VBinary).Aggregate(0, (acc, i) => acc | i.Flags));
        Assert.Equal(0x0F, valid.Where(i => i.Op == Opcode.MxuMatmul).Aggregate(0, (acc, i) => acc | i.Flags) | 0x02);
        Assert.Equal(new[] { 0, 4, 5, 6 }, valid.Where(i => i.Op == Opcode.Wait).Select(i => (int)i.Flags).Distinct().Order());
    }

    [Fact]
    public void Random_canonical_words_survive_disassemble_then_assemble()
    {
        var rng = new Random(1234);
        var opcodes = Enum.GetValues<Opcode>().Select(o => (byte)o).Concat(new byte[] { 0x06, 0x12, 0x22, 0x37, 0x80, 0xFF }).ToArray();
        var word = new byte[32];
        var canonical = new byte[32];
        var again = new byte[32];
        for (int n = 0; n < 20000; n++)
        {
            rng.NextBytes(word);
            word[0] = opcodes[rng.Next(opcodes.Length)];
            if (rng.Next(4) == 0) word[2] = 0xFF; // no wait ...
            if (rng.Next(4) == 0) word[3] = 0xFF; // ... no signal
            if (rng.Next(4) == 0) word.AsSpan(4, 4).Clear();
            var ins = Instruction.Decode(word);
            ins.Encode(canonical);
            Assert.Equal(-1, Instruction.FirstNonCanonicalByte(canonical));
            string text = NpuDisassembler.Format(ins);
            var back = NpuAssembler.AssembleInstruction(text);
            back.Encode(again);
            Assert.True(canonical.AsSpan().SequenceEqual(again), $"{text}\n{Convert.ToHexString(canonical)}\n{Convert.ToHexString(again)}");
            Assert.Equal(text, NpuDisassembler.Format(back));
        }
    }

    [Theory]
    [InlineData(0x00000000u, "0.0")]
    [InlineData(0x80000000u, "-0.0")]
    [InlineData(0x3F800000u, "1.0")]
    [InlineData(0x00000001u, "1E-45")]
    [InlineData(0x7F7FFFFFu, "3.4028235E+38")]
    [InlineData(0x3DCCCCCDu, "0.1")]
    [InlineData(0x7F800000u, "0x7f800000")]
    [InlineData(0xFF800000u, "0xff800000")]
    [InlineData(0x7FC00000u, "0x7fc00000")]
    [InlineData(0xFFC00123u, "0xffc00123")]
    public void Float_immediates_print_shortest_and_read_back_bit_exact(uint bits, string text)
    {
        Assert.Equal(text, NpuDisassembler.FormatImmediate(bits, isInt: false));
        var ins = NpuAssembler.AssembleInstruction($"v.fill rows=1 vecs=1 dst=0x0+0 imm={text}");
        Assert.Equal(bits, ins.Imm);
    }

    [Fact]
    public void Immediates_accept_other_spellings()
    {
        Assert.Equal(Instruction.BitsOf(0.5f), NpuAssembler.AssembleInstruction("v.fill rows=1 vecs=1 dst=0x0+0 imm=.5").Imm);
        Assert.Equal(Instruction.BitsOf(-2.5e-3f), NpuAssembler.AssembleInstruction("v.fill rows=1 vecs=1 dst=0x0+0 imm=-2.5e-3").Imm);
        Assert.Equal(Instruction.BitsOf(3f), NpuAssembler.AssembleInstruction("v.fill rows=1 vecs=1 dst=0x0+0 imm=3").Imm);
        Assert.Equal(0xFFFFFFFFu, NpuAssembler.AssembleInstruction("v.fill int rows=1 vecs=1 dst=0x0+0 imm=-1").Imm);
        Assert.Equal(0xFFFFFFFFu, NpuAssembler.AssembleInstruction("v.fill int rows=1 vecs=1 dst=0x0+0 imm=0xffffffff").Imm);
        // Key order and spacing are free; the canonical print puts them back in order.
        var ins = NpuAssembler.AssembleInstruction("  mxu.mm   fp16 swap acc=0+1 k=32 m=128 a=0x2000+64   # comment");
        Assert.Equal("mxu.mm fp16 a=0x2000+64 m=128 k=32 acc=0+1 swap", NpuDisassembler.Format(ins));
    }

    [Fact]
    public void Names_print_quoted_with_escapes()
    {
        var strings = new NpuStringTable();
        string name = "a \"quoted\" \\ name\twith\u0001control é";
        var ins = NpuAssembler.AssembleInstruction("mark.begin \"a \\\"quoted\\\" \\\\ name\\u0009with\\u0001control é\"", strings);
        Assert.Equal(name, strings.At(ins.Name));
        string text = NpuDisassembler.Format(ins, strings.At);
        Assert.Equal("mark.begin \"a \\\"quoted\\\" \\\\ name\\u0009with\\u0001control é\"", text);
        Assert.Equal("mark.begin @0", NpuDisassembler.Format(ins));
    }

    [Theory]
    [InlineData("dma.ld ch=0 region=nowhere dram=0x0+0 local=0x0+0 rows=1 bytes=1", 20, "'nowhere' is not a region")]
    [InlineData("mxu.mm fp16 a=0x0+64 m=70000 k=32 acc=0+1", 24, "does not fit")]
    [InlineData("frobnicate x=1", 1, "unknown mnemonic 'frobnicate'")]
    [InlineData("  dma.ld ch=0 region=input dram=0x0+0 local=0x0+0 rows=1", 3, "dma.ld needs bytes=")]
    [InlineData("nop nop", 5, "unknown word 'nop' for nop")]
    [InlineData("nop wait=s1>=1 wait=s2>=2", 16, "wait= is given twice")]
    [InlineData("nop colour=red", 5, "nop has no key colour=")]
    [InlineData("mark.begin \"open", 12, "unterminated string")]
    [InlineData("mark.begin name", 12, "a MARK name is")]
    [InlineData("v.act softplus rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1.0 nos2", 7, "'softplus' is not a function")]
    [InlineData("v.fill rows=1 vecs=1 dst=0x0+0 imm=one", 36, "not an fp32 immediate")]
    [InlineData("v.fill rows=1 vecs=1 dst=0x1000000+0 imm=1.0", 26, "does not fit")]
    [InlineData("v.cvt fp32 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1.0", 7, "source->destination")]
    [InlineData("mxu.lw w=0x0+64 k=32 n=32", 7, "needs a dtype")]
    [InlineData("wait s1>=1 signal=s2 signal=s3", 22, "signal= is given twice")]
    [InlineData("dma.ld ch=0 region=input dram=0x0 local=0x0+0 rows=1 bytes=1", 31, "expected address+stride")]
    [InlineData("dma.ld ch=0 region=input dram=0x0+0 local=0x0+0 rows=1 bytes=1 pad=1", 68, "pad is before,after")]
    [InlineData("nop wait=s3", 10, "a wait is sN>=value")]
    [InlineData("nop signal=x3", 12, "a semaphore is s0-s31")]
    [InlineData("op.0x10", 1, "opcode 0x10 is dma.ld")]
    [InlineData(".sem s1 1", 1, "directive .sem where an instruction was expected")]
    public void Errors_name_line_and_column(string line, int column, string message)
    {
        var e = Assert.Throws<NpuAssemblyException>(() => NpuAssembler.AssembleInstruction(line, new NpuStringTable()));
        Assert.Contains(message, e.Message);
        Assert.Equal(1, e.Line);
        Assert.Equal(column, e.Column);
        Assert.StartsWith($"line 1, column {column}: ", e.Message);
    }

    [Theory]
    [InlineData(".const 64\n.region const 64", 3, 9, "CONST is already given (.const or .region const)")]
    [InlineData(".region heap 64", 2, 9, "unknown region 'heap'")]
    [InlineData(".sem s32 1", 2, 6, "the machine has s0-s31")]
    [InlineData(".sem s1", 2, 5, ".sem needs an initial value")]
    [InlineData(".const 64 extra", 2, 11, "unexpected 'extra'")]
    [InlineData(".symbol x region=input offset=0 dtype=fp16 shape=[1]", 2, 9, "in quotes")]
    [InlineData(".symbol \"x\" region=input offset=0 dtype=fp16 shape=1", 2, 52, "a shape is [d0,d1,...]")]
    [InlineData(".symbol \"x\" region=input offset=0 dtype=fp16 shape=[1,2,3,4,5,6,7]", 2, 52, "at most 6")]
    [InlineData(".symbol \"x\" region=input offset=0 dtype=fp16", 2, 1, ".symbol needs shape=")]
    [InlineData(".debug text", 2, 8, "in quotes")]
    [InlineData(".org 0", 2, 1, "unknown directive '.org'")]
    [InlineData("halt\n.const 1\n.const 2", 4, 1, "CONST is already given")]
    public void Directive_errors_name_line_and_column(string line, int lineNo, int column, string message)
    {
        var e = Assert.Throws<NpuAssemblyException>(() => NpuAssembler.Assemble("# a comment\n" + line));
        Assert.Contains(message, e.Message);
        Assert.Equal(lineNo, e.Line);
        Assert.Equal(column, e.Column);
    }

    [Fact]
    public void Quoted_mark_names_need_a_string_table()
    {
        var e = Assert.Throws<NpuAssemblyException>(() => NpuAssembler.AssembleInstruction("mark.begin \"x\""));
        Assert.Contains("use @offset", e.Message);
    }

    [Fact]
    public void Whole_programs_assemble_with_directives()
    {
        var writer = NpuAssembler.Assemble("""
            ; regions
            .const 128
            .region input 64   # trailing comment
            .region output 32
            .region workspace 16
            .sem s3 2
            .symbol "in" region=input offset=0x0 dtype=int8 shape=[8,8] scale=0.5 zp=-2
            .debug "line one"
            .debug "line two"
            mark.begin "k"
            wait s3>=2
            mark.end "k"
            halt
            """);
        Assert.Equal(128, writer.Constants.Length);
        Assert.Equal((64u, 32u, 16u), (writer.InputBytes, writer.OutputBytes, writer.WorkspaceBytes));
        Assert.Equal(2u, writer.SemaphoreInit[3]);
        Assert.Equal("line one\nline two", writer.Debug);
        var program = NpuLoader.Load(writer.ToArray());
        Assert.Equal(4, program.Code.Length);
        Assert.Equal(new[] { "k", "", "k", "" }, program.MarkNames);
        Assert.Equal(new NpuSymbol("in", Region.Input, NpuDType.Int8, 0, 64, new[] { 8, 8 }, 0.5f, -2).ToString(), program.Symbols[0].ToString());
    }
}
