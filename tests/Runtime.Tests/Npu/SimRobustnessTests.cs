using Aot.Npu;
using Aot.Runtime.Npu;
using static Runtime.Tests.Npu.SimProgramBuilder;

namespace Runtime.Tests.Npu;

/// <summary>The watchdog, deadlock detection, and programs that did not come through the loader: the simulator
/// never touches memory outside its arrays and reports every problem as an NpuRuntimeException.</summary>
public class SimRobustnessTests
{
    [Fact]
    public void DeadlockNamesTheStuckHead()
    {
        var p = new SimProgramBuilder();
        p.Add(Instruction.Vector(Opcode.VFill, 0, 1, 1, 0, 128).WithWait(5, 1));
        var e = Assert.Throws<NpuWatchdogException>(() => new NpuSimulator(p.Build()).Run());
        Assert.Contains("deadlock", e.Message);
        Assert.Contains(e.StuckHeads, h => h.StartsWith("VPU head #0") && h.Contains("waits s5 >= 1 (s5 = 0)"));
        Assert.Equal(1, e.Cycle);
    }

    [Fact]
    public void DispatcherWaitThatNeverComesIsReported()
    {
        var p = new SimProgramBuilder();
        p.Add(Instruction.Create(Opcode.Signal).WithSignal(2));
        p.Add(Instruction.Create(Opcode.Wait).WithWait(2, 2));
        var e = Assert.Throws<NpuWatchdogException>(() => new NpuSimulator(p.Build()).Run());
        Assert.Contains(e.StuckHeads, h => h.StartsWith("dispatcher at #1") && h.Contains("s2 = 1"));
    }

    [Fact]
    public void WatchdogStopsALongRun()
    {
        var p = new SimProgramBuilder();
        p.Add(Instruction.Vector(Opcode.VFill, 0, 4096, 1, 0, 128));                 // 4104 cycles
        p.Add(Instruction.Vector(Opcode.VFill, 0, 1, 1, 0, 128));                    // queued behind it
        var sim = new NpuSimulator(p.Build(), new NpuSimulatorOptions { MaxCycles = 1000 });
        var e = Assert.Throws<NpuWatchdogException>(() => sim.Run());
        Assert.Equal(1000, e.Cycle);
        Assert.Contains("watchdog", e.Message);
        Assert.Contains(e.StuckHeads, h => h.StartsWith("VPU head #1"));
        Assert.Equal(4104 + 9, new NpuSimulator(p.Build(), new NpuSimulatorOptions { MaxCycles = 5000 }).Run().TotalCycles);
    }

    public static IEnumerable<object[]> BadPrograms()
    {
        yield return new object[] { "outside INPUT", Load(0, Region.Input, 100, 64, 0, 64, 2, 64) };
        yield return new object[] { "outside the scratchpad", Load(0, Region.Input, 0, 64, 0x7FFC0, 64, 2, 64) };
        yield return new object[] { "read-only", Store(0, Region.Const, 0, 64, 0, 64, 1, 64) };
        yield return new object[] { "channel 4", Load(4, Region.Input, 0, 64, 0, 64, 1, 64) };
        yield return new object[] { "region 7", Load(0, (Region)7, 0, 64, 0, 64, 1, 64) };
        yield return new object[] { "not inside the scratchpad or inside the accumulator", Instruction.Vector(Opcode.VMove, 0, 2, 1, 0x7FF80, 128, 0, 128) };
        yield return new object[] { "not inside", Instruction.Vector(Opcode.VFill, 0, 1, 1, 0x9FFC0, 128) };
        yield return new object[] { "accumulator rows reach 1024", Instruction.Matmul(NpuDType.Int8, 0, 32, 2, 32, 1023, 1, false, true) };
        yield return new object[] { "MXU dtype f32", Instruction.LoadWeights(NpuDType.Float32, 0, 32, 32, 32) };
        yield return new object[] { "block 33x32", Instruction.LoadWeights(NpuDType.Int8, 0, 32, 33, 32) };
        yield return new object[] { "unknown opcode", Instruction.Create((Opcode)0x7F) };
        yield return new object[] { "semaphore 40", Instruction.Create(Opcode.Signal).WithSignal(40) };
        yield return new object[] { "MARK end", Instruction.Mark(0, end: true) };
        yield return new object[] { "V_CVT from i8 to f16", Instruction.Vector(Opcode.VConvert, (byte)NpuDType.Float16, 1, 1, 0, 128, 0x1000, 128, aux: (byte)NpuDType.Int8) };
        yield return new object[] { "identity and relu", Instruction.Vector(Opcode.VActivation, (byte)VActivation.Exp, 1, 1, 0, 128, 0, 128, flags: InstructionFlags.VInt) };
        yield return new object[] { "sub-op 9", Instruction.Vector(Opcode.VBinary, 9, 1, 1, 0, 128, 0, 128) };
    }

    [Theory]
    [MemberData(nameof(BadPrograms))]
    public void BadInstructionsAreRejectedBeforeRunning(string expected, Instruction bad)
    {
        var p = new SimProgramBuilder { InputBytes = 128 };
        p.Add(Instruction.Create(Opcode.Nop));
        p.Add(bad);
        var e = Assert.Throws<NpuRuntimeException>(() => new NpuSimulator(p.Build()));
        Assert.Contains(expected, e.Message);
        Assert.Equal(1, e.InstructionIndex);
    }

    [Fact]
    public void MissingHaltAndMissingWeightsAreErrors()
    {
        var noHalt = new NpuProgram(new[] { Instruction.Create(Opcode.Nop) }, Array.Empty<byte>(), 0, 0, 0, Array.Empty<NpuSymbol>(), new uint[32], new[] { "" });
        Assert.Contains("no HALT", Assert.Throws<NpuRuntimeException>(() => new NpuSimulator(noHalt)).Message);

        var p = new SimProgramBuilder();
        p.Add(Instruction.Matmul(NpuDType.Int8, 0, 32, 1, 32, 0, 1, false, swapWeights: false));
        Assert.Contains("without active weights", Assert.Throws<NpuRuntimeException>(() => new NpuSimulator(p.Build()).Run()).Message);

        var dtype = new SimProgramBuilder();
        dtype.Add(Instruction.LoadWeights(NpuDType.Int8, 0, 32, 32, 32));
        dtype.Add(Instruction.Matmul(NpuDType.Float16, 0, 32, 1, 32, 0, 1, false, swapWeights: true));
        Assert.Contains("does not match", Assert.Throws<NpuRuntimeException>(() => new NpuSimulator(dtype.Build()).Run()).Message);
    }

    [Fact]
    public void InputsAndOutputsBySymbol()
    {
        var p = new SimProgramBuilder { InputBytes = 256, OutputBytes = 256 };
        p.Symbols.Add(new NpuSymbol("x", Region.Input, NpuDType.Float32, 128, 128, new[] { 32 }, 1, 0));
        p.Symbols.Add(new NpuSymbol("y", Region.Output, NpuDType.Float32, 0, 128, new[] { 32 }, 1, 0));
        p.Add(Load(0, Region.Input, 128, 128, 0, 128, 1, 128).WithSignal(0));
        p.Add(Instruction.Vector(Opcode.VImmediate, (byte)VBinaryOp.Add, 1, 1, 0, 128, 0, 128, imm: Instruction.BitsOf(1f)).WithWait(0, 1).WithSignal(1));
        p.Add(Store(1, Region.Output, 0, 128, 0, 128, 1, 128).WithWait(1, 1));
        var sim = new NpuSimulator(p.Build());
        var x = Enumerable.Range(0, 32).Select(i => (float)i).ToArray();
        sim.SetInput("x", SimCheck.Bytes<float>(x));
        Assert.Throws<NpuRuntimeException>(() => sim.SetInput("x", new byte[4]));
        Assert.Throws<NpuRuntimeException>(() => sim.SetInput("y", new byte[128]));
        Assert.Throws<NpuRuntimeException>(() => sim.GetOutput("z"));
        sim.Run();
        Assert.Equal(x.Select(v => v + 1).ToArray(), SimCheck.Values<float>(sim.GetOutput("y")));
    }

    /// <summary>Plausible random instructions (valid and invalid fields mixed): every program either runs, or fails
    /// with an NpuRuntimeException (bad instruction, deadlock, watchdog); nothing else escapes, nothing hangs.</summary>
    [Fact]
    public void RandomProgramsNeverCrashOrHang()
    {
        var random = new Random(4242);
        int ran = 0, rejected = 0, stuck = 0;
        for (int program = 0; program < 1000; program++)
        {
            var p = new SimProgramBuilder { InputBytes = 8192, OutputBytes = 8192, WorkspaceBytes = 8192, Constants = new byte[8192] };
            random.NextBytes(p.Constants);
            p.SemInit[random.Next(8)] = (uint)random.Next(3);
            int count = random.Next(1, 30);
            int marks = 0;
            for (int k = 0; k < count; k++) p.Add(RandomInstruction(random, ref marks));
            var input = new byte[8192];
            random.NextBytes(input);
            try
            {
                var sim = new NpuSimulator(p.Build(), new NpuSimulatorOptions { MaxCycles = 200_000, CheckRaces = true });
                input.CopyTo(sim.Input);
                var report = sim.Run();
                SimCheck.Invariants(report);
                report.WriteChromeTrace(Stream.Null);
                ran++;
            }
            catch (NpuWatchdogException)
            {
                stuck++;
            }
            catch (NpuRuntimeException e)
            {
                rejected++;
                Assert.False(string.IsNullOrEmpty(e.Message));
            }
        }

        Assert.True(ran > 30 && rejected > 30 && stuck > 30, $"ran {ran}, rejected {rejected}, stuck {stuck}");
    }

    private static Instruction RandomInstruction(Random r, ref int marks)
    {
        bool rare = r.Next(20) == 0;
        Instruction i;
        switch (r.Next(12))
        {
            case 0:
                i = Instruction.Create(new[] { Opcode.Nop, Opcode.Fence, Opcode.Signal }[r.Next(3)]);
                if (i.Op == Opcode.Signal) i = i.WithSignal(r.Next(8));
                break;
            case 1:
                i = Instruction.Create(Opcode.Wait, (byte)(rare ? 9 : r.Next(7))).WithWait(r.Next(8), (uint)r.Next(3));
                break;
            case 2:
                i = Instruction.Mark(0, rare || (marks > 0 && r.Next(2) == 0));
                marks += i.Flags == 0 ? 1 : -1;
                break;
            case 3:
            case 4:
                bool load = r.Next(2) == 0;
                i = Instruction.Dma(load, rare ? 5 : r.Next(4), (Region)(rare ? r.Next(6) : load ? r.Next(4) : r.Next(2, 4)), (uint)r.Next(rare ? 9000 : 4096), (uint)r.Next(512),
                    (uint)r.Next(rare ? 0x80000 : 0x7E000), (uint)r.Next(512), r.Next(rare ? 0 : 1, 9), r.Next(1, 300), load || rare ? r.Next(3) : 0, load ? r.Next(3) : 0);
                break;
            case 5:
            case 6:
                i = Instruction.LoadWeights((NpuDType)(rare ? 2 : r.Next(2)), (uint)r.Next(0x70000), (uint)r.Next(512), r.Next(1, rare ? 40 : 33), r.Next(1, 33), r.Next(2) == 0);
                break;
            case 7:
            case 8:
                i = Instruction.Matmul((NpuDType)r.Next(2), (uint)r.Next(0x70000), (uint)r.Next(512), r.Next(1, 65), r.Next(1, 33), r.Next(rare ? 1024 : 700), r.Next(5),
                    r.Next(2) == 0, r.Next(3) != 0);
                break;
            default:
                var op = (Opcode)r.Next((int)Opcode.VBinary, (int)Opcode.VFill + 1);
                uint Address() => rare ? (uint)r.Next(0xA0000) : r.Next(2) == 0 ? (uint)r.Next(0x70000) : (uint)(0x80000 + r.Next(0x18000));
                int sub = rare ? r.Next(12) : op is Opcode.VMove or Opcode.VFill ? 0 : op == Opcode.VConvert ? new[] { 0, 1, 2, 3 }[r.Next(4)] : r.Next(3);
                int aux = op != Opcode.VConvert ? 0 : rare ? r.Next(4) : sub < 2 ? r.Next(2, 4) : sub == 2 ? new[] { 0, 1, 3 }[r.Next(3)] : new[] { 0, 1, 2 }[r.Next(3)];
                i = Instruction.Vector(op, (byte)sub, r.Next(1, 9), r.Next(rare ? 0 : 1, 5),
                    Address(), r.Next(1025), Address(), r.Next(1025), op == Opcode.VConvert ? (uint)r.Next(-5, 5) & 0xFFFFFF : Address(), r.Next(1025),
                    (byte)(r.Next(32) & (rare ? 0xFF : 0x1E)), (uint)r.Next(), (byte)aux);
                break;
        }

        if (r.Next(6) == 0 && i.Op != Opcode.Wait) i = i.WithWait(r.Next(8), (uint)r.Next(2));
        if (r.Next(3) == 0 && i.Op != Opcode.Signal) i = i.WithSignal(r.Next(8));
        return i;
    }
}
