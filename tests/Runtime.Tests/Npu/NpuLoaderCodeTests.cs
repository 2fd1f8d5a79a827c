using Aot.Npu;
using Aot.Runtime.Npu;
using static Aot.Runtime.Tests.Npu.NpuTestUtil;

namespace Aot.Runtime.Tests.Npu;

/// <summary>
/// One test per instruction check of docs/npu/isa.md "What the loader checks". Programs run after
/// <see cref="NpuTestUtil.Prologue"/> (CONST 4096, INPUT 8192, OUTPUT 4096, WORKSPACE 65536 bytes; s0 = 2, s7 = 1).
/// </summary>
public class NpuLoaderCodeTests
{
    /// <summary>Asserts the program (a HALT is appended) is rejected at instruction <paramref name="index"/>, byte
    /// <paramref name="field"/> of its word, with <paramref name="message"/> in the text.</summary>
    private static void Rejected(string code, int index, int field, string message, bool appendHalt = true)
    {
        var file = Program(appendHalt ? code + "\nhalt" : code);
        var e = Rejects(file);
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), $"expected \"{message}\" in\n{e.Message}");
        Assert.Equal("CODE", e.Section);
        Assert.Equal(index, e.InstructionIndex);
        Assert.Equal(InstructionOffset(file, index) + field, e.ByteOffset);
        Assert.Contains($"section CODE, byte {e.ByteOffset} (0x{e.ByteOffset:x}), instruction {index}: ", e.Message);
    }

    private static NpuProgram Loads(string code) => NpuLoader.Load(Program(code + "\nhalt"));

    private const string Lw = "mxu.lw fp16 w=0x0+64 k=32 n=32";
    private const string Mm = "mxu.mm fp16 a=0x0+64 m=1 k=32 acc=0+1";

    // ---------------------------------------------------------------- encoding, header fields

    [Fact]
    public void Unknown_opcodes_are_rejected()
    {
        Rejected("nop\nop.0x7f", 1, 0, "unknown opcode 0x7f");
        Rejected("op.0x06", 0, 0, "unknown opcode 0x06");
        Rejected("op.0x37", 0, 0, "unknown opcode 0x37");
    }

    [Theory]
    [InlineData("nop", "nop", 8)]
    [InlineData("halt", "halt", 31)]
    [InlineData("mark.begin \"a\"", "mark", 12)]
    [InlineData("mxu.lw fp16 w=0x0+64 k=32 n=32", "mxu.lw", 18)]
    [InlineData("mxu.mm fp16 a=0x0+64 m=1 k=32 acc=0+1", "mxu.mm", 23)]
    public void Reserved_bytes_are_zero(string line, string mnemonic, int reserved)
    {
        var file = Program(line + (line == "halt" ? "" : "\nhalt"));
        long word = InstructionOffset(file, 0);
        file[word + reserved] = 0x40;
        FixCrcs(file);
        var e = Rejects(file);
        Assert.Equal(("CODE", 0, word + reserved), (e.Section, e.InstructionIndex, e.ByteOffset));
        Assert.Contains($"byte {reserved} of this {mnemonic} is 0x40; it is reserved and must be zero", e.Message);
    }

    [Theory]
    [InlineData("nop wait=s40>=1", 2, "wait semaphore 40; the machine has s0-s31 (0xff = none)")]
    [InlineData("nop wait=s255>=3", 4, "wait value 3 without a wait semaphore; it must be zero")]
    [InlineData("nop signal=s32", 3, "signal semaphore 32; the machine has s0-s31")]
    [InlineData("nop signal=s254", 3, "signal semaphore 254")]
    public void Semaphore_ids_are_checked(string line, int field, string message) => Rejected(line, 0, field, message);

    [Theory]
    [InlineData("nop flags=0x01", "nop has no flags; they are 0x01")]
    [InlineData("fence flags=0x80", "fence has no flags; they are 0x80")]
    [InlineData("signal s1 flags=0x02", "signal has no flags; they are 0x02")]
    [InlineData("wait s0>=1 queue=7", "WAIT flags 0x07; 0 waits in the dispatcher, 1-6 in the queue of DMA0-3, MXU, VPU")]
    [InlineData("wait s0>=1 flags=0x10", "WAIT flags 0x10")]
    [InlineData("mark.begin \"a\" flags=0x02", "MARK flags 0x02; only 0x01 (end) is defined")]
    public void Control_flags_are_checked(string line, string message) => Rejected(line, 0, 1, message);

    [Fact]
    public void Halt_has_no_flags() => Rejected("halt flags=0x02", 0, 1, "halt has no flags", appendHalt: false);

    [Fact]
    public void Wait_and_signal_need_their_semaphore()
    {
        Rejected("wait", 0, 2, "WAIT without a wait semaphore");
        Rejected("signal", 0, 3, "SIGNAL without a signal semaphore");
        Rejected("wait queue=vpu", 0, 2, "WAIT without a wait semaphore");
    }

    // ---------------------------------------------------------------- MARK

    [Theory]
    [InlineData("mark.begin @5", 0, "mark.begin's name refers to STRINGS offset 5, past the end of STRINGS (0 bytes)")]
    [InlineData("mark.begin \"ab\"\nmark.end @1", 1, "mark.end's name refers to STRINGS offset 1, which is not the start of a string")]
    [InlineData("mark.begin \"\"", 0, "mark.begin's name is the empty string (STRINGS offset 0)")]
    [InlineData("mark.end \"a\"", 0, "mark.end \"a\" closes no open region")]
    [InlineData("mark.begin \"a\"\nmark.begin \"b\"\nmark.end \"a\"", 2, "mark.end \"a\" does not match the innermost open region \"b\" (instruction 1): marks must nest")]
    [InlineData("mark.begin \"a\"\nmark.end \"a\"\nmark.end \"a\"", 2, "closes no open region")]
    public void Marks_are_named_and_nest(string code, int index, string message) => Rejected(code, index, 8, message);

    [Fact]
    public void Marks_are_closed()
    {
        Rejected("mark.begin \"outer\"\nmark.begin \"inner\"\nmark.end \"inner\"", 0, 0, "mark.begin \"outer\" is never closed by a mark.end");
        Rejected("mark.begin \"a\u0001\"", 0, 0, "mark.begin \"a\\u0001\" is never closed");
        var p = Loads("mark.begin \"a\"\nmark.begin \"a\"\nmark.end \"a\"\nmark.end \"a\"");
        Assert.Equal(new[] { "a", "a", "a", "a", "" }, p.MarkNames);
    }

    // ---------------------------------------------------------------- DMA

    private const string Ld = "dma.ld ch=0 region=input dram=0x0+0 local=0x0+0 rows=1 bytes=1 pad=0,0";

    [Theory]
    [InlineData(Ld + " flags=0x01", 1, "dma.ld has no flags; they are 0x01")]
    [InlineData("dma.ld ch=4 region=input dram=0x0+0 local=0x0+0 rows=1 bytes=1", 8, "dma.ld on channel 4; the machine has channels 0-3")]
    [InlineData("dma.ld ch=0 region=4 dram=0x0+0 local=0x0+0 rows=1 bytes=1", 9, "dma.ld names region 4; regions are 0 CONST, 1 INPUT, 2 OUTPUT, 3 WORKSPACE")]
    [InlineData("dma.st ch=0 region=const dram=0x0+0 local=0x0+0 rows=1 bytes=1", 9, "dma.st to CONST: only OUTPUT and WORKSPACE are writable")]
    [InlineData("dma.st ch=0 region=input dram=0x0+0 local=0x0+0 rows=1 bytes=1", 9, "dma.st to INPUT: only OUTPUT and WORKSPACE are writable")]
    [InlineData("dma.st ch=0 region=output dram=0x0+0 local=0x0+0 rows=1 bytes=1 pad=1,0", 10, "dma.st with 1 pad rows before; padding is for loads only")]
    [InlineData("dma.st ch=0 region=output dram=0x0+0 local=0x0+0 rows=1 bytes=1 pad=0,2", 11, "dma.st with 2 pad rows after")]
    [InlineData("dma.ld ch=0 region=input dram=0x0+0 local=0x0+0 rows=0 bytes=1", 12, "dma.ld moves 0 rows")]
    [InlineData("dma.ld ch=0 region=input dram=0x0+0 local=0x0+0 rows=1 bytes=0", 14, "dma.ld moves rows of 0 bytes")]
    [InlineData("dma.ld ch=0 region=input dram=0x1000+1024 local=0x0+1024 rows=5 bytes=1024", 16, "dma.ld reads INPUT bytes up to 9216 (5 rows of 1024 bytes from offset 4096, stride 1024); the INPUT region is 8192 bytes")]
    [InlineData("dma.ld ch=0 region=const dram=0xfff+0 local=0x0+0 rows=1 bytes=2", 16, "the CONST region is 4096 bytes")]
    [InlineData("dma.ld ch=0 region=workspace dram=0x0+4294967295 local=0x0+0 rows=65535 bytes=1", 16, "dma.ld reads WORKSPACE bytes up to 281466386710531")]
    [InlineData("dma.st ch=0 region=output dram=0x0+0 local=0x0+0 rows=1 bytes=4097", 16, "dma.st writes OUTPUT bytes up to 4097")]
    [InlineData("dma.st ch=0 region=workspace dram=0xffffffff+0 local=0x0+0 rows=1 bytes=1", 16, "dma.st writes WORKSPACE bytes up to 4294967296")]
    [InlineData("dma.ld ch=0 region=input dram=0x0+0 local=0x7ff00+256 rows=1 bytes=257", 24, "dma.ld writes scratchpad bytes [0x7ff00, 0x80001) (1 rows of 257 bytes, stride 256); the scratchpad ends at 0x80000")]
    [InlineData("dma.ld ch=0 region=input dram=0x0+0 local=0x7fe00+256 rows=1 bytes=256 pad=1,1", 24, "[0x7fe00, 0x80100) (3 rows of 256 bytes")]
    [InlineData("dma.ld ch=0 region=input dram=0x0+0 local=0xffffffff+4294967295 rows=1 bytes=1 pad=255,255", 24, "dma.ld writes scratchpad bytes [0xffffffff, ")]
    [InlineData("dma.st ch=0 region=output dram=0x0+0 local=0x80000+0 rows=1 bytes=4", 24, "dma.st reads scratchpad bytes [0x80000, 0x80004)")]
    public void Dma_is_checked(string line, int field, string message) => Rejected(line, 0, field, message);

    [Theory]
    [InlineData("dma.ld ch=3 region=input dram=0x1000+1024 local=0x0+1024 rows=4 bytes=1024 pad=0,0")]
    [InlineData("dma.ld ch=0 region=const dram=0xffe+0 local=0x0+0 rows=1 bytes=2 pad=0,0")]
    [InlineData("dma.ld ch=0 region=input dram=0x0+0 local=0x7fe00+256 rows=1 bytes=256 pad=1,0")]
    [InlineData("dma.ld ch=0 region=input dram=0x0+0 local=0x7ff00+0 rows=65535 bytes=256 pad=255,255")]
    [InlineData("dma.st ch=0 region=output dram=0x0+0 local=0x0+0 rows=1 bytes=4096")]
    [InlineData("dma.st ch=1 region=workspace dram=0xffff+0 local=0x7ffff+0 rows=1 bytes=1")]
    public void Dma_footprints_exactly_at_the_end_load(string line) => Loads(line);

    // ---------------------------------------------------------------- MXU

    [Theory]
    [InlineData("mxu.lw fp16 w=0x0+64 k=32 n=32 flags=0x08", 1, "mxu.lw flags 0x09; defined are bits 0-1 (dtype) and 0x04 (transpose)")]
    [InlineData("mxu.lw fp32 w=0x0+64 k=32 n=32", 1, "mxu.lw with dtype fp32; the MXU takes int8 or fp16")]
    [InlineData("mxu.lw int32 w=0x0+64 k=32 n=32", 1, "mxu.lw with dtype int32")]
    [InlineData("mxu.lw fp16 w=0x0+64 k=0 n=32", 16, "mxu.lw of 0 weight rows (K); it must be 1-32")]
    [InlineData("mxu.lw fp16 w=0x0+64 k=33 n=32", 16, "mxu.lw of 33 weight rows (K)")]
    [InlineData("mxu.lw fp16 w=0x0+64 k=32 n=0", 17, "mxu.lw of 0 weight columns (N); it must be 1-32")]
    [InlineData("mxu.lw int8 w=0x0+64 k=32 n=255", 17, "mxu.lw of 255 weight columns (N)")]
    [InlineData("mxu.lw fp16 w=0x1+64 k=32 n=32", 8, "mxu.lw weights address 0x1 is not a multiple of its 2-byte elements")]
    [InlineData("mxu.lw fp16 w=0x0+63 k=32 n=32", 12, "mxu.lw weights stride 63 is not a multiple of its 2-byte elements")]
    [InlineData("mxu.lw fp16 w=0x7f100+128 k=32 n=32", 8, "mxu.lw reads scratchpad bytes [0x7f100, 0x800c0) (32 rows of 64 bytes, stride 128)")]
    [InlineData("mxu.lw fp16 w=0x7ff00+64 k=32 n=2", 8, "mxu.lw reads scratchpad bytes [0x7ff00, 0x806c4) (32 rows of 4 bytes, stride 64)")]
    [InlineData("mxu.lw fp16 w=0x7ff00+64 k=32 n=5 transpose", 8, "mxu.lw reads scratchpad bytes [0x7ff00, 0x80040) (5 rows of 64 bytes, stride 64)")]
    [InlineData("mxu.lw int8 w=0xffffffff+4294967295 k=32 n=32", 8, "mxu.lw reads scratchpad bytes [0xffffffff, ")]
    public void Weight_loads_are_checked(string line, int field, string message) => Rejected(line, 0, field, message);

    [Theory]
    [InlineData("mxu.lw fp16 w=0x7f000+128 k=32 n=32")]
    [InlineData("mxu.lw fp16 w=0x7ff00+64 k=32 n=2 transpose")]
    [InlineData("mxu.lw int8 w=0x7ffff+0 k=32 n=1")]
    public void Weight_loads_at_the_end_load(string line) => Loads(line + "\nmxu.mm " + (line.Contains("int8") ? "int8" : "fp16") + " a=0x0+64 m=1 k=32 acc=0+1 swap");

    [Theory]
    [InlineData(Mm + " swap flags=0x10", 1, "mxu.mm flags 0x19; defined are bits 0-1 (dtype), 0x04 (accumulate) and 0x08 (swap)")]
    [InlineData("mxu.mm fp32 a=0x0+64 m=1 k=32 acc=0+1 swap", 1, "mxu.mm with dtype fp32; the MXU takes int8 or fp16")]
    [InlineData("mxu.mm fp16 a=0x0+64 m=0 k=32 acc=0+1 swap", 16, "mxu.mm of m = 0 rows; it must be 1-1024")]
    [InlineData("mxu.mm fp16 a=0x0+0 m=1025 k=32 acc=0+0 swap", 16, "mxu.mm of m = 1025 rows")]
    [InlineData("mxu.mm fp16 a=0x0+64 m=1 k=0 acc=0+1 swap", 22, "mxu.mm with K = 0; it must be 1-32")]
    [InlineData("mxu.mm fp16 a=0x0+64 m=1 k=33 acc=0+1 swap", 22, "mxu.mm with K = 33")]
    [InlineData("mxu.mm fp16 a=0x0+64 m=2 k=32 acc=0+0 swap", 20, "mxu.mm of 2 rows with accumulator row stride 0; it must be at least 1")]
    [InlineData("mxu.mm fp16 a=0x0+64 m=2 k=32 acc=1023+1 swap", 18, "mxu.mm writes accumulator rows 1023 to 1024 (2 rows, stride 1); the accumulator has rows 0-1023")]
    [InlineData("mxu.mm fp16 a=0x0+64 m=4 k=32 acc=1000+10 swap", 18, "accumulator rows 1000 to 1030")]
    [InlineData("mxu.mm fp16 a=0x0+64 m=1 k=32 acc=1024+0 swap", 18, "accumulator rows 1024 to 1024")]
    [InlineData("mxu.mm fp16 a=0x0+64 m=1024 k=32 acc=0+65535 swap", 18, "accumulator rows 0 to 67042305")]
    [InlineData("mxu.mm fp16 a=0x3+64 m=1 k=32 acc=0+1 swap", 8, "mxu.mm A address 0x3 is not a multiple of its 2-byte elements")]
    [InlineData("mxu.mm fp16 a=0x0+65 m=1 k=32 acc=0+1 swap", 12, "mxu.mm A stride 65 is not a multiple of its 2-byte elements")]
    [InlineData("mxu.mm fp16 a=0x7ffc0+64 m=2 k=32 acc=0+1 swap", 8, "mxu.mm reads A from scratchpad bytes [0x7ffc0, 0x80040) (2 rows of 64 bytes, stride 64)")]
    [InlineData("mxu.mm fp16 a=0x0+4294967294 m=1024 k=32 acc=0+1 swap", 8, "mxu.mm reads A from scratchpad bytes [0x0, 0x3fefffff842)")]
    public void Matmuls_are_checked(string line, int field, string message) => Rejected(Lw + "\n" + line, 1, field, message);

    [Theory]
    [InlineData("mxu.mm fp16 a=0x7ffc0+64 m=1 k=32 acc=1023+0 swap")]
    [InlineData("mxu.mm fp16 a=0x0+64 m=1024 k=32 acc=0+1 swap")]
    [InlineData("mxu.mm fp16 a=0x0+0 m=4 k=1 acc=1000+7 swap accumulate")]
    public void Matmuls_at_the_end_load(string line) => Loads(Lw + "\n" + line);

    [Fact]
    public void Weight_protocol_in_program_order()
    {
        // A second MXU_LW before the first block was swapped in would wait forever behind its own queue.
        Rejected(Lw + "\n" + Lw, 1, 0, "mxu.lw while the block loaded by instruction 0 has not been swapped in: it would wait forever for a swapping mxu.mm queued behind it");
        Rejected(Lw + "\n" + Mm + " swap\n" + Lw + "\n" + Mm + "\n" + Lw, 4, 0, "the block loaded by instruction 2 has not been swapped in");
        // A swap needs a loaded block; a matmul needs active weights.
        Rejected(Mm + " swap", 0, 1, "mxu.mm swaps weights in, but no mxu.lw has loaded a block since the last swap");
        Rejected(Lw + "\n" + Mm + " swap\n" + Mm + " swap", 2, 1, "no mxu.lw has loaded a block since the last swap");
        Rejected(Mm, 0, 1, "mxu.mm without swap before any weights were swapped in: there are no active weights");
        Rejected(Lw + "\n" + Mm, 1, 1, "there are no active weights");
        // The dtype is that of the active weights, not of the last load.
        Rejected("mxu.lw int8 w=0x0+64 k=32 n=32\n" + Mm + " swap", 1, 1, "mxu.mm on fp16 but the active weights are int8");
        Rejected("mxu.lw int8 w=0x0+64 k=32 n=32\nmxu.mm int8 a=0x0+64 m=1 k=32 acc=0+1 swap\n" + Lw + "\n" + Mm, 3, 1, "mxu.mm on fp16 but the active weights are int8");
        // Loading the next block while the active one is still used is the double-buffered normal case.
        Loads(Lw + "\n" + Mm + " swap\n" + Lw + "\n" + Mm + "\n" + Mm + " accumulate\n" + Mm + " swap\n" + Mm);
    }

    // ---------------------------------------------------------------- VPU

    [Theory]
    [InlineData("v.bin add rows=1 vecs=1 dst=0x0+0 s1=0x0+0 s2=0x0+0 nos2", "v.bin flags 0x08; v.bin allows only 0x07 (int, s1bcast, s2bcast)")]
    [InlineData("v.imm add rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1.0 s2bcast", "v.imm flags 0x04; v.imm allows only 0x03 (int, s1bcast)")]
    [InlineData("v.act relu rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1.0 nos2 splat", "v.act flags 0x18; v.act allows only 0x0f")]
    [InlineData("v.red sum rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1.0 s1bcast", "v.red flags 0x02; v.red allows only 0x11 (int, splat)")]
    [InlineData("v.cvt fp32->fp16 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1.0 s1bcast", "v.cvt flags 0x02; v.cvt allows only 0x01 (int)")]
    [InlineData("v.mov rows=1 vecs=1 dst=0x0+0 s1=0x0+0 splat", "v.mov flags 0x10; v.mov allows only 0x03")]
    [InlineData("v.fill rows=1 vecs=1 dst=0x0+0 imm=1.0 flags=0x80", "v.fill flags 0x80; v.fill allows only 0x01 (int)")]
    [InlineData("v.act relu rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1.0 nos2 s2bcast", "v.act with both nos2 (0x08) and s2bcast (0x04)")]
    [InlineData("v.act gelu int rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1 nos2", "v.act gelu on int32 lanes; only identity and relu take the int flag")]
    [InlineData("v.cvt fp32->int8 int rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1", "v.cvt fp32->int8 with the int flag; only int8->int32 is integer arithmetic")]
    [InlineData("v.cvt int8->int32 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1.0", "v.cvt int8->int32 without the int flag")]
    public void Vector_flags_are_checked(string line, string message) => Rejected(line, 0, 1, message);

    [Theory]
    [InlineData("v.bin 6 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 s2=0x0+0", 8, "v.bin sub-op 6; it must be 0-5")]
    [InlineData("v.imm 255 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1.0", 8, "v.imm sub-op 255; it must be 0-5")]
    [InlineData("v.act 8 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1.0 nos2", 8, "v.act sub-op 8; it must be 0-7")]
    [InlineData("v.red 3 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1.0", 8, "v.red sub-op 3; it must be 0-2")]
    [InlineData("v.cvt fp32->4 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1.0", 8, "v.cvt sub-op 4; it must be 0-3")]
    [InlineData("v.mov sub=1 rows=1 vecs=1 dst=0x0+0 s1=0x0+0", 8, "v.mov sub-op 1; it must be 0-0")]
    [InlineData("v.fill sub=2 rows=1 vecs=1 dst=0x0+0 imm=1.0", 8, "v.fill sub-op 2")]
    [InlineData("v.cvt 4->fp32 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1.0", 27, "v.cvt from dtype 4; dtypes are 0 int8, 1 fp16, 2 fp32, 3 int32")]
    [InlineData("v.cvt fp32->fp32 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1.0", 8, "v.cvt fp32->fp32: the VPU converts between a 32-bit and a narrow type, or between fp32 and int32")]
    [InlineData("v.cvt int8->fp16 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1.0", 8, "v.cvt int8->fp16: the VPU converts")]
    [InlineData("v.cvt int32->int32 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=1.0", 8, "v.cvt int32->int32")]
    [InlineData("v.cvt fp32->int8 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 zp=128 imm=1.0", 18, "v.cvt zero point 128; an int8 zero point is in [-128, 127]")]
    [InlineData("v.cvt int8->fp32 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 zp=-8388608 imm=1.0", 18, "v.cvt zero point -8388608")]
    [InlineData("v.cvt fp32->fp16 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 zp=1 imm=1.0", 18, "v.cvt fp32->fp16 with zero point 1; only conversions to or from int8 have one")]
    [InlineData("v.cvt fp32->fp16 rows=1 vecs=1 dst=0x0+0 s1=0x0+0 s2stride=4 imm=1.0", 25, "v.cvt has no s2; its s2 stride field is 4 and must be zero")]
    [InlineData("v.bin add rows=1 vecs=1 dst=0x0+0 s1=0x0+0 s2=0x0+0 aux=1", 27, "byte 27 is only used by v.cvt; in v.bin it is 1 and must be zero")]
    [InlineData("v.bin add rows=1 vecs=0 dst=0x0+0 s1=0x0+0 s2=0x0+0", 9, "v.bin of 0 vectors per row")]
    [InlineData("v.bin add rows=0 vecs=1 dst=0x0+0 s1=0x0+0 s2=0x0+0", 10, "v.bin of 0 rows")]
    [InlineData("v.fill rows=1 vecs=1 dst=0x0+0 s1=0x80+0 imm=1.0", 15, "v.fill has no s1; its s1 fields must be zero")]
    [InlineData("v.fill rows=1 vecs=1 dst=0x0+0 s1=0x0+4 imm=1.0", 23, "v.fill has no s1")]
    [InlineData("v.imm add rows=1 vecs=1 dst=0x0+0 s1=0x0+0 s2=0x80+0 imm=1.0", 18, "v.imm has no s2; its s2 fields must be zero")]
    [InlineData("v.red sum rows=1 vecs=1 dst=0x0+0 s1=0x0+0 s2=0x0+4 imm=1.0", 25, "v.red has no s2")]
    [InlineData("v.mov rows=1 vecs=1 dst=0x0+0 s1=0x0+0 s2=0x80+0", 18, "v.mov has no s2")]
    [InlineData("v.act relu rows=1 vecs=1 dst=0x0+0 s1=0x0+0 s2=0x80+0 imm=1.0 nos2", 18, "v.act nos2 has no s2; its s2 fields must be zero")]
    [InlineData("v.bin add rows=1 vecs=1 dst=0x0+0 s1=0x0+0 s2=0x0+0 imm=1.0", 28, "v.bin has no immediate; its field is 0x3f800000 and must be zero")]
    [InlineData("v.mov rows=1 vecs=1 dst=0x0+0 s1=0x0+0 imm=0x1", 28, "v.mov has no immediate")]
    public void Vector_operands_are_checked(string line, int field, string message) => Rejected(line, 0, field, message);

    [Theory]
    [InlineData("v.mov rows=1 vecs=1 dst=0x2+0 s1=0x0+0", 12, "v.mov dst address 0x2 is not a multiple of its 4-byte elements")]
    [InlineData("v.mov rows=1 vecs=1 dst=0x0+2 s1=0x0+0", 21, "v.mov dst row stride 2 is not a multiple of its 4-byte elements")]
    [InlineData("v.mov rows=1 vecs=1 dst=0x0+0 s1=0x81+0", 15, "v.mov s1 address 0x81 is not a multiple")]
    [InlineData("v.mov rows=1 vecs=1 dst=0x0+0 s1=0x80+6", 23, "v.mov s1 row stride 6 is not a multiple")]
    [InlineData("v.bin add rows=1 vecs=1 dst=0x0+0 s1=0x0+0 s2=0x83+0", 18, "v.bin s2 address 0x83 is not a multiple")]
    [InlineData("v.bin add rows=1 vecs=1 dst=0x0+0 s1=0x0+0 s2=0x0+1", 25, "v.bin s2 row stride 1 is not a multiple")]
    [InlineData("v.cvt fp32->fp16 rows=1 vecs=1 dst=0x1+0 s1=0x0+0 imm=1.0", 12, "v.cvt dst address 0x1 is not a multiple of its 2-byte elements")]
    [InlineData("v.cvt fp16->fp32 rows=1 vecs=1 dst=0x0+0 s1=0x0+3 imm=1.0", 23, "v.cvt s1 row stride 3 is not a multiple of its 2-byte elements")]
    [InlineData("v.mov rows=2 vecs=1 dst=0x7ff80+128 s1=0x0+0", 12, "v.mov dst covers [0x7ff80, 0x80080) (2 rows of 128 bytes, stride 128): it runs past the end of the scratchpad (0x80000); an operand may not straddle the scratchpad and the accumulator")]
    [InlineData("v.mov rows=2 vecs=1 dst=0x9ff80+128 s1=0x0+0", 12, "v.mov dst covers [0x9ff80, 0xa0080) (2 rows of 128 bytes, stride 128): it runs past the end of the accumulator (0xa0000)")]
    [InlineData("v.mov rows=1 vecs=1 dst=0xa0000+0 s1=0x0+0", 12, "v.mov dst address 0xa0000 is outside the scratchpad (0x0-0x7ffff) and the accumulator (0x80000-0x9ffff)")]
    [InlineData("v.mov rows=1 vecs=1 dst=0x0+0 s1=0xfffffc+0", 15, "v.mov s1 address 0xfffffc is outside")]
    [InlineData("v.mov rows=65535 vecs=255 dst=0x0+65532 s1=0x0+0", 12, "v.mov dst covers [0x0, 0xfffa7f88) (65535 rows of 32640 bytes, stride 65532)")]
    [InlineData("v.red sum rows=1 vecs=255 dst=0x0+0 s1=0x78100+0 imm=1.0", 15, "v.red s1 covers [0x78100, 0x80080) (1 rows of 32640 bytes")]
    [InlineData("v.red sum rows=2 vecs=1 dst=0x7ff80+4 s1=0x0+0 imm=1.0 splat", 12, "v.red dst covers [0x7ff80, 0x80004) (2 rows of 128 bytes, stride 4)")]
    [InlineData("v.bin add rows=1 vecs=2 dst=0x0+0 s1=0x100+0 s2=0x7ff80+0", 18, "v.bin s2 covers [0x7ff80, 0x80080) (1 rows of 256 bytes")]
    [InlineData("v.bin add rows=1 vecs=2 dst=0x0+0 s1=0x7ff80+0 s2=0x100+0", 15, "v.bin s1 covers [0x7ff80, 0x80080)")]
    [InlineData("v.cvt fp32->int8 rows=1 vecs=3 dst=0x7ffc0+0 s1=0x0+0 imm=1.0", 12, "v.cvt dst covers [0x7ffc0, 0x80020) (1 rows of 96 bytes")]
    [InlineData("v.cvt int8->fp32 rows=1 vecs=1 dst=0x9ff84+0 s1=0x0+0 imm=1.0", 12, "v.cvt dst covers [0x9ff84, 0xa0004)")]
    public void Vector_footprints_are_checked(string line, int field, string message) => Rejected(line, 0, field, message);

    [Theory]
    [InlineData("v.mov rows=1 vecs=1 dst=0x7ff80+0 s1=0x9ff80+0")]
    [InlineData("v.mov rows=2 vecs=1 dst=0x9ff00+128 s1=0x7ff00+128")]
    [InlineData("v.red sum rows=1 vecs=255 dst=0x7fffc+0 s1=0x78080+0 imm=1.0")]
    [InlineData("v.red sum rows=2 vecs=1 dst=0x7ff78+4 s1=0x0+0 imm=1.0")]
    [InlineData("v.bin add rows=1 vecs=2 dst=0x0+0 s1=0x100+0 s2=0x7ff80+0 s2bcast")]
    [InlineData("v.bin add rows=1 vecs=2 dst=0x0+0 s1=0x7ff80+0 s2=0x100+0 s1bcast")]
    [InlineData("v.cvt fp32->int8 rows=1 vecs=2 dst=0x7ffc0+0 s1=0x0+0 imm=1.0")]
    [InlineData("v.cvt fp32->fp16 rows=3 vecs=1 dst=0x7ff40+64 s1=0x0+0 imm=1.0")]
    [InlineData("v.mov rows=65535 vecs=1 dst=0x7ff80+0 s1=0x0+0")]
    public void Vector_footprints_at_the_end_load(string line) => Loads(line);

    // ---------------------------------------------------------------- static synchronization

    [Fact]
    public void A_program_whose_waits_can_never_be_satisfied_is_rejected()
    {
        // Two DMAs each waiting for the other: a classic deadlock. The first wait has no earlier signal.
        const string deadlock = """
            dma.ld ch=0 region=input dram=0x0+0 local=0x0+0 rows=1 bytes=64 pad=0,0 wait=s1>=1 signal=s2
            dma.ld ch=1 region=input dram=0x0+0 local=0x100+0 rows=1 bytes=64 pad=0,0 wait=s2>=1 signal=s1
            """;
        Rejected(deadlock, 0, 4, "dma.ld waits for s1 >= 1, but s1 starts at 0 and only 0 earlier instruction(s) signal it, so it reaches at most 0 before this wait: the wait can never be satisfied (deadlock)");
    }

    [Theory]
    [InlineData("nop wait=s0>=3", 0, "waits for s0 >= 3, but s0 starts at 2 and only 0 earlier")]
    [InlineData("nop wait=s1>=1 signal=s1", 0, "waits for s1 >= 1, but s1 starts at 0")] // its own signal does not count
    [InlineData("wait s1>=1\nsignal s1", 0, "wait waits for s1 >= 1")] // nor does a later one
    [InlineData("wait s1>=1 queue=mxu\nsignal s1", 0, "wait waits for s1 >= 1")]
    [InlineData("signal s1\nsignal s1\nnop wait=s1>=3", 2, "waits for s1 >= 3, but s1 starts at 0 and only 2 earlier instruction(s) signal it, so it reaches at most 2")]
    [InlineData("signal s7\nhalt wait=s7>=3", 1, "halt waits for s7 >= 3, but s7 starts at 1 and only 1 earlier instruction(s) signal it, so it reaches at most 2")]
    public void Static_sync_check(string code, int index, string message) =>
        Rejected(code, index, 4, message, appendHalt: !code.Contains("halt"));

    [Fact]
    public void Waits_reachable_from_initial_values_and_earlier_signals_load()
    {
        Loads("nop wait=s0>=2\nsignal s1\nnop wait=s1>=1 signal=s1\nwait s1>=2 queue=dma2\nnop wait=s7>=1\nnop wait=s3>=0");
    }

    [Fact]
    public void Semaphores_cannot_wrap()
    {
        Rejected(".sem s2 4294967295\nsignal s2", 0, 3, "this signal takes s2 past 4294967295 (it starts at 4294967295): a u32 semaphore would wrap");
        Rejected(".sem s2 4294967294\nsignal s2\nnop signal=s2", 1, 3, "this signal takes s2 past 4294967295 (it starts at 4294967294)");
        Loads(".sem s2 4294967294\nsignal s2\nnop wait=s2>=4294967295");
    }

    // ---------------------------------------------------------------- HALT

    [Fact]
    public void Exactly_one_halt_and_it_is_last()
    {
        Rejected("halt\nnop\nhalt", 0, 0, "HALT at instruction 0 of 3: a program has exactly one HALT and it is the last instruction", appendHalt: false);
        Rejected("nop\nhalt\nhalt", 1, 0, "HALT at instruction 1 of 3", appendHalt: false);
        Rejected("nop\nfence", 1, 0, "the last instruction is fence, not HALT", appendHalt: false);
        Rejected("mark.begin \"a\"\nmark.end \"a\"", 1, 0, "the last instruction is mark, not HALT", appendHalt: false);
    }
}
