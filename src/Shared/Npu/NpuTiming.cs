// Linked as source into Aot.Runtime and Aot.Generator: the per-instruction cycle formulas of docs/npu/isa.md,
// written once, so the compiler's cost model and the simulator use the same arithmetic.
#if AOT_GENERATOR
namespace Aot.Generator.Npu;
#else
namespace Aot.Npu;
#endif

public static class NpuTiming
{
    /// <summary>64-byte DRAM bursts a strided transfer touches, summed over its rows.</summary>
    public static long Bursts(long dramOffset, long dramStride, int rows, int rowBytes)
    {
        const int burst = NpuTarget.DramBurstBytes;
        if (dramStride % burst == 0 || rows == 1)
        {
            long first = dramOffset / burst;
            long last = (dramOffset + rowBytes - 1) / burst;
            return (last - first + 1) * rows;
        }

        long total = 0;
        for (int r = 0; r < rows; r++)
        {
            long start = dramOffset + r * dramStride;
            total += (start + rowBytes - 1) / burst - start / burst + 1;
        }

        return total;
    }

    /// <summary>Cycles the DRAM port is held by a transfer (2 per burst).</summary>
    public static long PortCycles(long bursts) => bursts * NpuTarget.CyclesPerBurst;

    /// <summary>Latency of a transfer alone on an idle port: 200 + 2 x bursts.</summary>
    public static long DmaCycles(long bursts) => NpuTarget.DramLatency + PortCycles(bursts);

    /// <summary>Array occupancy of one MXU_MM of m rows.</summary>
    public static long MatmulBusy(int m) => m;

    /// <summary>Cost of one weight block used for m rows when matmuls run back to back: max(m, 32).</summary>
    public static long WeightBlockCycles(int m) => System.Math.Max(m, NpuTarget.WeightLoadCycles);

    /// <summary>Whether a V_ACT function takes 2 cycles per vector instead of 1.</summary>
    public static bool IsTranscendental(VActivation f) => f is VActivation.Gelu or VActivation.Exp or VActivation.Tanh
        or VActivation.Sigmoid or VActivation.Rsqrt or VActivation.Reciprocal;

    /// <summary>VPU cycles of a V_* instruction: 8 + rows x vectors x c.</summary>
    public static long VectorCycles(in Instruction i)
    {
        int c = i.Op == Opcode.VActivation && IsTranscendental((VActivation)i.SubOp) ? 2 : 1;
        return NpuTarget.VpuStartup + (long)i.Rows * i.Vectors * c;
    }
}
