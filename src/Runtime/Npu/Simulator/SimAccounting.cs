using System;
using System.Collections.Generic;
using Aot.Npu;

namespace Aot.Runtime.Npu;

/// <summary>
/// Turns the engine's per-instruction times and stall segments into busy/stalled/idle cycles per unit by a sweep
/// over [0, total): a cycle is busy if any of the unit's work covers it, else stalled if a stall segment covers it
/// (the first cause in <see cref="NpuStallCause"/> order wins), else idle. So busy + stalled + idle = total exactly.
/// A weight load is softer work: while the array is idle it counts as busy unless a matmul is waiting for it (then
/// the cycle is a "weights not loaded" stall), so that cause shows how long the array starved for weights.
/// </summary>
internal static class SimAccounting
{
    private const int Busy = -1, SoftBusy = -2;

    private struct Interval
    {
        public long From, To;
        public int Key; // Busy, or (cause << 8) | (detail + 1)
    }

    public static NpuUnitReport[] Units(SimProgram p, SimEngine e)
    {
        var lists = new List<Interval>[7];
        var counts = new long[7];
        for (int u = 0; u < 7; u++) lists[u] = new List<Interval>();
        void Add(int u, long from, long to, int key)
        {
            if (to > from) lists[u].Add(new Interval { From = from, To = to, Key = key });
        }

        int Key(NpuStallCause cause, int detail) => ((int)cause << 8) | (detail + 1);

        for (int j = 0; j < p.Length; j++)
        {
            ref readonly Instruction i = ref p.Code[j];
            int u = (int)p.UnitOf[j];
            counts[(int)Unit.Dispatcher]++;
            Add((int)Unit.Dispatcher, e.Dispatch[j], e.Dispatch[j] + 1, Busy);
            if (u == (int)Unit.Dispatcher) continue;
            counts[u]++;
            long s = e.Start[j];
            switch (i.Op)
            {
                case Opcode.DmaLoad:
                case Opcode.DmaStore:
                {
                    long done = e.End[j] + NpuTarget.DramLatency;
                    Add(u, s, e.PortStart[j], Key(NpuStallCause.DramPort, -1));
                    Add(u, e.PortStart[j], done, Busy);
                    Add(u, done, done + e.Extra[j], Key(NpuStallCause.BankConflict, -1));
                    Add(u, done + e.Extra[j], e.Visible[j], Busy);
                    break;
                }

                case Opcode.MxuLoadWeights:
                    Add(u, s, s + p.BaseCycles[j], SoftBusy);
                    Add(u, s + p.BaseCycles[j], e.End[j], Key(NpuStallCause.BankConflict, -1));
                    break;
                case Opcode.MxuMatmul:
                case >= Opcode.VBinary and <= Opcode.VFill:
                {
                    long work = p.BaseCycles[j];
                    Add(u, s, s + work, Busy);
                    Add(u, s + work, e.End[j], Key(NpuStallCause.BankConflict, -1));
                    Add(u, e.End[j], e.Visible[j], Busy);
                    break;
                }

                default:
                    Add(u, s, e.Visible[j], Busy);
                    break;
            }
        }

        for (int u = 0; u < 7; u++)
        {
            foreach (var st in e.Stalls[u]) Add(u, st.From, st.To, Key(st.Cause, st.Detail));
        }

        var result = new NpuUnitReport[7];
        for (int u = 0; u < 7; u++) result[u] = Sweep((Unit)u, counts[u], lists[u], e.TotalCycles);
        return result;
    }

    private static NpuUnitReport Sweep(Unit unit, long instructions, List<Interval> intervals, long total)
    {
        var points = new List<(long Time, int Delta, int Key)>(intervals.Count * 2);
        foreach (var iv in intervals)
        {
            long from = Math.Max(0, iv.From), to = Math.Min(total, iv.To);
            if (to <= from) continue;
            points.Add((from, 1, iv.Key));
            points.Add((to, -1, iv.Key));
        }

        points.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.Delta != b.Delta ? a.Delta.CompareTo(b.Delta) : a.Key.CompareTo(b.Key));
        long busy = 0, stalled = 0;
        int busyCount = 0, softCount = 0;
        var active = new SortedDictionary<int, int>();
        var byKey = new Dictionary<int, long>();
        long prev = 0;
        foreach (var (time, delta, key) in points)
        {
            if (time > prev)
            {
                long len = time - prev;
                int top = -1;
                if (active.Count > 0)
                {
                    using var it = active.Keys.GetEnumerator();
                    it.MoveNext();
                    top = it.Current;
                }

                bool starved = top >= 0 && (NpuStallCause)(top >> 8) is NpuStallCause.BankConflict or NpuStallCause.WeightsNotLoaded;
                if (busyCount > 0 || (softCount > 0 && !starved)) busy += len;
                else if (top >= 0)
                {
                    stalled += len;
                    byKey[top] = byKey.GetValueOrDefault(top) + len;
                }

                prev = time;
            }

            if (key == Busy) busyCount += delta;
            else if (key == SoftBusy) softCount += delta;
            else
            {
                int n = active.GetValueOrDefault(key) + delta;
                if (n == 0) active.Remove(key);
                else active[key] = n;
            }
        }

        var stalls = new List<NpuStall>();
        foreach (var (key, cycles) in byKey) stalls.Add(new NpuStall((NpuStallCause)(key >> 8), (key & 0xFF) - 1, cycles));
        stalls.Sort((a, b) => a.Cycles != b.Cycles ? b.Cycles.CompareTo(a.Cycles) : a.Cause != b.Cause ? a.Cause.CompareTo(b.Cause) : a.Detail.CompareTo(b.Detail));
        return new NpuUnitReport(unit, instructions, busy, stalled, total - busy - stalled, stalls.ToArray());
    }

    public static NpuStallEpisode[] TopStalls(SimProgram p, SimEngine e, int count)
    {
        var all = new List<(int Unit, SimStall Stall)>();
        for (int u = 0; u < 7; u++)
        {
            foreach (var st in e.Stalls[u]) all.Add((u, st));
        }

        all.Sort((x, y) =>
        {
            SimStall a = x.Stall, b = y.Stall;
            long la = a.To - a.From, lb = b.To - b.From;
            return la != lb ? lb.CompareTo(la) : a.From != b.From ? a.From.CompareTo(b.From) : x.Unit.CompareTo(y.Unit);
        });
        var result = new NpuStallEpisode[Math.Min(count, all.Count)];
        for (int k = 0; k < result.Length; k++)
        {
            var (u, s) = all[k];
            result[k] = new NpuStallEpisode((Unit)u, s.Instruction, SimText.Full(p.Code[s.Instruction]), s.Cause, s.Detail, s.Releaser, s.From, s.To - s.From);
        }

        return result;
    }
}
