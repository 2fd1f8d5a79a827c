using System;
using System.Collections.Generic;
using Aot.Npu;

namespace Aot.Runtime.Npu;

/// <summary>A closed stall segment of one unit (or the dispatcher): [From, To) spent with its head unable to start.</summary>
internal struct SimStall
{
    public long From;
    public long To;
    public NpuStallCause Cause;
    /// <summary>Semaphore id (Semaphore), the full queue's unit (QueueFull), else -1.</summary>
    public int Detail;
    public int Instruction;
    /// <summary>For a semaphore stall, the instruction whose signal released it (-1 if none).</summary>
    public int Releaser;
}

/// <summary>A MARK region occurrence: [Begin, End) covers its dispatch and the completion of everything inside.</summary>
internal sealed class SimRegion
{
    public string Name = "";
    public int Parent;
    public int BeginInstruction;
    public long Begin;
    public long EndDispatch = -1;
    public long End;
    public long Macs;
    public long DramBytes;
}

/// <summary>
/// The discrete-event timing model of docs/npu/isa.md. Time jumps from event to event (an instruction's effects
/// becoming visible, a unit freeing up, the dispatcher's next cycle); each instruction's start, port time, end and
/// visibility are computed in closed form when it starts. An instruction's functional effect (memory reads and
/// writes) is applied atomically when it becomes visible, in time order (ties by program order), so a missing wait
/// shows up as wrong data exactly as it would on the machine.
/// </summary>
internal sealed class SimEngine
{
    private const int QueueUnits = 6;
    private const int Disp = (int)Unit.Dispatcher;
    private const int Depth = NpuTarget.QueueDepth;
    private const int WindowRing = 8;

    private readonly SimProgram _p;
    private readonly SimMachine _m;
    private readonly SimRaceChecker? _race;
    private readonly long _maxCycles;
    private readonly bool _recordSemaphores;
    private readonly int _n;

    // Per instruction.
    public readonly long[] Dispatch;
    public readonly long[] Start;
    /// <summary>End of the unit's occupancy: DMA port end, MXU_MM array end, VPU/LW end, control start + 1.</summary>
    public readonly long[] End;
    public readonly long[] Visible;
    public readonly long[] PortStart;
    public readonly long[] Extra;
    public readonly long[] Macs;
    public readonly int[] RegionOf;
    private readonly SimWeights?[] _mmWeights;

    // Semaphores.
    private readonly long[] _sem = new long[NpuTarget.Semaphores];
    public readonly List<int>[] Signalers = new List<int>[NpuTarget.Semaphores];
    public readonly List<(long Time, int Semaphore, long Value)> SemaphoreLog = new();

    // Queues (ring buffers of instruction indices).
    private readonly int[] _q = new int[QueueUnits * Depth];
    private readonly int[] _qHead = new int[QueueUnits];
    private readonly int[] _qCount = new int[QueueUnits];
    private readonly long[] _headFreeAt = new long[QueueUnits];
    private int _queued;

    // Dispatcher.
    private int _pc;
    private long _dispReady;
    private bool _halted;
    public long HaltAt = -1;

    // Units.
    private readonly int[] _inFlight = new int[NpuTarget.DmaChannels];
    private readonly long[] _chanVisible = new long[NpuTarget.DmaChannels];
    private long _portFree;
    private long _arrayFree, _lwFree, _lastSwap = long.MinValue / 2;
    private int _shadowState; // 0 empty, 1 loading, 2 loaded
    private SimWeights? _shadow, _active;
    private readonly Stack<SimWeights> _pool = new();
    private long _vpuFree;
    private int _unitOutstanding;
    private int _outstanding;

    // Bank windows per unit: (from, to, banks) of the last few starts.
    private readonly long[] _winFrom = new long[QueueUnits * WindowRing];
    private readonly long[] _winTo = new long[QueueUnits * WindowRing];
    private readonly ushort[] _winMask = new ushort[QueueUnits * WindowRing];
    private readonly int[] _winNext = new int[QueueUnits];

    // Events: binary heap of (time, instruction).
    private long[] _evTime = new long[64];
    private int[] _evIdx = new int[64];
    private int _evCount;

    // Stall bookkeeping.
    private readonly bool[] _open = new bool[QueueUnits + 1];
    private readonly SimStall[] _openStall = new SimStall[QueueUnits + 1];
    public readonly List<SimStall>[] Stalls = new List<SimStall>[QueueUnits + 1];

    // MARK regions.
    public readonly List<SimRegion> Regions = new();
    private int _region = -1;

    // Totals.
    public long TotalCycles;
    public long TotalMacs;

    public SimEngine(SimProgram program, SimMachine machine, SimRaceChecker? race, long maxCycles, bool recordSemaphores)
    {
        _p = program;
        _m = machine;
        _race = race;
        _maxCycles = maxCycles;
        _recordSemaphores = recordSemaphores;
        _n = program.Length;
        Dispatch = new long[_n];
        Start = new long[_n];
        End = new long[_n];
        Visible = new long[_n];
        PortStart = new long[_n];
        Extra = new long[_n];
        Macs = new long[_n];
        RegionOf = new int[_n];
        _mmWeights = new SimWeights?[_n];
        for (int s = 0; s < _sem.Length; s++)
        {
            _sem[s] = program.SemInit[s];
            Signalers[s] = new List<int>();
        }

        for (int u = 0; u <= QueueUnits; u++) Stalls[u] = new List<SimStall>();
        for (int w = 0; w < _winTo.Length; w++) _winTo[w] = long.MinValue;
    }

    public void Run()
    {
        long t = 0;
        while (true)
        {
            while (_evCount > 0 && _evTime[0] <= t) Retire(PopEvent(), t);

            long wake = long.MaxValue;
            bool progress;
            do
            {
                progress = false;
                for (int u = 0; u < QueueUnits; u++)
                {
                    while (TryStart(u, t, ref wake)) progress = true;
                }

                if (TryDispatch(t, ref wake)) progress = true;
            }
            while (progress);

            if (_halted && _queued == 0 && _outstanding == 0)
            {
                TotalCycles = Math.Max(t, HaltAt + 1);
                break;
            }

            long next = wake;
            if (_evCount > 0 && _evTime[0] < next) next = _evTime[0];
            if (next == long.MaxValue) throw Watchdog("deadlock: nothing can make progress", t);
            if (next > _maxCycles) throw Watchdog($"the run passed the watchdog's limit of {_maxCycles} cycles", _maxCycles);
            t = next;
        }

        for (int u = 0; u <= QueueUnits; u++) CloseStall(u, TotalCycles);
        FinishRegions();
    }

    // ------------------------------------------------------------------ dispatcher

    private bool TryDispatch(long t, ref long wake)
    {
        if (_halted) return false;
        if (_dispReady > t)
        {
            wake = Math.Min(wake, _dispReady);
            return false;
        }

        int j = _pc;
        ref readonly Instruction i = ref _p.Code[j];
        int u = (int)_p.UnitOf[j];
        if (u != Disp)
        {
            if (_qCount[u] == Depth)
            {
                NoteStall(Disp, t, NpuStallCause.QueueFull, u, j);
                return false;
            }

            _q[u * Depth + (_qHead[u] + _qCount[u]) % Depth] = j;
            _qCount[u]++;
            _queued++;
        }
        else
        {
            if (i.Waits && _sem[i.WaitSemaphore] < i.WaitValue)
            {
                NoteStall(Disp, t, NpuStallCause.Semaphore, i.WaitSemaphore, j);
                return false;
            }

            if (i.Op == Opcode.Fence && (_queued > 0 || _unitOutstanding > 0))
            {
                NoteStall(Disp, t, NpuStallCause.Fence, -1, j);
                return false;
            }

            Start[j] = j == 0 ? 0 : Dispatch[j - 1] + 1;
            End[j] = Visible[j] = t + 1;
            if (i.Signals) PushEvent(t + 1, j);
            if (i.Op == Opcode.Halt)
            {
                _halted = true;
                HaltAt = t;
            }
            else if (i.Op == Opcode.Mark)
            {
                if ((i.Flags & InstructionFlags.MarkEnd) == 0)
                {
                    var names = _p.Program.MarkNames;
                    Regions.Add(new SimRegion
                    {
                        Name = names is not null && j < names.Length && !string.IsNullOrEmpty(names[j]) ? names[j] : "@" + i.Name,
                        Parent = _region, BeginInstruction = j, Begin = t,
                    });
                    _region = Regions.Count - 1;
                }
                else if (_region >= 0)
                {
                    RegionOf[j] = _region;
                    Regions[_region].EndDispatch = t + 1;
                    _region = Regions[_region].Parent;
                    goto dispatched;
                }
            }
        }

        RegionOf[j] = _region;
    dispatched:
        CloseStall(Disp, t);
        Dispatch[j] = t;
        _race?.OnDispatch(j);
        _pc++;
        _dispReady = t + 1;
        return true;
    }

    // ------------------------------------------------------------------ queue heads

    private bool TryStart(int u, long t, ref long wake)
    {
        if (_qCount[u] == 0) return false;
        if (_headFreeAt[u] > t)
        {
            wake = Math.Min(wake, _headFreeAt[u]);
            return false;
        }

        int j = _q[u * Depth + _qHead[u]];
        ref readonly Instruction i = ref _p.Code[j];
        if (i.Waits && _sem[i.WaitSemaphore] < i.WaitValue)
        {
            NoteStall(u, t, NpuStallCause.Semaphore, i.WaitSemaphore, j);
            return false;
        }

        switch (i.Op)
        {
            case Opcode.Wait:
                break;
            case Opcode.DmaLoad:
            case Opcode.DmaStore:
                if (_inFlight[u] >= NpuTarget.DmaInFlightPerChannel)
                {
                    NoteStall(u, t, NpuStallCause.UnitBusy, -1, j);
                    return false;
                }

                break;
            case Opcode.MxuLoadWeights:
                if (_shadowState != 0)
                {
                    NoteStall(u, t, NpuStallCause.WeightsNotLoaded, -1, j);
                    return false;
                }

                if (_lwFree > t)
                {
                    wake = Math.Min(wake, _lwFree);
                    NoteStall(u, t, NpuStallCause.UnitBusy, -1, j);
                    return false;
                }

                break;
            case Opcode.MxuMatmul:
                if (_arrayFree > t)
                {
                    wake = Math.Min(wake, _arrayFree);
                    NoteStall(u, t, NpuStallCause.UnitBusy, -1, j);
                    return false;
                }

                if ((i.Flags & InstructionFlags.MxuSwapWeights) != 0)
                {
                    if (_shadowState == 0) throw new NpuRuntimeException("MXU_MM swaps weights but no MXU_LW loaded a block", j, t);
                    if (_shadowState == 1)
                    {
                        NoteStall(u, t, NpuStallCause.WeightsNotLoaded, -1, j);
                        return false;
                    }

                    if (_lastSwap + NpuTarget.WeightLoadCycles > t)
                    {
                        wake = Math.Min(wake, _lastSwap + NpuTarget.WeightLoadCycles);
                        NoteStall(u, t, NpuStallCause.WeightsNotLoaded, -1, j);
                        return false;
                    }
                }
                else if (_active is null)
                {
                    throw new NpuRuntimeException("MXU_MM without active weights (no earlier swap)", j, t);
                }

                break;
            default:
                if (_vpuFree > t)
                {
                    wake = Math.Min(wake, _vpuFree);
                    NoteStall(u, t, NpuStallCause.UnitBusy, -1, j);
                    return false;
                }

                break;
        }

        // Start j at t.
        _qHead[u] = (_qHead[u] + 1) % Depth;
        _qCount[u]--;
        _queued--;
        CloseStall(u, t);
        Start[j] = t;
        _race?.OnStart(j, u);
        _unitOutstanding++;
        long baseCycles = _p.BaseCycles[j];
        switch (i.Op)
        {
            case Opcode.Wait:
                End[j] = Visible[j] = t + 1;
                _headFreeAt[u] = t + 1;
                break;
            case Opcode.DmaLoad:
            case Opcode.DmaStore:
            {
                long portStart = Math.Max(t, _portFree);
                long portEnd = portStart + NpuTiming.PortCycles(_p.Bursts[j]);
                _portFree = portEnd;
                long extra = BankExtra(u, j, portStart, portEnd);
                PortStart[j] = portStart;
                End[j] = portEnd;
                Extra[j] = extra;
                long visible = Math.Max(portEnd + NpuTarget.DramLatency + extra, _chanVisible[u]);
                _chanVisible[u] = visible;
                Visible[j] = visible;
                _inFlight[u]++;
                break;
            }

            case Opcode.MxuLoadWeights:
            {
                long extra = BankExtra(u, j, t, t + baseCycles);
                Extra[j] = extra;
                End[j] = Visible[j] = t + baseCycles + extra;
                _lwFree = End[j];
                _shadow = Rent();
                _shadowState = 1;
                _mmWeights[j] = _shadow;
                break;
            }

            case Opcode.MxuMatmul:
            {
                if ((i.Flags & InstructionFlags.MxuSwapWeights) != 0)
                {
                    Release(_active);
                    _active = _shadow;
                    _shadow = null;
                    _shadowState = 0;
                    _lastSwap = t;
                }

                var w = _active!;
                if ((int)w.DType != (i.Flags & InstructionFlags.MxuDTypeMask))
                    throw new NpuRuntimeException($"MXU_MM dtype {SimText.DType(i.Flags & InstructionFlags.MxuDTypeMask)} does not match the active weights ({SimText.DType((int)w.DType)})", j, t);
                w.Refs++;
                _mmWeights[j] = w;
                Macs[j] = (long)i.Rows * Math.Min(i.K, w.K) * w.N;
                TotalMacs += Macs[j];
                long extra = BankExtra(u, j, t, t + baseCycles);
                Extra[j] = extra;
                End[j] = t + baseCycles + extra;
                _arrayFree = End[j];
                Visible[j] = End[j] + NpuTarget.MatmulFillDrain;
                break;
            }

            default:
            {
                long extra = BankExtra(u, j, t, t + baseCycles);
                Extra[j] = extra;
                End[j] = Visible[j] = t + baseCycles + extra;
                _vpuFree = End[j];
                break;
            }
        }

        PushEvent(Visible[j], j);
        return true;
    }

    private SimWeights Rent()
    {
        var w = _pool.Count > 0 ? _pool.Pop() : new SimWeights();
        w.Refs = 1;
        return w;
    }

    private void Release(SimWeights? w)
    {
        if (w is null) return;
        if (--w.Refs == 0) _pool.Push(w);
    }

    /// <summary>
    /// Bank conflicts: an instruction starting while an instruction of another unit holds one of its banks (a window
    /// that overlaps its own: DMA port time, MXU_LW 32 cycles, MXU_MM m cycles, VPU its run) pays
    /// (BankConflictCost - 1) cycles per row that touches such a bank (VPU: per row x vectors), counting the operand
    /// with the most such rows. The instruction that started first is never slowed.
    /// </summary>
    private long BankExtra(int u, int j, long from, long to)
    {
        ushort mine = _p.Banks[j];
        long extra = 0;
        if (mine != 0)
        {
            ushort hit = 0;
            for (int v = 0; v < QueueUnits; v++)
            {
                if (v == u) continue;
                for (int w = v * WindowRing; w < (v + 1) * WindowRing; w++)
                {
                    if (_winTo[w] > from && _winFrom[w] < to) hit |= (ushort)(_winMask[w] & mine);
                }
            }

            if (hit != 0)
            {
                long rows = 0;
                for (int f = _p.FpIndex[j]; f < _p.FpIndex[j + 1]; f++)
                {
                    if (_p.Fp[f].Space == SimSpace.Local) rows = Math.Max(rows, SimProgram.RowsTouching(_p.Fp[f], hit));
                }

                if (_p.UnitOf[j] == Unit.Vpu) rows *= _p.Code[j].Vectors;
                extra = rows * (NpuTarget.BankConflictCost - 1);
            }

            int slot = u * WindowRing + _winNext[u];
            _winNext[u] = (_winNext[u] + 1) % WindowRing;
            _winFrom[slot] = from;
            _winTo[slot] = to + extra;
            _winMask[slot] = mine;
        }

        return extra;
    }

    // ------------------------------------------------------------------ retire

    private void Retire(int j, long t)
    {
        ref readonly Instruction i = ref _p.Code[j];
        switch (i.Op)
        {
            case Opcode.DmaLoad:
            case Opcode.DmaStore:
                _m.Dma(i);
                _inFlight[i.Channel]--;
                break;
            case Opcode.MxuLoadWeights:
                _m.LoadWeights(i, _mmWeights[j]!);
                _mmWeights[j] = null;
                if (_shadowState == 1) _shadowState = 2;
                break;
            case Opcode.MxuMatmul:
                _m.Matmul(i, _mmWeights[j]!);
                Release(_mmWeights[j]);
                _mmWeights[j] = null;
                break;
            case >= Opcode.VBinary and <= Opcode.VFill:
                _m.Vector(i);
                break;
        }

        if (_p.UnitOf[j] != Unit.Dispatcher) _unitOutstanding--;
        if (i.Signals)
        {
            int s = i.SignalSemaphore;
            _sem[s]++;
            Signalers[s].Add(j);
            if (_recordSemaphores) SemaphoreLog.Add((t, s, _sem[s]));
        }

        _race?.OnRetire(j);
        _outstanding--;
    }

    // ------------------------------------------------------------------ events

    private void PushEvent(long time, int j)
    {
        _outstanding++;
        if (_evCount == _evTime.Length)
        {
            Array.Resize(ref _evTime, _evCount * 2);
            Array.Resize(ref _evIdx, _evCount * 2);
        }

        int c = _evCount++;
        while (c > 0)
        {
            int parent = (c - 1) / 2;
            if (!Less(time, j, _evTime[parent], _evIdx[parent])) break;
            _evTime[c] = _evTime[parent];
            _evIdx[c] = _evIdx[parent];
            c = parent;
        }

        _evTime[c] = time;
        _evIdx[c] = j;
    }

    private int PopEvent()
    {
        int top = _evIdx[0];
        long time = _evTime[--_evCount];
        int j = _evIdx[_evCount];
        int c = 0;
        while (true)
        {
            int l = 2 * c + 1;
            if (l >= _evCount) break;
            int r = l + 1;
            int m = r < _evCount && Less(_evTime[r], _evIdx[r], _evTime[l], _evIdx[l]) ? r : l;
            if (!Less(_evTime[m], _evIdx[m], time, j)) break;
            _evTime[c] = _evTime[m];
            _evIdx[c] = _evIdx[m];
            c = m;
        }

        _evTime[c] = time;
        _evIdx[c] = j;
        return top;
    }

    private static bool Less(long t1, int i1, long t2, int i2) => t1 < t2 || (t1 == t2 && i1 < i2);

    // ------------------------------------------------------------------ stalls

    private void NoteStall(int u, long t, NpuStallCause cause, int detail, int j)
    {
        ref var o = ref _openStall[u];
        if (_open[u] && o.Cause == cause && o.Detail == detail && o.Instruction == j) return;
        CloseStall(u, t);
        _open[u] = true;
        o = new SimStall { From = t, Cause = cause, Detail = detail, Instruction = j, Releaser = -1 };
    }

    private void CloseStall(int u, long t)
    {
        if (!_open[u]) return;
        _open[u] = false;
        var o = _openStall[u];
        if (t <= o.From) return;
        o.To = t;
        if (o.Cause == NpuStallCause.Semaphore)
        {
            ref readonly Instruction i = ref _p.Code[o.Instruction];
            long k = (long)i.WaitValue - _p.SemInit[o.Detail];
            var list = Signalers[o.Detail];
            if (k >= 1 && k <= list.Count) o.Releaser = list[(int)k - 1];
        }

        Stalls[u].Add(o);
    }

    // ------------------------------------------------------------------ regions and errors

    private void FinishRegions()
    {
        foreach (var r in Regions) r.End = Math.Max(r.EndDispatch < 0 ? TotalCycles : r.EndDispatch, r.Begin + 1);
        for (int j = 0; j < _n; j++)
        {
            for (int r = RegionOf[j]; r >= 0; r = Regions[r].Parent)
            {
                var reg = Regions[r];
                if (Visible[j] > reg.End) reg.End = Visible[j];
                reg.Macs += Macs[j];
                if (_p.UnitOf[j] <= Unit.Dma3 && _p.Code[j].Op != Opcode.Wait) reg.DramBytes += _p.Bytes[j];
            }
        }
    }

    private NpuWatchdogException Watchdog(string what, long cycle)
    {
        var heads = new List<string>();
        for (int u = 0; u < QueueUnits; u++)
        {
            if (_qCount[u] == 0) continue;
            int j = _q[u * Depth + _qHead[u]];
            heads.Add($"{SimText.UnitName((Unit)u)} head #{j} {SimText.Full(_p.Code[j])}: {HeadReason(u, j)}");
        }

        if (!_halted && _pc < _n)
        {
            int j = _pc;
            ref readonly Instruction i = ref _p.Code[j];
            int u = (int)_p.UnitOf[j];
            string reason = u != Disp ? $"queue {SimText.UnitName((Unit)u)} is full"
                : i.Waits && _sem[i.WaitSemaphore] < i.WaitValue ? SemReason(i)
                : i.Op == Opcode.Fence ? "FENCE waits for every queue to drain" : "ready";
            heads.Add($"dispatcher at #{j} {SimText.Full(i)}: {reason}");
        }

        if (_unitOutstanding > 0) heads.Add($"{_unitOutstanding} instruction(s) in flight");
        return new NpuWatchdogException(what, cycle, heads.ToArray());
    }

    private string SemReason(in Instruction i) => $"waits s{i.WaitSemaphore} >= {i.WaitValue} (s{i.WaitSemaphore} = {_sem[i.WaitSemaphore]})";

    private string HeadReason(int u, int j)
    {
        ref readonly Instruction i = ref _p.Code[j];
        if (i.Waits && _sem[i.WaitSemaphore] < i.WaitValue) return SemReason(i);
        return i.Op switch
        {
            Opcode.DmaLoad or Opcode.DmaStore => $"{_inFlight[u]} transfers in flight",
            Opcode.MxuLoadWeights when _shadowState != 0 => "the shadow buffer holds weights no MXU_MM has swapped in",
            Opcode.MxuMatmul when _shadowState == 1 => "weights still loading",
            _ => "unit busy",
        };
    }
}
