using Aot.Npu;
using Aot.Runtime.Npu;
using static Runtime.Tests.Npu.SimProgramBuilder;

namespace Runtime.Tests.Npu;

/// <summary>Closed-form cycle counts of single instructions and small sequences (docs/npu/isa.md, "Timing"). The
/// dispatcher issues instruction k at cycle k at the earliest and a queued instruction may start in the cycle it is
/// dispatched; the run ends when HALT's queues have drained (a lone HALT takes 1 cycle).</summary>
public class SimTimingTests
{
    private static NpuReport Time(SimProgramBuilder b, byte[]? input = null) => SimCheck.Run(b.Build(), input);

    private static SimProgramBuilder Sized(int input = 1 << 16, int output = 1 << 16)
        => new() { InputBytes = input, OutputBytes = output };

    [Fact]
    public void HaltAloneIsOneCycle() => Assert.Equal(1, Time(new SimProgramBuilder()).TotalCycles);

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void NopsTakeOneCycleEach(int count)
    {
        var b = new SimProgramBuilder();
        for (int k = 0; k < count; k++) b.Add(Instruction.Create(Opcode.Nop));
        Assert.Equal(count + 1, Time(b).TotalCycles);
    }

    [Fact]
    public void SignalThenWaitTakeOneCycleEach()
    {
        var b = new SimProgramBuilder();
        b.Add(Instruction.Create(Opcode.Signal).WithSignal(3));
        b.Add(Instruction.Create(Opcode.Wait).WithWait(3, 1));
        var r = Time(b);
        Assert.Equal(3, r.TotalCycles);
        Assert.Equal(0, r[Unit.Dispatcher].Stalled);
    }

    // DMA: 200 + 2 x bursts touched (summed over rows); pad rows cost no port time.
    [Theory]
    [InlineData(0, 64, 1, 64, 0, 0, 1)]      // one aligned burst
    [InlineData(0, 100, 1, 100, 0, 0, 2)]    // a row over two bursts
    [InlineData(32, 64, 1, 64, 0, 0, 2)]     // misaligned row touches two bursts
    [InlineData(0, 128, 4, 100, 0, 0, 8)]    // 4 rows x 2 bursts
    [InlineData(0, 96, 3, 64, 0, 0, 4)]      // stride not a burst multiple: 1 + 2 + 1
    [InlineData(0, 4096, 32, 256, 0, 0, 128)]
    [InlineData(0, 64, 2, 64, 2, 1, 2)]      // pad rows are free
    public void DmaLoadCycles(int offset, int stride, int rows, int rowBytes, int padBefore, int padAfter, int bursts)
    {
        var b = Sized(1 << 20);
        b.Add(Load(0, Region.Input, offset, stride, 0, rowBytes + 64, rows, rowBytes, padBefore, padAfter));
        var r = Time(b);
        Assert.Equal(200 + 2 * bursts, r.TotalCycles);
        Assert.Equal(bursts, r.DramBursts);
        Assert.Equal((long)rows * rowBytes, r.DramBytes);
        Assert.Equal(r.TotalCycles, r[Unit.Dma0].Busy);
    }

    [Theory]
    [InlineData(0, 256, 8, 256, 32)]
    [InlineData(16, 256, 8, 64, 16)]
    public void DmaStoreCycles(int offset, int stride, int rows, int rowBytes, int bursts)
    {
        var b = Sized();
        b.Add(Store(2, Region.Output, offset, stride, 0, rowBytes, rows, rowBytes));
        var r = Time(b);
        Assert.Equal(200 + 2 * bursts, r.TotalCycles);
        Assert.Equal(r.TotalCycles, r[Unit.Dma2].Busy);
    }

    [Fact]
    public void TwoChannelsShareThePortFirstComeFirstServed()
    {
        var b = Sized(1 << 20);
        b.Add(Load(0, Region.Input, 0, 64, 0, 64, 64, 64));          // 64 bursts: port [0, 128)
        b.Add(Load(1, Region.Input, 8192, 64, 65536, 64, 32, 64));   // 32 bursts: issued at 1, port [128, 192)
        var r = Time(b);
        Assert.Equal(200 + 2 * (64 + 32), r.TotalCycles);
        var contention = r[Unit.Dma1].Stalls.Single(s => s.Cause == NpuStallCause.DramPort);
        Assert.Equal(127, contention.Cycles);
    }

    [Fact]
    public void AChannelKeepsFourTransfersInFlight()
    {
        // Five one-burst transfers on one channel: four overlap their latency, the fifth waits for the first to retire.
        var b = Sized();
        for (int k = 0; k < 5; k++) b.Add(Load(0, Region.Input, 64 * k, 64, 64 * k, 64, 1, 64));
        Assert.Equal(2 * (200 + 2), Time(b).TotalCycles);

        // Large transfers are port-bound instead: 200 + 2 x all bursts.
        var big = Sized(1 << 20);
        for (int k = 0; k < 5; k++) big.Add(Load(0, Region.Input, 4096 * k, 64, 4096 * k, 64, 64, 64));
        Assert.Equal(200 + 2 * 5 * 64, Time(big).TotalCycles);
    }

    [Fact]
    public void WeightLoadIs32Cycles()
    {
        var b = new SimProgramBuilder();
        b.Add(Instruction.LoadWeights(NpuDType.Float16, 0, 64, 32, 32));
        var r = Time(b);
        Assert.Equal(32, r.TotalCycles);
        Assert.Equal(32, r[Unit.Mxu].Busy);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(32)]
    [InlineData(128)]
    [InlineData(1024)]
    public void MatmulIsMRowsPlusFillDrain(int m)
    {
        var b = new SimProgramBuilder();
        b.Add(Instruction.LoadWeights(NpuDType.Int8, 0, 32, 32, 32));
        b.Add(Instruction.Matmul(NpuDType.Int8, 0, 32, m, 32, 0, 1, accumulate: false, swapWeights: true));
        var r = Time(b);
        Assert.Equal(32 + m + 64, r.TotalCycles);
        Assert.Equal((long)m * 32 * 32, r.Macs);
        // The weight load is busy work in cycle 0; from its dispatch at 1 the matmul starves for its weights.
        Assert.Equal(new NpuStall(NpuStallCause.WeightsNotLoaded, -1, 31), r[Unit.Mxu].Stalls.Single());
        Assert.Equal(r.TotalCycles - 31, r[Unit.Mxu].Busy);
    }

    [Theory]
    [InlineData(16, 4)]
    [InlineData(32, 4)]
    [InlineData(128, 4)]
    [InlineData(40, 9)]
    public void EachWeightBlockCostsMaxOfMAnd32(int m, int blocks)
    {
        var b = new SimProgramBuilder();
        for (int k = 0; k < blocks; k++)
        {
            b.Add(Instruction.LoadWeights(NpuDType.Float16, (uint)(k * 2048), 64, 32, 32));
            b.Add(Instruction.Matmul(NpuDType.Float16, 0x40000, 64, m, 32, 0, 1, accumulate: k > 0, swapWeights: true));
        }

        Assert.Equal(32 + (blocks - 1) * Math.Max(m, 32) + m + 64, Time(b).TotalCycles);
    }

    [Fact]
    public void MatmulsWithoutSwapReuseTheActiveBlock()
    {
        var b = new SimProgramBuilder();
        b.Add(Instruction.LoadWeights(NpuDType.Int8, 0, 32, 32, 32));
        b.Add(Instruction.Matmul(NpuDType.Int8, 4096, 32, 8, 32, 0, 1, false, true));
        b.Add(Instruction.Matmul(NpuDType.Int8, 8192, 32, 8, 32, 8, 1, false, false));
        Assert.Equal(32 + 8 + 8 + 64, Time(b).TotalCycles);
    }

    [Fact]
    public void SwapWaitsForItsWeightLoad()
    {
        // A matmul on the old block runs while the next block loads; the swapping one waits for the load.
        var b = new SimProgramBuilder();
        b.Add(Instruction.LoadWeights(NpuDType.Int8, 0, 32, 32, 32));                         // [0, 32)
        b.Add(Instruction.Matmul(NpuDType.Int8, 4096, 32, 4, 32, 0, 1, false, true));          // [32, 36)
        b.Add(Instruction.LoadWeights(NpuDType.Int8, 1024, 32, 32, 32));                      // [32, 64)
        b.Add(Instruction.Matmul(NpuDType.Int8, 4096, 32, 4, 32, 4, 1, false, true));          // [64, 68) -> 132
        var r = Time(b);
        Assert.Equal(64 + 4 + 64, r.TotalCycles);
        // Starved [1, 32); during [36, 64) the first matmul still drains (busy).
        Assert.Equal(31, r[Unit.Mxu].Stalls.Single(s => s.Cause == NpuStallCause.WeightsNotLoaded).Cycles);
    }

    [Theory]
    [InlineData(Opcode.VBinary, 0, 4, 2, 1)]
    [InlineData(Opcode.VImmediate, 2, 16, 3, 1)]
    [InlineData(Opcode.VActivation, (int)VActivation.Relu, 7, 5, 1)]
    [InlineData(Opcode.VActivation, (int)VActivation.Exp, 7, 5, 2)]
    [InlineData(Opcode.VActivation, (int)VActivation.Gelu, 3, 1, 2)]
    [InlineData(Opcode.VActivation, (int)VActivation.Reciprocal, 3, 1, 2)]
    [InlineData(Opcode.VReduce, 0, 128, 24, 1)]
    [InlineData(Opcode.VConvert, (int)NpuDType.Float16, 10, 2, 1)]
    [InlineData(Opcode.VMove, 0, 1, 1, 1)]
    [InlineData(Opcode.VFill, 0, 100, 2, 1)]
    public void VectorCycles(Opcode op, int subOp, int rows, int vectors, int c)
    {
        var b = new SimProgramBuilder();
        int rowBytes = vectors * 128;
        b.Add(Instruction.Vector(op, (byte)subOp, rows, vectors, 0x10000, rowBytes, 0, rowBytes, 0x30000, rowBytes,
            flags: op == Opcode.VActivation ? InstructionFlags.VNoS2 : (byte)0, aux: op == Opcode.VConvert ? (byte)NpuDType.Float32 : (byte)0));
        var r = Time(b);
        Assert.Equal(8 + rows * vectors * c, r.TotalCycles);
        Assert.Equal(r.TotalCycles, r[Unit.Vpu].Busy);
    }

    [Fact]
    public void QueuedWaitHoldsOnlyItsQueue()
    {
        var b = new SimProgramBuilder();
        b.Add(Instruction.Create(Opcode.Signal).WithSignal(0));                                // visible at 1
        b.Add(Instruction.QueuedWait(Unit.Vpu, 0, 1));                                         // VPU queue, [1, 2)
        b.Add(Instruction.Vector(Opcode.VFill, 0, 1, 1, 0, 128));                              // [2, 11)
        Assert.Equal(11, Time(b).TotalCycles);
    }

    [Fact]
    public void WaitAtAQueueHeadStartsWhenTheSignalIsVisible()
    {
        var b = Sized();
        b.Add(Load(0, Region.Input, 0, 64, 0, 64, 1, 64).WithSignal(1));                       // visible at 202
        b.Add(Instruction.Vector(Opcode.VFill, 0, 4, 1, 0x10000, 128).WithWait(1, 1));          // [202, 214)
        var r = Time(b);
        Assert.Equal(202 + 8 + 4, r.TotalCycles);
        var vpu = r[Unit.Vpu];
        Assert.Equal(12, vpu.Busy);
        Assert.Equal(201, vpu.Stalled);                                                         // from its dispatch at 1
        Assert.Equal(new NpuStall(NpuStallCause.Semaphore, 1, 201), vpu.Stalls.Single());
        var episode = r.TopStalls.First();
        Assert.Equal(1, episode.Instruction);
        Assert.Equal(0, episode.Releaser);
    }

    [Fact]
    public void DispatcherWaitStopsDispatch()
    {
        var b = Sized();
        b.Add(Load(0, Region.Input, 0, 64, 0, 64, 1, 64).WithSignal(1));                       // visible at 202
        b.Add(Instruction.Create(Opcode.Wait).WithWait(1, 1));                                 // cycle 1, released at 202
        b.Add(Instruction.Create(Opcode.Nop));                                                 // 203
        var r = Time(b);
        Assert.Equal(205, r.TotalCycles);                                                      // HALT at 204
        Assert.Equal(201, r[Unit.Dispatcher].Stalls.Single(s => s.Cause == NpuStallCause.Semaphore).Cycles);
    }

    [Fact]
    public void FenceWaitsForEveryQueue()
    {
        var b = Sized();
        b.Add(Load(3, Region.Input, 0, 64, 0, 64, 1, 64));                                     // visible at 202
        b.Add(Instruction.Create(Opcode.Fence));                                               // cycle 1 -> done at 203
        b.Add(Instruction.Create(Opcode.Nop));                                                 // 203
        var r = Time(b);
        Assert.Equal(205, r.TotalCycles);
        Assert.Equal(201, r[Unit.Dispatcher].Stalls.Single(s => s.Cause == NpuStallCause.Fence).Cycles);
    }

    [Fact]
    public void DispatcherStallsOnAFullQueue()
    {
        var b = new SimProgramBuilder();
        for (int k = 0; k < 40; k++) b.Add(Instruction.Vector(Opcode.VFill, 0, 1, 1, (uint)(k * 128), 128));
        var r = Time(b);
        Assert.Equal(40 * 9, r.TotalCycles);
        var full = r[Unit.Dispatcher].Stalls.Single(s => s.Cause == NpuStallCause.QueueFull);
        Assert.Equal((int)Unit.Vpu, full.Detail);
        Assert.True(full.Cycles > 100);
        Assert.Equal(r.TotalCycles, r[Unit.Vpu].Busy);
    }

    [Fact]
    public void BankConflictCostsTheLaterStarterOneCyclePerRow()
    {
        // A DMA streams into bank 0 during its port time [0, 8); a VPU fill of 4 rows starting at 1 in bank 0 pays
        // one extra cycle per row; the same fill in bank 1 does not.
        foreach (var (dst, extra) in new[] { (0x1000u, 4L), (0x10000u, 0L) })
        {
            var b = Sized();
            b.Add(Load(0, Region.Input, 0, 64, 0, 64, 4, 64));
            b.Add(Instruction.Vector(Opcode.VFill, 0, 4, 1, dst, 128));
            var r = Time(b);
            Assert.Equal(208, r.TotalCycles);
            Assert.Equal(12, r[Unit.Vpu].Busy);
            Assert.Equal(extra, r[Unit.Vpu].Stalls.Where(s => s.Cause == NpuStallCause.BankConflict).Sum(s => s.Cycles));
            Assert.Equal(0, r[Unit.Dma0].Stalled);
        }
    }

    [Fact]
    public void MarkRegionsBreakDownCyclesMacsAndBytes()
    {
        var b = Sized();
        b.Mark("load", false);
        b.Add(Load(0, Region.Input, 0, 64, 0, 32, 32, 32).WithSignal(0));
        b.Mark("load", true);
        b.Mark("compute", false);
        b.Add(Instruction.LoadWeights(NpuDType.Int8, 0, 32, 32, 32).WithWait(0, 1));
        b.Add(Instruction.Matmul(NpuDType.Int8, 0, 32, 32, 32, 0, 1, false, true));
        b.Mark("compute", true);
        var r = Time(b);
        var load = r.Marks.Single(m => m.Name == "load");
        var compute = r.Marks.Single(m => m.Name == "compute");
        Assert.Equal(1, load.Count);
        Assert.Equal(1024, load.DramBytes);
        Assert.Equal(1 + 200 + 2 * 32, load.Cycles);      // begins at 0; the transfer (dispatched at 1) is visible at 265
        Assert.Equal(32 * 32 * 32, compute.Macs);
        Assert.Equal(r.TotalCycles - 3, compute.Cycles);   // begins at 3, ends with the matmul
    }
}
