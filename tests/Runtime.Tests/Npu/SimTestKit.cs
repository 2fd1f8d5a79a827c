using System.Runtime.InteropServices;
using Aot.Npu;
using Aot.Runtime.Npu;

namespace Runtime.Tests.Npu;

/// <summary>Builds NpuPrograms for simulator tests (directly through the internal constructor) and checks the
/// report invariants every test program must satisfy.</summary>
internal sealed class SimProgramBuilder
{
    public readonly List<Instruction> Code = new();
    private readonly Dictionary<int, string> _marks = new();
    public byte[] Constants = Array.Empty<byte>();
    public int InputBytes, OutputBytes;
    public int WorkspaceBytes { get; set; }
    public readonly uint[] SemInit = new uint[NpuTarget.Semaphores];
    public readonly List<NpuSymbol> Symbols = new();

    public int Add(Instruction i)
    {
        Code.Add(i);
        return Code.Count - 1;
    }

    public void Mark(string name, bool end)
    {
        _marks[Code.Count] = name;
        Add(Instruction.Mark((uint)_marks.Count, end));
    }

    public NpuProgram Build()
    {
        var code = new List<Instruction>(Code);
        if (code.Count == 0 || code[^1].Op != Opcode.Halt) code.Add(Instruction.Halt());
        var names = new string[code.Count];
        for (int k = 0; k < names.Length; k++) names[k] = _marks.TryGetValue(k, out var n) ? n : "";
        return new NpuProgram(code.ToArray(), Constants, InputBytes, OutputBytes, WorkspaceBytes, Symbols.ToArray(), (uint[])SemInit.Clone(), names);
    }

    /// <summary>The same program the way production gets it: NpuBinaryWriter -> bytes -> NpuLoader.Load (so it must
    /// pass every loader check).</summary>
    public NpuProgram BuildLoaded()
    {
        var w = new NpuBinaryWriter
        {
            Constants = Constants, InputBytes = (uint)InputBytes, OutputBytes = (uint)OutputBytes, WorkspaceBytes = (uint)WorkspaceBytes,
        };
        for (int k = 0; k < Code.Count; k++)
        {
            if (Code[k].Op == Opcode.Mark) w.Mark(_marks[k], (Code[k].Flags & InstructionFlags.MarkEnd) != 0);
            else w.Code.Add(Code[k]);
        }

        if (w.Code.Count == 0 || w.Code[^1].Op != Opcode.Halt) w.Code.Add(Instruction.Halt());
        SemInit.CopyTo(w.SemaphoreInit, 0);
        foreach (var s in Symbols) w.Symbols.Add(new NpuSymbolDefinition(s.Name, s.Region, s.DType, (uint)s.Offset, s.Shape, s.Scale, s.ZeroPoint));
        return NpuLoader.Load(w.ToArray());
    }

    public static Instruction Load(int channel, Region region, long dram, long dramStride, long local, long localStride, int rows, int rowBytes, int padBefore = 0, int padAfter = 0) =>
        Instruction.Dma(true, channel, region, (uint)dram, (uint)dramStride, (uint)local, (uint)localStride, rows, rowBytes, padBefore, padAfter);

    public static Instruction Store(int channel, Region region, long dram, long dramStride, long local, long localStride, int rows, int rowBytes) =>
        Instruction.Dma(false, channel, region, (uint)dram, (uint)dramStride, (uint)local, (uint)localStride, rows, rowBytes);
}

internal static class SimCheck
{
    /// <summary>Runs the program (race checker on unless told otherwise) and asserts the report invariants.</summary>
    public static NpuReport Run(NpuProgram program, byte[]? input = null, bool races = true, Action<NpuSimulator>? after = null)
    {
        var sim = new NpuSimulator(program, new NpuSimulatorOptions { CheckRaces = races });
        input?.CopyTo(sim.Input);
        var report = sim.Run();
        Invariants(report);
        after?.Invoke(sim);
        return report;
    }

    public static void Invariants(NpuReport r)
    {
        Assert.Equal(7, r.Units.Count);
        foreach (var u in r.Units)
        {
            Assert.True(u.Busy >= 0 && u.Stalled >= 0 && u.Idle >= 0, $"{u.Name}: {u.Busy}/{u.Stalled}/{u.Idle}");
            Assert.Equal(r.TotalCycles, u.Busy + u.Stalled + u.Idle);
            Assert.Equal(u.Stalled, u.Stalls.Sum(s => s.Cycles));
        }

        Assert.True(r.TotalCycles >= (r.Macs + NpuTarget.MacsPerCycle - 1) / NpuTarget.MacsPerCycle, "cycles >= MACs/1024");
        Assert.True(r.TotalCycles * NpuTarget.DramBytesPerCycle >= r.DramBytes, "cycles >= DRAM bytes/32");
        Assert.True(r.TotalCycles >= r.DramPortCycles, "cycles >= DRAM port cycles");
        Assert.True(r.RooflineCycles <= r.TotalCycles);
        Assert.True(r.MxuUtilization <= 1.0);
        Assert.Equal(r.Instructions, r[Unit.Dispatcher].Instructions);
        Assert.False(string.IsNullOrEmpty(r.Format()));
    }

    public static byte[] Bytes<T>(ReadOnlySpan<T> values) where T : struct => MemoryMarshal.AsBytes(values).ToArray();

    public static T[] Values<T>(ReadOnlySpan<byte> bytes) where T : struct => MemoryMarshal.Cast<byte, T>(bytes).ToArray();

    public static ushort HalfBits(float f) => BitConverter.HalfToUInt16Bits((Half)f);

    public static float FromHalfBits(ushort b) => (float)BitConverter.UInt16BitsToHalf(b);
}

internal static class SimPipelines
{
    public const int TileBytes = 4096;

    /// <summary>
    /// A double-buffered stream: tile t (32 rows x 128 bytes of fp32) is loaded by DMA0 into in[t % 2], doubled by the
    /// VPU into out[t % 2], and stored by DMA1. Credits: a load waits until the VPU finished the tile two back (s2);
    /// the VPU waits for its load (s0) and, with <paramref name="outputCredit"/>, for the store two back (s3, a queued
    /// WAIT); a store waits for the VPU (s2). Without the output credit the VPU can overwrite out[t % 2] while the
    /// store of tile t - 2 still reads it: a race.
    /// </summary>
    public static NpuProgram DoubleBuffered(int tiles, bool outputCredit, bool marks = false)
    {
        var p = new SimProgramBuilder { InputBytes = tiles * TileBytes, OutputBytes = tiles * TileBytes };
        for (int t = 0; t < tiles; t++)
        {
            uint inBuf = (uint)(t % 2 * TileBytes), outBuf = (uint)(0x10000 + t % 2 * TileBytes);
            if (marks) p.Mark("tile", false);
            var ld = SimProgramBuilder.Load(0, Region.Input, t * TileBytes, 128, inBuf, 128, 32, 128).WithSignal(0);
            p.Add(t >= 2 ? ld.WithWait(2, (uint)(t - 1)) : ld);
            if (outputCredit && t >= 2) p.Add(Instruction.QueuedWait(Unit.Vpu, 3, (uint)(t - 1)));
            p.Add(Instruction.Vector(Opcode.VImmediate, (byte)VBinaryOp.Mul, 32, 1, outBuf, 128, inBuf, 128, imm: Instruction.BitsOf(2f))
                .WithWait(0, (uint)(t + 1)).WithSignal(2));
            p.Add(SimProgramBuilder.Store(1, Region.Output, t * TileBytes, 128, outBuf, 128, 32, 128).WithWait(2, (uint)(t + 1)).WithSignal(3));
            if (marks) p.Mark("tile", true);
        }

        return p.BuildLoaded();
    }

    public static byte[] RandomFloats(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int k = 0; k < count; k++) values[k] = (float)(random.NextDouble() * 10 - 5);
        return SimCheck.Bytes<float>(values);
    }
}
