using System;
using System.Collections.Generic;
using Aot.Npu;

namespace Aot.Runtime.Npu;

/// <summary>
/// Happens-before race detection with vector clocks (one component per queue and one for the dispatcher).
/// Edges: order within a queue; dispatch (an instruction is ordered after everything the dispatcher had acquired
/// when it dispatched it); a wait for (s, v) acquires exactly the first v - init signals of s in the order they
/// happened (not later ones, so a wait that is satisfied only by luck of timing does not hide a race); FENCE acquires
/// every queue. Two instructions on different queues race when neither happens before the other, their footprints
/// overlap (exactly, row by row) and at least one of them writes. Checked as each instruction retires, against the
/// retired instructions of other queues it has not synchronized with.
/// </summary>
internal sealed class SimRaceChecker
{
    private const int Agents = 7;
    private const int Dispatcher = (int)Unit.Dispatcher;
    private const int MaxStored = 1000;

    private readonly SimProgram _p;
    private readonly int[][] _unitClock = new int[Agents][];
    private int[] _dispClock = new int[Agents];
    private readonly int[]?[] _dispClockAt;
    private readonly int[] _clocks;
    private readonly List<int>[] _started = new List<int>[Agents];
    private readonly bool[] _retired;
    private readonly List<int[]>[] _semCum = new List<int[]>[NpuTarget.Semaphores];

    public readonly List<NpuRace> Races = new();
    public long Count;

    public SimRaceChecker(SimProgram program)
    {
        _p = program;
        int n = program.Length;
        _dispClockAt = new int[]?[n];
        _clocks = new int[n * Agents];
        _retired = new bool[n];
        for (int a = 0; a < Agents; a++)
        {
            _unitClock[a] = new int[Agents];
            _started[a] = new List<int>();
        }

        for (int s = 0; s < _semCum.Length; s++) _semCum[s] = new List<int[]>();
    }

    private static void Join(int[] into, int[]? other)
    {
        if (other is null) return;
        for (int a = 0; a < Agents; a++) into[a] = Math.Max(into[a], other[a]);
    }

    private int[]? SemClock(in Instruction i)
    {
        if (!i.Waits) return null;
        int s = i.WaitSemaphore;
        long k = (long)i.WaitValue - _p.SemInit[s];
        var list = _semCum[s];
        if (k <= 0 || list.Count == 0) return null;
        return list[(int)Math.Min(k, list.Count) - 1];
    }

    /// <summary>Dispatch of instruction j. Control instructions execute here (their wait, FENCE's join).</summary>
    public void OnDispatch(int j)
    {
        if (_p.UnitOf[j] != Unit.Dispatcher)
        {
            _dispClockAt[j] = _dispClock;
            return;
        }

        var c = (int[])_dispClock.Clone();
        ref readonly Instruction i = ref _p.Code[j];
        Join(c, SemClock(i));
        if (i.Op == Opcode.Fence)
        {
            for (int u = 0; u < Dispatcher; u++) Join(c, _unitClock[u]);
        }

        c[Dispatcher]++;
        _dispClock = c;
        Array.Copy(c, 0, _clocks, j * Agents, Agents);
    }

    /// <summary>Instruction j leaves the head of queue u.</summary>
    public void OnStart(int j, int u)
    {
        var c = _unitClock[u];
        Join(c, _dispClockAt[j]);
        Join(c, SemClock(_p.Code[j]));
        c[u]++;
        _started[u].Add(j);
        Array.Copy(c, 0, _clocks, j * Agents, Agents);
    }

    /// <summary>Instruction j's effects become visible (and its signal is sent).</summary>
    public void OnRetire(int j)
    {
        _retired[j] = true;
        ref readonly Instruction i = ref _p.Code[j];
        if (i.Signals)
        {
            var list = _semCum[i.SignalSemaphore];
            var c = new int[Agents];
            if (list.Count > 0) Array.Copy(list[^1], c, Agents);
            for (int a = 0; a < Agents; a++) c[a] = Math.Max(c[a], _clocks[j * Agents + a]);
            list.Add(c);
        }

        int u = (int)_p.UnitOf[j];
        if (u == Dispatcher || _p.FpIndex[j] == _p.FpIndex[j + 1]) return;
        for (int v = 0; v < Dispatcher; v++)
        {
            if (v == u) continue;
            var list = _started[v];
            for (int idx = _clocks[j * Agents + v]; idx < list.Count; idx++)
            {
                int k = list[idx];
                if (!_retired[k] || _clocks[k * Agents + u] >= _clocks[j * Agents + u]) continue;
                Compare(k, j);
            }
        }
    }

    private void Compare(int k, int j)
    {
        for (int a = _p.FpIndex[k]; a < _p.FpIndex[k + 1]; a++)
        {
            ref readonly SimFootprint fa = ref _p.Fp[a];
            if (fa.Space == SimSpace.Const) continue;
            for (int b = _p.FpIndex[j]; b < _p.FpIndex[j + 1]; b++)
            {
                ref readonly SimFootprint fb = ref _p.Fp[b];
                if (!(fa.Writes || fb.Writes)) continue;
                long at = SimFootprint.FirstOverlap(fa, fb);
                if (at < 0) continue;
                Count++;
                if (Races.Count < MaxStored)
                {
                    string memory = fa.Space switch
                    {
                        SimSpace.Local => at < NpuTarget.AccumulatorBase ? "scratchpad" : "accumulator",
                        _ => SimText.Region((Region)((int)fa.Space - 1)),
                    };
                    Races.Add(new NpuRace(k, _p.UnitOf[k], SimText.Full(_p.Code[k]), j, _p.UnitOf[j], SimText.Full(_p.Code[j]),
                        memory, at, fa.Writes && fb.Writes));
                }

                return;
            }
        }
    }
}
