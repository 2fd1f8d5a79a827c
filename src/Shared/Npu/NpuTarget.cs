// Linked as source into Aot.Runtime (the simulator and loader) and Aot.Generator (the NPU backend): one
// definition of the machine, so the compiler's cost model and the simulator cannot disagree on its sizes.
#if AOT_GENERATOR
namespace Aot.Generator.Npu;
#else
namespace Aot.Npu;
#endif

/// <summary>The NPU-1 machine parameters (docs/npu/isa.md). Every size the loader checks comes from here.</summary>
public static class NpuTarget
{
    public const ushort IsaMajor = 1;
    public const ushort IsaMinor = 0;

    /// <summary>The systolic array is ArraySize x ArraySize: 1024 MACs per cycle.</summary>
    public const int ArraySize = 32;
    public const int MacsPerCycle = ArraySize * ArraySize;

    public const int ScratchpadBytes = 512 * 1024;
    public const int ScratchpadBanks = 8;
    public const int ScratchpadBankBytes = ScratchpadBytes / ScratchpadBanks;
    public const int ScratchpadRowBytes = 64;

    /// <summary>Accumulator: AccumulatorRows rows of 32 lanes x 32 bits; VPU addresses see it after the scratchpad.</summary>
    public const int AccumulatorRows = 1024;
    public const int AccumulatorRowBytes = ArraySize * 4;
    public const int AccumulatorBytes = AccumulatorRows * AccumulatorRowBytes;
    public const int AccumulatorBanks = 4;
    public const int AccumulatorBase = ScratchpadBytes;
    public const int LocalAddressLimit = AccumulatorBase + AccumulatorBytes;

    public const int VpuLanes = 32;
    public const int VpuVectorBytes = VpuLanes * 4;

    public const int DmaChannels = 4;
    public const int DmaInFlightPerChannel = 4;
    public const int DramBytesPerCycle = 32;
    public const int DramBurstBytes = 64;
    public const int DramLatency = 200;
    /// <summary>Cycles the DRAM port is busy per 64-byte burst (64 B at 32 B/cycle).</summary>
    public const int CyclesPerBurst = DramBurstBytes / DramBytesPerCycle;

    public const int Semaphores = 32;
    public const int QueueDepth = 16;

    public const int WeightLoadCycles = 32;
    public const int MatmulFillDrain = 64;
    public const int VpuStartup = 8;
    public const int BankConflictCost = 2;
}
