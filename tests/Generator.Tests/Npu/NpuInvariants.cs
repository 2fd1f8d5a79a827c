using Aot.Npu;
using Aot.Runtime.Npu;

namespace Generator.Tests.Npu;

/// <summary>The simulator's accounting identities, asserted on every NPU program the tests run.</summary>
internal static class NpuInvariants
{
    public static void Check(NpuReport report)
    {
        foreach (var unit in report.Units)
        {
            Assert.True(unit.Busy + unit.Stalled + unit.Idle == report.TotalCycles, $"{unit.Name}: busy {unit.Busy} + stalled {unit.Stalled} + idle {unit.Idle} != {report.TotalCycles}");
        }

        Assert.True(report.TotalCycles * NpuTarget.MacsPerCycle >= report.Macs, $"{report.TotalCycles} cycles cannot do {report.Macs} MACs");
        Assert.True(report.TotalCycles * NpuTarget.DramBytesPerCycle >= report.DramBytes, $"{report.TotalCycles} cycles cannot move {report.DramBytes} DRAM bytes");
    }
}
