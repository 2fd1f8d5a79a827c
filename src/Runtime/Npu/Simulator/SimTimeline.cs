using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using Aot.Npu;

namespace Aot.Runtime.Npu;

/// <summary>
/// The Chrome Trace Event Format writer (https://ui.perfetto.dev opens it). Tracks (threads of one process):
/// the dispatcher (control instructions, "blocked" spans), the DRAM port, each DMA channel as four
/// in-flight slots (transfer i uses slot i mod 4, which never overlap since a channel retires in order), the MXU
/// array, the MXU weight path, the VPU, and one track per unit for queued WAITs. Counters: DRAM bandwidth (bytes per
/// cycle, averaged over fixed windows) and each semaphore's value. Flow arrows go from the instruction whose signal
/// released a wait to the waiting instruction. MARK regions are async spans (occurrences of a pipelined loop overlap).
/// One cycle is written as one microsecond.
/// </summary>
internal sealed class SimTimeline
{
    private const int Pid = 1;
    private const int TidDispatcher = 0, TidMarks = 1, TidPort = 2, TidDma = 10, TidMxu = 40, TidWeights = 41, TidVpu = 50, TidWaits = 60;

    private readonly SimProgram _p;
    private readonly SimEngine _e;

    public SimTimeline(SimProgram program, SimEngine engine)
    {
        _p = program;
        _e = engine;
    }

    private static string TrackName(int tid) => tid switch
    {
        TidDispatcher => "Dispatcher",
        TidMarks => "MARK regions",
        TidPort => "DRAM port",
        >= TidDma and < TidDma + 16 => $"DMA{(tid - TidDma) / 4} slot {(tid - TidDma) % 4}",
        TidMxu => "MXU array",
        TidWeights => "MXU weight load",
        TidVpu => "VPU",
        _ => $"{SimText.UnitName((Unit)(tid - TidWaits))} queued waits",
    };

    public void Write(Stream stream)
    {
        int n = _p.Length;
        var tid = new int[n];
        var from = new long[n];
        var to = new long[n];
        var dmaSeq = new int[NpuTarget.DmaChannels];
        var used = new SortedSet<int> { TidDispatcher };
        for (int j = 0; j < n; j++)
        {
            ref readonly Instruction i = ref _p.Code[j];
            var unit = _p.UnitOf[j];
            from[j] = _e.Start[j];
            to[j] = _e.End[j];
            if (unit == Unit.Dispatcher)
            {
                tid[j] = TidDispatcher;
                to[j] = _e.Dispatch[j] + 1;
            }
            else if (i.Op == Opcode.Wait)
            {
                tid[j] = TidWaits + (int)unit;
            }
            else if (unit <= Unit.Dma3)
            {
                tid[j] = TidDma + 4 * (int)unit + dmaSeq[(int)unit]++ % NpuTarget.DmaInFlightPerChannel;
                to[j] = _e.Visible[j];
                used.Add(TidPort);
            }
            else if (unit == Unit.Mxu)
            {
                tid[j] = i.Op == Opcode.MxuMatmul ? TidMxu : TidWeights;
            }
            else
            {
                tid[j] = TidVpu;
            }

            used.Add(tid[j]);
        }


        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false, SkipValidation = false });
        w.WriteStartObject();
        w.WriteStartObject("otherData");
        w.WriteString("clock", "1 us on the time axis = 1 NPU-1 cycle");
        w.WriteNumber("totalCycles", _e.TotalCycles);
        w.WriteEndObject();
        w.WriteStartArray("traceEvents");

        Meta(w, "process_name", 0, "NPU-1");
        foreach (int t in used)
        {
            Meta(w, "thread_name", t, TrackName(t));
            w.WriteStartObject();
            w.WriteString("name", "thread_sort_index");
            w.WriteString("ph", "M");
            w.WriteNumber("pid", Pid);
            w.WriteNumber("tid", t);
            w.WriteStartObject("args");
            w.WriteNumber("sort_index", t);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        var names = _p.Program.MarkNames;
        for (int j = 0; j < n; j++)
        {
            ref readonly Instruction i = ref _p.Code[j];
            string? mark = i.Op == Opcode.Mark && names is not null && j < names.Length ? names[j] : null;
            w.WriteStartObject();
            w.WriteString("name", SimText.Short(i, mark));
            w.WriteString("cat", SimText.UnitName(_p.UnitOf[j]));
            w.WriteString("ph", "X");
            w.WriteNumber("pid", Pid);
            w.WriteNumber("tid", tid[j]);
            w.WriteNumber("ts", from[j]);
            w.WriteNumber("dur", Math.Max(1, to[j] - from[j]));
            w.WriteStartObject("args");
            w.WriteNumber("index", j);
            w.WriteNumber("dispatch", _e.Dispatch[j]);
            if (i.Waits) w.WriteString("wait", $"s{i.WaitSemaphore}>={i.WaitValue}");
            if (i.Signals) w.WriteString("signal", $"s{i.SignalSemaphore} at {_e.Visible[j]}");
            if (_e.Extra[j] > 0) w.WriteNumber("bankConflictCycles", _e.Extra[j]);
            switch (i.Op)
            {
                case Opcode.DmaLoad:
                case Opcode.DmaStore:
                    w.WriteNumber("bytes", _p.Bytes[j]);
                    w.WriteNumber("bursts", _p.Bursts[j]);
                    w.WriteNumber("portStart", _e.PortStart[j]);
                    w.WriteNumber("portEnd", _e.End[j]);
                    break;
                case Opcode.MxuMatmul:
                    w.WriteNumber("macs", _e.Macs[j]);
                    w.WriteNumber("visible", _e.Visible[j]);
                    break;
            }

            w.WriteEndObject();
            w.WriteEndObject();

            if (i.Op is Opcode.DmaLoad or Opcode.DmaStore)
            {
                Slice(w, SimText.Short(i), TidPort, _e.PortStart[j], _e.End[j] - _e.PortStart[j], j);
            }
        }

        foreach (var st in _e.Stalls[(int)Unit.Dispatcher])
        {
            if (st.Cause != NpuStallCause.QueueFull) continue;
            Slice(w, $"blocked: {SimText.UnitName((Unit)st.Detail)} queue full", TidDispatcher, st.From, st.To - st.From, st.Instruction);
        }

        // MARK regions as async spans: pipelined occurrences overlap in time, which async tracks lay out side by side.
        for (int k = 0; k < _e.Regions.Count; k++)
        {
            var r = _e.Regions[k];
            Async(w, "b", r.Name, k + 1, r.Begin, r.BeginInstruction);
            Async(w, "e", r.Name, k + 1, r.End, r.BeginInstruction);
        }

        WriteBandwidth(w);
        WriteSemaphores(w);
        WriteFlows(w, tid, from, to);

        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
    }

    private static void Meta(Utf8JsonWriter w, string what, int tid, string name)
    {
        w.WriteStartObject();
        w.WriteString("name", what);
        w.WriteString("ph", "M");
        w.WriteNumber("pid", Pid);
        w.WriteNumber("tid", tid);
        w.WriteStartObject("args");
        w.WriteString("name", name);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Slice(Utf8JsonWriter w, string name, int tid, long ts, long dur, int index)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("ph", "X");
        w.WriteNumber("pid", Pid);
        w.WriteNumber("tid", tid);
        w.WriteNumber("ts", ts);
        w.WriteNumber("dur", Math.Max(1, dur));
        w.WriteStartObject("args");
        w.WriteNumber("index", index);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Async(Utf8JsonWriter w, string ph, string name, int id, long ts, int index)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("cat", "MARK");
        w.WriteString("ph", ph);
        w.WriteNumber("id", id);
        w.WriteNumber("pid", Pid);
        w.WriteNumber("tid", TidMarks);
        w.WriteNumber("ts", ts);
        if (ph == "b")
        {
            w.WriteStartObject("args");
            w.WriteNumber("index", index);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static void Counter(Utf8JsonWriter w, string name, long ts, string key, double value)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("ph", "C");
        w.WriteNumber("pid", Pid);
        w.WriteNumber("ts", ts);
        w.WriteStartObject("args");
        w.WriteNumber(key, value);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>Port occupancy x 32 B/cycle, averaged over windows of max(64, total / 2000) cycles.</summary>
    private void WriteBandwidth(Utf8JsonWriter w)
    {
        long total = Math.Max(1, _e.TotalCycles);
        long window = Math.Max(64, (total + 1999) / 2000);
        int buckets = (int)((total + window - 1) / window);
        var busy = new long[buckets];
        bool any = false;
        for (int j = 0; j < _p.Length; j++)
        {
            if (_p.Code[j].Op is not (Opcode.DmaLoad or Opcode.DmaStore)) continue;
            any = true;
            long a = _e.PortStart[j], b = Math.Min(_e.End[j], total);
            while (a < b)
            {
                long k = a / window;
                long end = Math.Min(b, (k + 1) * window);
                busy[k] += end - a;
                a = end;
            }
        }

        if (!any) return;
        for (int k = 0; k < buckets; k++)
            Counter(w, "DRAM B/cycle", k * window, "B/cycle", Math.Round((double)busy[k] * NpuTarget.DramBytesPerCycle / window, 3));
        Counter(w, "DRAM B/cycle", buckets * window, "B/cycle", 0);
    }

    private void WriteSemaphores(Utf8JsonWriter w)
    {
        var usedSem = new bool[NpuTarget.Semaphores];
        for (int j = 0; j < _p.Length; j++)
        {
            ref readonly Instruction i = ref _p.Code[j];
            if (i.Waits) usedSem[i.WaitSemaphore] = true;
            if (i.Signals) usedSem[i.SignalSemaphore] = true;
        }

        for (int s = 0; s < usedSem.Length; s++)
        {
            if (usedSem[s]) Counter(w, $"s{s}", 0, "value", _p.SemInit[s]);
        }

        foreach (var (time, s, value) in _e.SemaphoreLog) Counter(w, $"s{s}", time, "value", value);
    }

    private void WriteFlows(Utf8JsonWriter w, int[] tid, long[] from, long[] to)
    {
        int id = 0;
        for (int j = 0; j < _p.Length; j++)
        {
            ref readonly Instruction i = ref _p.Code[j];
            if (!i.Waits) continue;
            int s = i.WaitSemaphore;
            long k = (long)i.WaitValue - _p.SemInit[s];
            var list = _e.Signalers[s];
            if (k < 1 || k > list.Count) continue;
            int r = list[(int)k - 1];
            id++;
            Flow(w, "s", $"s{s}", id, tid[r], from[r] + Math.Max(1, to[r] - from[r]) / 2.0);
            Flow(w, "f", $"s{s}", id, tid[j], from[j] + Math.Max(1, to[j] - from[j]) / 2.0);
        }
    }

    private static void Flow(Utf8JsonWriter w, string ph, string name, int id, int tid, double ts)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("cat", "signal");
        w.WriteString("ph", ph);
        w.WriteNumber("id", id);
        w.WriteNumber("pid", Pid);
        w.WriteNumber("tid", tid);
        w.WriteNumber("ts", ts);
        if (ph == "f") w.WriteString("bp", "e");
        w.WriteEndObject();
    }
}
