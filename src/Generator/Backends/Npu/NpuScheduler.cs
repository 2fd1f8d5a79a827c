using System;
using System.Collections.Generic;
using Aot.Generator.Npu;

namespace Aot.Generator.Backends.Npu;

/// <summary>
/// Orders a kernel's instructions for the single in-order dispatcher, and predicts its cycles.
/// <para>
/// Kernels emit each unit's work in its own order with every dependence on a semaphore. But the dispatcher issues
/// one instruction per cycle in program order into queues 16 deep, so the interleaving across units decides how far
/// each unit can run ahead: a long run of MXU instructions in program order keeps the VPU's next instruction
/// from being dispatched until the MXU has nearly drained them. This pass list-schedules the kernel with the
/// timing rules of docs/npu/isa.md (<see cref="NpuTiming"/>; DMA on a shared port, MXU weight loads overlapping
/// matmuls, VPU passes) and emits instructions in order of their estimated start, which keeps every queue fed.
/// The same schedule's end time is the kernel's predicted cycle count.
/// </para>
/// Requires: each semaphore signalled by one unit within the kernel (so the k-th signal in program order stays the
/// k-th after reordering), waits only on signals of earlier instructions (or of earlier kernels). Guarantees: each
/// unit's instructions keep their order; every wait still follows the signal it needs.
/// </summary>
internal static class NpuScheduler
{
    private const int Units = (int)Unit.Dispatcher + 1;

    /// <summary>Reorders <paramref name="code"/> (one kernel, starting at cycle 0 with semaphores at <paramref name="initial"/>) and returns its predicted cycles.</summary>
    public static long Schedule(List<Instruction> code, uint[] initial)
    {
        var queues = new List<int>[Units];
        for (int u = 0; u < Units; u++) queues[u] = new List<int>();
        var signaller = new int[NpuTarget.Semaphores];
        for (int s = 0; s < signaller.Length; s++) signaller[s] = -1;
        foreach (var (i, index) in Indexed(code))
        {
            queues[(int)i.Unit].Add(index);
            if (!i.Signals) continue;
            int unit = (int)i.Unit;
            if (signaller[i.SignalSemaphore] >= 0 && signaller[i.SignalSemaphore] != unit)
            {
                throw new InvalidOperationException($"semaphore {i.SignalSemaphore} is signalled by two units in one kernel");
            }

            signaller[i.SignalSemaphore] = unit;
        }

        // Completion time of the n-th signal (counting from the kernel's start) of each semaphore.
        var signalTimes = new List<long>[NpuTarget.Semaphores];
        for (int s = 0; s < signalTimes.Length; s++) signalTimes[s] = new List<long>();
        var heads = new int[Units];
        var unitFree = new long[Units];
        var inFlight = new Queue<long>[NpuTarget.DmaChannels];
        for (int c = 0; c < inFlight.Length; c++) inFlight[c] = new Queue<long>();
        long portFree = 0, dispatch = 0, end = 0;
        // MXU state: the array, and the shadow weight buffer (free again once a swapping matmul takes its block).
        long arrayFree = 0, shadowFree = 0, shadowLoaded = 0, lastSwap = -NpuTarget.WeightLoadCycles;
        var order = new List<Instruction>(code.Count);

        while (order.Count < code.Count)
        {
            int best = -1;
            long bestStart = long.MaxValue;
            for (int u = 0; u < Units; u++)
            {
                if (heads[u] == queues[u].Count) continue;
                var i = code[queues[u][heads[u]]];
                long ready = Ready(i, initial, signalTimes);
                if (ready == long.MaxValue) continue;
                long start = Math.Max(ready, u < NpuTarget.DmaChannels ? ChannelFree(inFlight[u], unitFree[u]) : unitFree[u]);
                if (i.Op == Opcode.MxuLoadWeights) start = Math.Max(start, shadowFree);
                if (i.Op == Opcode.MxuMatmul)
                {
                    start = Math.Max(start, arrayFree);
                    if ((i.Flags & InstructionFlags.MxuSwapWeights) != 0) start = Math.Max(start, Math.Max(shadowLoaded, lastSwap + NpuTarget.WeightLoadCycles));
                }

                // The dispatcher's own instructions (marks, drains) keep their place relative to everything else.
                if (u == (int)Unit.Dispatcher && queues[u][heads[u]] > MinPending(queues, heads)) continue;
                if (start < bestStart)
                {
                    bestStart = start;
                    best = u;
                }
            }

            if (best < 0) throw new InvalidOperationException("the kernel's waits cannot all be satisfied (a wait on a later signal)");
            var chosen = code[queues[best][heads[best]]];
            heads[best]++;
            dispatch++;
            long begin = Math.Max(bestStart, dispatch);
            long done = begin;
            switch (chosen.Op)
            {
                case Opcode.DmaLoad:
                case Opcode.DmaStore:
                {
                    long bursts = NpuTiming.Bursts(chosen.DramOffset, chosen.DramStride, chosen.Rows, chosen.RowBytes);
                    long portStart = Math.Max(begin, portFree);
                    portFree = portStart + NpuTiming.PortCycles(bursts);
                    done = portFree + NpuTarget.DramLatency;
                    var flight = inFlight[best];
                    flight.Enqueue(done);
                    if (flight.Count > NpuTarget.DmaInFlightPerChannel) flight.Dequeue();
                    unitFree[best] = begin + 1;
                    break;
                }

                case Opcode.MxuLoadWeights:
                    // The weight path runs beside the array; it waits until the previous block has been swapped in.
                    shadowLoaded = begin + NpuTarget.WeightLoadCycles;
                    shadowFree = long.MaxValue;
                    done = shadowLoaded;
                    unitFree[best] = begin + 1;
                    break;
                case Opcode.MxuMatmul:
                {
                    if ((chosen.Flags & InstructionFlags.MxuSwapWeights) != 0)
                    {
                        lastSwap = begin;
                        shadowFree = begin;
                    }

                    arrayFree = begin + NpuTiming.MatmulBusy(chosen.Rows);
                    done = begin + chosen.Rows + NpuTarget.MatmulFillDrain;
                    unitFree[best] = begin + 1;
                    break;
                }

                case >= Opcode.VBinary and <= Opcode.VFill:
                    done = begin + NpuTiming.VectorCycles(chosen);
                    unitFree[best] = done;
                    break;
                default:
                    done = begin + 1;
                    unitFree[best] = chosen.Unit == Unit.Dispatcher ? begin : done;
                    break;
            }

            if (chosen.Signals) signalTimes[chosen.SignalSemaphore].Add(done);
            end = Math.Max(end, done);
            order.Add(chosen);
        }

        code.Clear();
        code.AddRange(order);
        return end;
    }

    private static IEnumerable<(Instruction, int)> Indexed(List<Instruction> code)
    {
        for (int i = 0; i < code.Count; i++) yield return (code[i], i);
    }

    private static int MinPending(List<int>[] queues, int[] heads)
    {
        int min = int.MaxValue;
        for (int u = 0; u < queues.Length; u++)
        {
            if (heads[u] < queues[u].Count) min = Math.Min(min, queues[u][heads[u]]);
        }

        return min;
    }

    /// <summary>When the instruction's wait is satisfied, or MaxValue while the signal it needs is not scheduled yet.</summary>
    private static long Ready(in Instruction i, uint[] initial, List<long>[] signalTimes)
    {
        if (!i.Waits) return 0;
        long needed = (long)i.WaitValue - initial[i.WaitSemaphore];
        if (needed <= 0) return 0;
        var times = signalTimes[i.WaitSemaphore];
        return needed <= times.Count ? times[(int)needed - 1] : long.MaxValue;
    }

    private static long ChannelFree(Queue<long> inFlight, long issueFree) =>
        inFlight.Count < NpuTarget.DmaInFlightPerChannel ? issueFree : Math.Max(issueFree, inFlight.Peek());
}
