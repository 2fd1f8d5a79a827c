using Aot.Npu;
using Aot.Runtime.Npu;
using static Runtime.Tests.Npu.SimProgramBuilder;

namespace Runtime.Tests.Npu;

/// <summary>The happens-before race checker: a missing wait is reported (and its stale data is visible, since effects
/// land in time order); correct double buffering is silent; a wait satisfied by the wrong signal does not count.</summary>
public class SimRaceTests
{
    private static NpuProgram LoadThenMove(bool wait)
    {
        var p = new SimProgramBuilder { InputBytes = 128 };
        p.Add(Load(0, Region.Input, 0, 128, 0, 128, 1, 128).WithSignal(0));
        var mov = Instruction.Vector(Opcode.VMove, 0, 1, 1, 0x10000, 128, 0, 128);
        p.Add(wait ? mov.WithWait(0, 1) : mov);
        return p.BuildLoaded(); // the loader accepts a missing wait: only the race checker can see it
    }

    [Fact]
    public void MissingWaitIsReportedAndReadsStaleData()
    {
        var input = Enumerable.Range(1, 128).Select(b => (byte)b).ToArray();
        byte[] moved = Array.Empty<byte>();
        var report = SimCheck.Run(LoadThenMove(wait: false), input, after: sim => moved = sim.Local.Slice(0x10000, 128).ToArray());
        var race = Assert.Single(report.Races);
        Assert.Equal(1, report.RaceCount);
        Assert.Equal(new[] { 0, 1 }, new[] { race.First, race.Second }.Order());
        Assert.Equal("scratchpad", race.Memory);
        Assert.Equal(0, race.Address);
        Assert.False(race.BothWrite);
        Assert.All(moved, b => Assert.Equal(0, b)); // the VPU ran before the data arrived
        Assert.Contains("Races: 1", report.Format());

        var fixedReport = SimCheck.Run(LoadThenMove(wait: true), input, after: sim => moved = sim.Local.Slice(0x10000, 128).ToArray());
        Assert.Equal(0, fixedReport.RaceCount);
        Assert.Equal(input, moved);
    }

    [Fact]
    public void DoubleBufferingWithCreditsIsSilent()
    {
        const int tiles = 8;
        var input = SimPipelines.RandomFloats(tiles * SimPipelines.TileBytes / 4, 5);
        float[] output = Array.Empty<float>();
        var report = SimCheck.Run(SimPipelines.DoubleBuffered(tiles, outputCredit: true), input, after: sim => output = SimCheck.Values<float>(sim.Output));
        Assert.True(report.RacesChecked);
        Assert.Equal(0, report.RaceCount);
        var x = SimCheck.Values<float>(input);
        for (int k = 0; k < x.Length; k++) Assert.Equal(2 * x[k], output[k]);
    }

    [Fact]
    public void DroppingACreditIsReported()
    {
        const int tiles = 8;
        var report = SimCheck.Run(SimPipelines.DoubleBuffered(tiles, outputCredit: false), SimPipelines.RandomFloats(tiles * SimPipelines.TileBytes / 4, 5));
        Assert.True(report.RaceCount > 0);
        // Each report pairs a store of tile t - 2 (DMA1, reads out[t % 2]) with the VPU writing tile t there.
        Assert.All(report.Races, r =>
        {
            Assert.Equal(new[] { Unit.Dma1, Unit.Vpu }, new[] { r.FirstUnit, r.SecondUnit }.Order());
            Assert.Equal("scratchpad", r.Memory);
            Assert.True(r.Address >= 0x10000 && r.Address < 0x10000 + 2 * SimPipelines.TileBytes);
        });
    }

    [Fact]
    public void WaitReleasedByAnotherSignalDoesNotOrder()
    {
        // Two loads signal the same semaphore; waiting for the first signal orders only the faster load.
        NpuProgram Build(uint value)
        {
            var p = new SimProgramBuilder { InputBytes = 8192 };
            p.Add(Load(0, Region.Input, 0, 128, 0x0000, 128, 1, 128).WithSignal(0));            // fast
            p.Add(Load(1, Region.Input, 4096, 128, 0x1000, 128, 32, 128).WithSignal(0));        // slow
            p.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Add, 1, 1, 0x20000, 128, 0x0000, 128, 0x1000, 128).WithWait(0, value));
            return p.BuildLoaded();
        }

        var racy = SimCheck.Run(Build(1), new byte[8192]);
        var race = Assert.Single(racy.Races);
        Assert.Equal(new[] { 1, 2 }, new[] { race.First, race.Second }.Order());
        Assert.Equal(0, SimCheck.Run(Build(2), new byte[8192]).RaceCount);
    }

    [Fact]
    public void FenceOrdersEverything()
    {
        var p = new SimProgramBuilder { InputBytes = 128 };
        p.Add(Load(0, Region.Input, 0, 128, 0, 128, 1, 128));
        p.Add(Instruction.Create(Opcode.Fence));
        p.Add(Instruction.Vector(Opcode.VMove, 0, 1, 1, 0x10000, 128, 0, 128));
        p.Add(Store(1, Region.Output, 0, 128, 0x10000, 128, 1, 128).WithWait(1, 0)); // no real ordering: a race with the VPU
        p.OutputBytes = 128;
        var report = SimCheck.Run(p.Build());
        var race = Assert.Single(report.Races);
        Assert.Equal(new[] { 2, 3 }, new[] { race.First, race.Second }.Order());
    }
}
