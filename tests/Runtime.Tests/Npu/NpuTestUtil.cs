using System.Buffers.Binary;
using Aot.Npu;
using Aot.Runtime.Npu;

namespace Aot.Runtime.Tests.Npu;

/// <summary>Valid NPU-1 programs and helpers to take binaries apart, patch them and make their CRCs right again.</summary>
internal static class NpuTestUtil
{
    /// <summary>Directives shared by the test programs: every region non-empty, two semaphores with initial values.</summary>
    public const string Prologue = """
        .const 4096
        .region input 8192
        .region output 4096
        .region workspace 65536
        .sem s0 2
        .sem s7 1
        """;

    /// <summary>
    /// Every opcode, every flag the loader accepts, every region, dtype, conversion and queue, nested marks, waits
    /// on initial values and on earlier signals. Each instruction line is in the disassembler's canonical form.
    /// </summary>
    public const string KitchenSinkCode = """
        mark.begin "all"
        dma.ld ch=0 region=input dram=0x0+128 local=0x0+128 rows=32 bytes=128 pad=0,0 signal=s1
        dma.ld ch=1 region=const dram=0x0+32 local=0x2000+32 rows=32 bytes=32 pad=1,1 wait=s0>=1 signal=s2
        dma.ld ch=2 region=workspace dram=0x0+0 local=0x3000+64 rows=4 bytes=64 pad=0,0
        wait s1>=1
        wait s2>=1 queue=mxu
        mark.begin "gemm"
        mxu.lw fp16 w=0x0+128 k=32 n=32
        mxu.mm fp16 a=0x0+128 m=32 k=32 acc=0+1 swap
        mxu.lw fp16 w=0x0+128 k=32 n=32 transpose
        mxu.mm fp16 a=0x0+128 m=32 k=32 acc=32+1 swap accumulate
        mxu.mm fp16 a=0x40+128 m=32 k=16 acc=64+1 signal=s3
        mxu.lw int8 w=0x2020+32 k=32 n=32
        mxu.mm int8 a=0x2020+32 m=32 k=32 acc=96+2 swap signal=s3
        mark.end "gemm"
        v.bin add rows=32 vecs=1 dst=0x80000+128 s1=0x80000+128 s2=0x10000+0 s2bcast wait=s3>=2
        v.bin mac int rows=2 vecs=2 dst=0x11000+256 s1=0x12000+0 s2=0x13000+128 s1bcast
        v.imm mul rows=32 vecs=1 dst=0x80000+128 s1=0x80000+128 imm=0.5
        v.imm max int rows=1 vecs=1 dst=0x14000+0 s1=0x14000+0 imm=-7 s1bcast
        v.act gelu rows=32 vecs=1 dst=0x80000+128 s1=0x80000+128 s2=0x10000+0 imm=1.0 s2bcast
        v.act relu int rows=1 vecs=1 dst=0x20000+0 s1=0x20000+0 imm=1 nos2
        v.act exp rows=4 vecs=24 dst=0x80000+3072 s1=0x30000+3072 s2=0x38000+3072 imm=-1.5E-05
        v.act sigmoid rows=1 vecs=1 dst=0x15000+0 s1=0x15000+0 imm=1.0 nos2
        v.red sum rows=32 vecs=1 dst=0x30000+4 s1=0x80000+128 imm=1.0
        v.red sumsq rows=32 vecs=1 dst=0x31000+128 s1=0x80000+128 imm=0.0013020834 splat
        v.red max int rows=2 vecs=3 dst=0x32000+4 s1=0x33000+384 imm=1
        v.cvt fp32->fp16 rows=32 vecs=1 dst=0x40000+64 s1=0x80000+128 imm=1.0
        v.cvt fp32->int8 rows=32 vecs=1 dst=0x41000+32 s1=0x80000+128 zp=-3 imm=0.25
        v.cvt int8->int32 int rows=32 vecs=1 dst=0x42000+128 s1=0x41000+32 zp=-3 imm=1
        v.cvt fp16->fp32 rows=32 vecs=1 dst=0x43000+128 s1=0x40000+64 imm=2.0
        v.cvt int32->fp32 rows=1 vecs=1 dst=0x44000+0 s1=0x42000+0 imm=1.0
        v.cvt fp32->int32 rows=1 vecs=1 dst=0x44080+0 s1=0x43000+0 imm=1.0
        v.mov rows=32 vecs=1 dst=0x50000+128 s1=0x80000+128 signal=s4
        v.mov int rows=4 vecs=2 dst=0x51000+256 s1=0x52000+128 s1bcast
        v.fill rows=1 vecs=4 dst=0x60000+0 imm=0.0
        v.fill int rows=2 vecs=1 dst=0x9ff00+128 imm=-1
        fence
        signal s5
        nop wait=s5>=1
        dma.st ch=3 region=output dram=0x0+128 local=0x50000+128 rows=8 bytes=128 wait=s4>=1 signal=s6
        dma.st ch=0 region=workspace dram=0x100+0 local=0x44000+0 rows=1 bytes=4
        wait s7>=1 queue=dma3
        wait s6>=1 queue=vpu
        mark.end "all"
        halt wait=s6>=1
        """;

    public const string KitchenSinkSymbols = """
        .symbol "x" region=input offset=0x0 dtype=fp16 shape=[32,64]
        .symbol "w" region=const offset=0x0 dtype=int8 shape=[32,32] scale=0.05 zp=-1
        .symbol "img" region=input offset=0x1000 dtype=fp16 shape=[1,3,4,4] layout=channels-last
        .symbol "y" region=output offset=0x0 dtype=fp32 shape=[8,32]
        .symbol "s" region=workspace offset=0x100 dtype=int32 shape=[]
        .debug "kitchen sink: every opcode"
        """;

    public static NpuBinaryWriter KitchenSinkWriter()
    {
        var writer = NpuAssembler.Assemble(Prologue + "\n" + KitchenSinkSymbols + "\n" + KitchenSinkCode);
        var constants = new byte[4096];
        for (int i = 0; i < constants.Length; i++) constants[i] = (byte)(i * 7 + 3);
        writer.Constants = constants;
        return writer;
    }

    public static byte[] KitchenSink() => KitchenSinkWriter().ToArray();

    /// <summary>A binary of <see cref="Prologue"/> and the given code (a HALT is not added).</summary>
    public static byte[] Program(string code) => NpuAssembler.AssembleBinary(Prologue + "\n" + code);

    public static uint U32(byte[] file, long at) => BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan((int)at, 4));

    public static void PutU32(byte[] file, long at, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan((int)at, 4), value);

    public static void PutU16(byte[] file, long at, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan((int)at, 2), value);

    public static long TableOffset(byte[] file) => U32(file, NpuContainer.HeaderTableOffset);

    public static int SectionCount(byte[] file) => (int)U32(file, NpuContainer.HeaderSectionCountOffset);

    public static long EntryOffset(byte[] file, int entry) => TableOffset(file) + (long)entry * NpuContainer.SectionEntrySize;

    /// <summary>The table entry index of the first section of <paramref name="kind"/>.</summary>
    public static int Entry(byte[] file, NpuSectionKind kind)
    {
        for (int e = 0; e < SectionCount(file); e++)
        {
            if (U32(file, EntryOffset(file, e)) == (uint)kind) return e;
        }

        throw new InvalidOperationException($"no {kind} section");
    }

    public static long SectionOffset(byte[] file, NpuSectionKind kind) => U32(file, EntryOffset(file, Entry(file, kind)) + NpuContainer.EntryOffsetOffset);

    public static long SectionSize(byte[] file, NpuSectionKind kind) => U32(file, EntryOffset(file, Entry(file, kind)) + NpuContainer.EntrySizeOffset);

    /// <summary>Offset of instruction <paramref name="index"/>'s word.</summary>
    public static long InstructionOffset(byte[] file, int index) => SectionOffset(file, NpuSectionKind.Code) + 32L * index;

    /// <summary>Recomputes every in-bounds section's CRC and then the table's, so a patch reaches the checks behind the CRCs.</summary>
    public static void FixCrcs(byte[] file)
    {
        long table = TableOffset(file);
        long count = SectionCount(file);
        if (table + count * 32 > file.Length) return;
        for (int e = 0; e < count; e++)
        {
            long at = table + e * 32L;
            long offset = U32(file, at + NpuContainer.EntryOffsetOffset), size = U32(file, at + NpuContainer.EntrySizeOffset);
            if (offset + size <= file.Length) PutU32(file, at + NpuContainer.EntryCrcOffset, NpuCrc32.Compute(file.AsSpan((int)offset, (int)size)));
        }

        PutU32(file, NpuContainer.HeaderTableCrcOffset, NpuCrc32.Compute(file.AsSpan((int)table, (int)(count * 32))));
    }

    /// <summary>Loads and expects the loader to reject the file; returns the exception.</summary>
    public static NpuBinaryException Rejects(byte[] file)
    {
        var e = Assert.Throws<NpuBinaryException>(() => NpuLoader.Load(file));
        Assert.Null(e.InnerException);
        return e;
    }

    /// <summary>
    /// Loads with a timeout guard: the load runs on a worker thread (one per calling thread, not the thread pool, so
    /// that parallel tests cannot starve it) and must finish within <paramref name="timeout"/>. Returns the program,
    /// or null with the loader's exception; any other exception, or a wrapped loader defect, fails the test.
    /// </summary>
    public static NpuProgram? LoadGuarded(byte[] file, out NpuBinaryException? error, TimeSpan? timeout = null)
    {
        s_guard ??= new LoadGuard();
        return s_guard.Load(file, out error, timeout ?? TimeSpan.FromSeconds(10));
    }

    [ThreadStatic]
    private static LoadGuard? s_guard;

    private sealed class LoadGuard
    {
        private readonly SemaphoreSlim _go = new(0), _done = new(0);
        private byte[] _file = Array.Empty<byte>();
        private NpuProgram? _program;
        private Exception? _error;

        public LoadGuard()
        {
            new Thread(Loop) { IsBackground = true, Name = "NPU loader fuzz worker" }.Start();
        }

        private void Loop()
        {
            while (true)
            {
                _go.Wait();
                try
                {
                    _program = NpuLoader.Load(_file);
                    _error = null;
                }
                catch (Exception e)
                {
                    _program = null;
                    _error = e;
                }

                _done.Release();
            }
        }

        public NpuProgram? Load(byte[] file, out NpuBinaryException? error, TimeSpan timeout)
        {
            _file = file;
            _go.Release();
            // A hung load leaves the worker stuck (it is a background thread) and fails this test.
            if (!_done.Wait(timeout)) throw new TimeoutException($"the loader did not finish within {timeout} on a {file.Length}-byte file");
            if (_error is not null and not NpuBinaryException) throw new Xunit.Sdk.XunitException("the loader threw " + _error);
            error = (NpuBinaryException?)_error;
            if (error?.InnerException is not null) throw new Xunit.Sdk.XunitException("loader defect: " + error.InnerException);
            return _program;
        }
    }
}

internal static class NpuSections
{
    /// <summary>The sections of a valid file, in table order, to rebuild containers the writer would never make.</summary>
    public static List<NpuSection> Of(byte[] file)
    {
        var list = new List<NpuSection>();
        for (int e = 0; e < NpuTestUtil.SectionCount(file); e++)
        {
            long at = NpuTestUtil.EntryOffset(file, e);
            uint kind = NpuTestUtil.U32(file, at), flags = NpuTestUtil.U32(file, at + 4), offset = NpuTestUtil.U32(file, at + 8);
            uint size = NpuTestUtil.U32(file, at + 12), alignment = NpuTestUtil.U32(file, at + 16);
            list.Add(new NpuSection(kind, flags, alignment, file.AsSpan((int)offset, (int)size).ToArray()));
        }

        return list;
    }

    public static byte[] Replace(byte[] file, NpuSectionKind kind, byte[] data)
    {
        var list = Of(file);
        int i = list.FindIndex(s => s.Kind == (uint)kind);
        list[i] = new NpuSection(list[i].Kind, list[i].Flags, list[i].Alignment, data);
        return NpuBinaryWriter.WriteContainer(list);
    }

    public static byte[] Without(byte[] file, NpuSectionKind kind)
    {
        var list = Of(file);
        list.RemoveAll(s => s.Kind == (uint)kind);
        return NpuBinaryWriter.WriteContainer(list);
    }
}
