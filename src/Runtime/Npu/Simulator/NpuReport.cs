using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using Aot.Npu;

namespace Aot.Runtime.Npu;

/// <summary>Why a unit could not make progress. When several apply to the same cycle the report counts the first in
/// this order.</summary>
public enum NpuStallCause
{
    /// <summary>Extra cycles of a row that hit a bank another unit was using.</summary>
    BankConflict,
    /// <summary>A DMA transfer waiting for the shared DRAM port (first come, first served).</summary>
    DramPort,
    /// <summary>MXU_MM waiting for the MXU_LW it swaps in (or for the 32-cycle swap interval).</summary>
    WeightsNotLoaded,
    /// <summary>The head of a queue (or the dispatcher) waiting for a semaphore.</summary>
    Semaphore,
    /// <summary>The dispatcher waiting for room in a full queue.</summary>
    QueueFull,
    /// <summary>The dispatcher at a FENCE waiting for every queue to drain.</summary>
    Fence,
    /// <summary>The head waiting for its unit (DMA: 4 transfers in flight; MXU array or weight path; VPU) while the
    /// unit is not itself busy (rare: usually such cycles count as busy).</summary>
    UnitBusy,
}

/// <summary>Stall cycles of one cause. <see cref="Detail"/>: the semaphore for <see cref="NpuStallCause.Semaphore"/>,
/// the full queue's unit for <see cref="NpuStallCause.QueueFull"/>, else -1.</summary>
public readonly record struct NpuStall(NpuStallCause Cause, int Detail, long Cycles)
{
    public override string ToString() => Cause switch
    {
        NpuStallCause.Semaphore => $"semaphore s{Detail}: {Cycles}",
        NpuStallCause.QueueFull => $"queue {SimText.UnitName((Unit)Detail)} full: {Cycles}",
        _ => $"{Cause}: {Cycles}",
    };
}

/// <summary>One stall of one instruction: <see cref="Instruction"/> (at the head of <see cref="Unit"/>'s queue, or at the
/// dispatcher) could not start for <see cref="Cycles"/> cycles from <see cref="From"/>; for a semaphore,
/// <see cref="Releaser"/> is the instruction whose signal let it go.</summary>
public sealed record NpuStallEpisode(Unit Unit, int Instruction, string Text, NpuStallCause Cause, int Detail, int Releaser, long From, long Cycles)
{
    public override string ToString()
    {
        string why = Cause switch
        {
            NpuStallCause.Semaphore => $"waits on s{Detail}" + (Releaser >= 0 ? $" for #{Releaser}" : ""),
            NpuStallCause.QueueFull => $"queue {SimText.UnitName((Unit)Detail)} full",
            _ => Cause.ToString(),
        };
        return $"{SimText.UnitName(Unit)} #{Instruction} {Text}: {why}, {Cycles} cycles from {From}";
    }
}

/// <summary>Where one unit's cycles went: <see cref="Busy"/> + <see cref="Stalled"/> + <see cref="Idle"/> equals the run's total.</summary>
public sealed class NpuUnitReport
{
    internal NpuUnitReport(Unit unit, long instructions, long busy, long stalled, long idle, NpuStall[] stalls)
    {
        Unit = unit;
        Instructions = instructions;
        Busy = busy;
        Stalled = stalled;
        Idle = idle;
        Stalls = stalls;
    }

    public Unit Unit { get; }
    public string Name => SimText.UnitName(Unit);
    /// <summary>Instructions this unit ran (the dispatcher: every instruction it dispatched).</summary>
    public long Instructions { get; }
    /// <summary>Cycles with work in progress (DMA: a transfer on the port or in its latency; MXU: the array streaming or
    /// draining, or a weight load no matmul is waiting for; VPU: running; dispatcher: dispatching).</summary>
    public long Busy { get; }
    /// <summary>Cycles not busy with work waiting (see <see cref="Stalls"/> for why).</summary>
    public long Stalled { get; }
    /// <summary>Cycles with nothing to do (queue empty; the dispatcher after HALT).</summary>
    public long Idle { get; }
    /// <summary>Stalled cycles by cause, largest first; they sum to <see cref="Stalled"/>.</summary>
    public IReadOnlyList<NpuStall> Stalls { get; }
}

/// <summary>DRAM traffic of one region: payload bytes each way and the 64-byte bursts the port moved for them.</summary>
public sealed record NpuRegionTraffic(Region Region, long BytesRead, long BytesWritten, long Bursts);

/// <summary>One MARK region name: its occurrences, cycles (summed over occurrences; from the begin MARK's dispatch to
/// the completion of the last instruction inside), MACs and DRAM payload bytes of the instructions inside (nested
/// regions included).</summary>
public sealed record NpuMarkReport(string Name, int Count, long Cycles, long Macs, long DramBytes)
{
    public double MxuUtilization => Cycles == 0 ? 0 : (double)Macs / ((double)NpuTarget.MacsPerCycle * Cycles);
}

/// <summary>Two instructions on different queues, not ordered by queue order or semaphores, whose footprints overlap
/// with at least one write (<see cref="Memory"/>: scratchpad, accumulator or a DRAM region; <see cref="Address"/>:
/// the first shared byte, a local address or an offset in the region).</summary>
public sealed record NpuRace(int First, Unit FirstUnit, string FirstText, int Second, Unit SecondUnit, string SecondText,
    string Memory, long Address, bool BothWrite)
{
    public override string ToString() =>
        $"#{First} ({SimText.UnitName(FirstUnit)} {FirstText}) and #{Second} ({SimText.UnitName(SecondUnit)} {SecondText}) "
        + $"{(BothWrite ? "both write" : "read/write")} {Memory} at 0x{Address:x} unordered";
}

/// <summary>
/// What a simulated run did and where its cycles went: totals, per-unit busy/stalled/idle with stall causes, MXU
/// utilization against the roofline, DRAM traffic, per-MARK breakdown, races (when checked). <see cref="Format"/>
/// prints it; <see cref="WriteChromeTrace"/> writes the timeline for https://ui.perfetto.dev.
/// </summary>
public sealed class NpuReport
{
    private readonly SimTimeline? _timeline;

    internal NpuReport(SimProgram program, SimEngine engine, SimRaceChecker? race, bool keepTimeline)
    {
        TotalCycles = engine.TotalCycles;
        Instructions = program.Length;
        Macs = engine.TotalMacs;
        Units = SimAccounting.Units(program, engine);
        var traffic = new long[4, 3];
        long portCycles = 0;
        for (int j = 0; j < program.Length; j++)
        {
            var op = program.Code[j].Op;
            if (op is not (Opcode.DmaLoad or Opcode.DmaStore)) continue;
            int r = (int)program.Code[j].Region;
            traffic[r, op == Opcode.DmaLoad ? 0 : 1] += program.Bytes[j];
            traffic[r, 2] += program.Bursts[j];
            portCycles += NpuTiming.PortCycles(program.Bursts[j]);
        }

        var regions = new NpuRegionTraffic[4];
        for (int r = 0; r < 4; r++)
        {
            regions[r] = new NpuRegionTraffic((Region)r, traffic[r, 0], traffic[r, 1], traffic[r, 2]);
            DramBytes += traffic[r, 0] + traffic[r, 1];
            DramBursts += traffic[r, 2];
        }

        Dram = regions;
        DramPortCycles = portCycles;
        var marks = new List<NpuMarkReport>();
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var reg in engine.Regions)
        {
            if (!byName.TryGetValue(reg.Name, out int at))
            {
                byName[reg.Name] = at = marks.Count;
                marks.Add(new NpuMarkReport(reg.Name, 0, 0, 0, 0));
            }

            var m = marks[at];
            marks[at] = m with { Count = m.Count + 1, Cycles = m.Cycles + (reg.End - reg.Begin), Macs = m.Macs + reg.Macs, DramBytes = m.DramBytes + reg.DramBytes };
        }

        Marks = marks;
        TopStalls = SimAccounting.TopStalls(program, engine, 12);
        RacesChecked = race is not null;
        Races = race?.Races ?? new List<NpuRace>();
        RaceCount = race?.Count ?? 0;
        if (keepTimeline) _timeline = new SimTimeline(program, engine);
    }

    /// <summary>Cycles from the first dispatch until HALT's queues drained.</summary>
    public long TotalCycles { get; }
    /// <summary>Instructions run (up to and including HALT).</summary>
    public long Instructions { get; }
    /// <summary>Useful multiply-accumulates: m x min(K, block rows) x block columns per MXU_MM.</summary>
    public long Macs { get; }
    /// <summary>Useful MACs / (1024 x total cycles).</summary>
    public double MxuUtilization => TotalCycles == 0 ? 0 : (double)Macs / ((double)NpuTarget.MacsPerCycle * TotalCycles);
    /// <summary>Payload bytes moved by DMA, both ways, all regions.</summary>
    public long DramBytes { get; }
    /// <summary>64-byte bursts the DRAM port moved.</summary>
    public long DramBursts { get; }
    /// <summary>Cycles the DRAM port was held (2 per burst).</summary>
    public long DramPortCycles { get; }
    /// <summary>Payload bytes / burst bytes: 1 when every row is whole, aligned bursts.</summary>
    public double BurstEfficiency => DramBursts == 0 ? 1 : (double)DramBytes / (DramBursts * (double)NpuTarget.DramBurstBytes);
    /// <summary>Traffic per region, indexed by <see cref="Region"/>.</summary>
    public IReadOnlyList<NpuRegionTraffic> Dram { get; }
    /// <summary>The roofline bound: max(MACs / 1024, DRAM bytes / 32), rounded up.</summary>
    public long RooflineCycles => Math.Max(CeilDiv(Macs, NpuTarget.MacsPerCycle), CeilDiv(DramBytes, NpuTarget.DramBytesPerCycle));
    /// <summary>Whether the bound is the MXU (else DRAM).</summary>
    public bool ComputeBound => CeilDiv(Macs, NpuTarget.MacsPerCycle) >= CeilDiv(DramBytes, NpuTarget.DramBytesPerCycle);
    /// <summary>Fraction of the roofline achieved: <see cref="RooflineCycles"/> / <see cref="TotalCycles"/>.</summary>
    public double RooflineFraction => TotalCycles == 0 ? 0 : (double)RooflineCycles / TotalCycles;
    /// <summary>Dispatcher, DMA0-3, MXU, VPU, indexed by <see cref="Unit"/>.</summary>
    public IReadOnlyList<NpuUnitReport> Units { get; }
    public NpuUnitReport this[Unit unit] => Units[(int)unit];
    /// <summary>MARK regions by name, in order of first appearance.</summary>
    public IReadOnlyList<NpuMarkReport> Marks { get; }
    /// <summary>The longest single stalls.</summary>
    public IReadOnlyList<NpuStallEpisode> TopStalls { get; }
    /// <summary>Whether the run had the race checker on (<see cref="NpuSimulatorOptions.CheckRaces"/>).</summary>
    public bool RacesChecked { get; }
    /// <summary>Races found (the first 1000; <see cref="RaceCount"/> counts all).</summary>
    public IReadOnlyList<NpuRace> Races { get; }
    public long RaceCount { get; }

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;

    /// <summary>
    /// Writes the run as Chrome Trace Event JSON (open it in https://ui.perfetto.dev): one track per queue (DMA
    /// channels one track per in-flight slot), the DRAM port, the dispatcher and MARK regions; counters for DRAM
    /// bandwidth and semaphore values; flow arrows from each signal to the wait it released. Timestamps are cycles
    /// (shown as microseconds). Byte-for-byte deterministic for a given program and input.
    /// </summary>
    public void WriteChromeTrace(Stream stream)
    {
        if (stream is null) throw new ArgumentNullException(nameof(stream));
        if (_timeline is null) throw new InvalidOperationException("the run did not record a trace (NpuSimulatorOptions.RecordTrace is false)");
        _timeline.Write(stream);
    }

    /// <summary>A readable summary: totals, roofline, DRAM, units with their main stalls, MARK regions, top stalls, races.</summary>
    public string Format()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(string.Format(c, "NPU-1 run: {0:N0} cycles, {1:N0} instructions", TotalCycles, Instructions));
        sb.AppendLine(string.Format(c, "MXU: {0:N0} MACs, utilization {1:P1} (ideal {2:N0} cycles)", Macs, MxuUtilization, CeilDiv(Macs, NpuTarget.MacsPerCycle)));
        sb.AppendLine(string.Format(c, "Roofline: {0:N0} cycles ({1}-bound), achieved {2:P1}", RooflineCycles, ComputeBound ? "MXU" : "DRAM", RooflineFraction));
        sb.Append(string.Format(c, "DRAM: {0:N0} bytes, {1:N0} bursts, burst efficiency {2:P1}, port busy {3:N0} cycles ({4:P1})",
            DramBytes, DramBursts, BurstEfficiency, DramPortCycles, TotalCycles == 0 ? 0 : (double)DramPortCycles / TotalCycles));
        foreach (var r in Dram)
        {
            if (r.BytesRead + r.BytesWritten == 0) continue;
            sb.Append(string.Format(c, "; {0} {1:N0} read {2:N0} written", SimText.Region(r.Region), r.BytesRead, r.BytesWritten));
        }

        sb.AppendLine();
        sb.AppendLine(string.Format(c, "{0,-11}{1,8}{2,14}{3,14}{4,14}  {5}", "unit", "instrs", "busy", "stalled", "idle", "stalls"));
        foreach (var u in Units)
        {
            var parts = new List<string>();
            for (int k = 0; k < u.Stalls.Count && k < 3; k++) parts.Add(u.Stalls[k].ToString());
            sb.AppendLine(string.Format(c, "{0,-11}{1,8:N0}{2,14:N0}{3,14:N0}{4,14:N0}  {5}", u.Name, u.Instructions, u.Busy, u.Stalled, u.Idle, string.Join(", ", parts)));
        }

        if (Marks.Count > 0)
        {
            sb.AppendLine(string.Format(c, "{0,-24}{1,6}{2,14}{3,18}{4,14}{5,8}", "region", "count", "cycles", "MACs", "DRAM bytes", "MXU"));
            foreach (var m in Marks)
                sb.AppendLine(string.Format(c, "{0,-24}{1,6}{2,14:N0}{3,18:N0}{4,14:N0}{5,8:P1}", m.Name, m.Count, m.Cycles, m.Macs, m.DramBytes, m.MxuUtilization));
        }

        if (TopStalls.Count > 0)
        {
            sb.AppendLine("Longest stalls:");
            for (int k = 0; k < TopStalls.Count && k < 5; k++) sb.Append("  ").AppendLine(TopStalls[k].ToString());
        }

        if (RacesChecked)
        {
            sb.AppendLine(string.Format(c, "Races: {0:N0}", RaceCount));
            for (int k = 0; k < Races.Count && k < 10; k++) sb.Append("  ").AppendLine(Races[k].ToString());
        }

        return sb.ToString();
    }

    public override string ToString() => Format();
}
