using System;
using Aot.Generator.Npu;

namespace Aot.Generator.Backends.Npu;

/// <summary>
/// Hands out scratchpad buffers for one kernel, in order, 64-byte aligned (one scratchpad row). Kernels take their
/// largest, concurrently used buffers first, so double buffers of 64 KiB or more land in different banks.
/// </summary>
internal sealed class ScratchpadAllocator
{
    private int _next;

    public int Used => _next;

    public uint Take(int bytes)
    {
        int at = Align(_next, NpuTarget.ScratchpadRowBytes);
        if (at + bytes > NpuTarget.ScratchpadBytes)
        {
            throw new InvalidOperationException($"scratchpad overflow: {bytes} bytes at {at} of {NpuTarget.ScratchpadBytes}");
        }

        _next = at + bytes;
        return (uint)at;
    }

    private static int Align(int x, int to) => (x + to - 1) / to * to;
}
