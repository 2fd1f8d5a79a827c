using System;
using System.Collections.Generic;
using System.Linq;
using Aot.Generator.Npu;

namespace Aot.Generator.Backends.Npu;

/// <summary>A scratchpad buffer request: its size, and its group (buffers of one group may share banks).</summary>
internal readonly record struct ScratchBuffer(int Bytes, int Group);

/// <summary>
/// Bank-aware placement of one kernel's scratchpad buffers. A unit that touches a bank another unit is using pays
/// a cycle per row (docs/npu/isa.md, timing), so buffers that different units use at the same time go in different
/// banks: each group starts on a bank boundary and no two groups share a bank; inside a group buffers are packed
/// (64-byte aligned). Kernels put the buffers their critical unit reads while DMA or another unit writes their
/// twins (double buffers, operands, results) in groups of their own, and small, rarely touched ones (bias, row
/// statistics) together. When the groups need more than the 8 banks, the buffers are packed without regard to banks.
/// </summary>
internal static class ScratchpadAllocator
{
    private const int Row = NpuTarget.ScratchpadRowBytes;
    private const int Bank = NpuTarget.ScratchpadBankBytes;

    /// <summary>Addresses by request, and whether every group got banks of its own.</summary>
    public static (uint[] Addresses, bool BankAligned)? Place(IReadOnlyList<ScratchBuffer> buffers)
    {
        var groups = buffers.Select((b, i) => (b, i)).GroupBy(p => p.b.Group).OrderBy(g => g.Key).ToList();
        var addresses = new uint[buffers.Count];
        int bank = 0;
        foreach (var group in groups)
        {
            int at = bank * Bank;
            foreach (var (b, i) in group)
            {
                addresses[i] = (uint)at;
                at = Align(at + b.Bytes);
            }

            bank = (at + Bank - 1) / Bank;
        }

        if (bank <= NpuTarget.ScratchpadBanks) return (addresses, true);

        int next = 0;
        for (int i = 0; i < buffers.Count; i++)
        {
            addresses[i] = (uint)next;
            next = Align(next + buffers[i].Bytes);
        }

        return next <= NpuTarget.ScratchpadBytes ? (addresses, false) : null;
    }

    private static int Align(int x) => (x + Row - 1) / Row * Row;
}
