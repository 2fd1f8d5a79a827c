using System;
using System.Collections.Generic;
using System.Linq;
using Aot.Generator.Npu;

namespace Aot.Generator.Backends.Npu;

/// <summary>
/// Out[rows, N] = act(alpha * dequant * (A @ B) + bias) [* requant]: A streams from DRAM (<see cref="MatmulOperand"/>),
/// B is packed in CONST as 32-column panels in A's type (<see cref="NpuConstLayout"/>); bias, the per-column
/// dequantization scale (int8 A) and the requantization factor (int8 Out) are fp32 vectors of N padded to whole
/// panels in CONST.
/// </summary>
internal sealed record MatmulSpec(
    string Name,
    MatmulOperand A,
    int N,
    long PanelsOffset,
    long? BiasOffset,
    VActivation Activation,
    float Alpha,
    DramMatrix Out,
    long? DequantOffset = null,
    long? RequantOffset = null);

/// <summary>
/// The tiling the cost model chose, and its prediction. An output tile is Tm x Tn; the MXU fills one half of the
/// accumulator while the VPU drains the other; A tiles and (unless all of B stays resident) B tiles are
/// double-buffered in the scratchpad, so DMA, MXU and VPU overlap and every weight block serves Tm rows.
/// </summary>
internal sealed record MatmulPlan(int Tm, int Tn, bool ResidentB, long MxuCycles, long PortCycles, long VpuCycles, long Prologue, long Epilogue)
{
    public long PredictedCycles => Prologue + Math.Max(MxuCycles, Math.Max(PortCycles, VpuCycles)) + Epilogue;
}

/// <summary>
/// Plans (tile sizes from the cycle formulas the simulator uses, <see cref="NpuTiming"/>) and emits matmul kernels.
/// Software pipeline per output tile t = (m-tile i, n-tile j), in dispatch order: the loads of tile t+1 (A tile
/// when i changes, B tile unless resident), the MXU work of t, the VPU epilogue of t, the store of t. Semaphores
/// carry every dependence (data ready, buffer credits, accumulator full/drained, staging stored), so nothing
/// relies on timing and the race checker stays silent.
/// </summary>
internal static class NpuMatmul
{
    private const int Block = NpuTarget.ArraySize;
    private const int AccHalfRows = NpuTarget.AccumulatorRows / 2;
    private const int ChannelA = 0, ChannelB = 1, ChannelOut = 2, ChannelMisc = 3;

    public static int ElementBytes(NpuDType t) => t switch
    {
        NpuDType.Int8 => 1,
        NpuDType.Float16 => 2,
        _ => 4,
    };

    private static int Blocks(int n) => (n + Block - 1) / Block;

    private static int PanelBytes(MatmulSpec g) => g.A.KBlocks * Block * Block * ElementBytes(g.A.DType);

    /// <summary>k-blocks of a B panel per DMA (about 16 KiB), so weight loads start as soon as their chunk lands.</summary>
    private static int BChunk(MatmulSpec g) => Math.Max(1, 16384 / (Block * Block * ElementBytes(g.A.DType)));

    /// <summary>
    /// Streamed B goes through a ring of slots, one chunk of k-blocks of one panel each: the tile's panels are in use
    /// together, and three more slots let DMA run that far ahead. A slot is at most a bank (64 KiB) and the ring about
    /// 192 KiB, so slots sit in banks of their own (DMA fills one while the MXU reads others).
    /// </summary>
    private static (int Slots, int ChunkBlocks) Ring(MatmulSpec g, int tn)
    {
        int blockBytes = Block * Block * ElementBytes(g.A.DType);
        int slots = tn / Block + 3;
        int chunk = Math.Min(g.A.KBlocks, Math.Min(NpuTarget.ScratchpadBankBytes, 192 * 1024 / slots) / blockBytes);
        return (slots, Math.Max(1, chunk));
    }

    private static int VectorBytes(MatmulSpec g) => Blocks(g.N) * Block * 4;


    /// <summary>
    /// Scratchpad buffers of a candidate tiling, in order: A tile x2, all of B once when resident (else the ring's
    /// slots), staging x2, bias, dequantization and requantization vectors. The MXU reads A and B while DMA fills their
    /// twins, so each gets banks of its own; staging and the vectors (VPU and store traffic, off the critical path)
    /// share the rest.
    /// </summary>
    private static List<ScratchBuffer> Buffers(MatmulSpec g, int tm, int tn, bool residentB)
    {
        int a = g.A.TileBytes(tm);
        int stage = tm * tn * ElementBytes(g.Out.DType);
        var list = new List<ScratchBuffer> { new(a, 0), new(a, 1) };
        if (residentB) list.Add(new(Blocks(g.N) * PanelBytes(g), 3));
        else
        {
            var (slots, chunk) = Ring(g, tn);
            for (int i = 0; i < slots; i++) list.Add(new(chunk * Block * Block * ElementBytes(g.A.DType), 3 + i));
        }

        list.AddRange(new ScratchBuffer[] { new(stage, 2), new(stage, 2), new(VectorBytes(g), 2), new(VectorBytes(g), 2), new(VectorBytes(g), 2) });
        return list;
    }

    public static MatmulPlan Plan(MatmulSpec g)
    {
        MatmulPlan? best = null;
        double bestCost = double.MaxValue;
        int unit = g.A.RowGranularity;
        foreach (int tn in new[] { 32, 64, 128, 256, 512 })
        {
            if (tn > Block && tn / 2 >= Blocks(g.N) * Block) break;
            int maxRows = AccHalfRows / (tn / Block);
            for (int tm = Math.Min(g.A.Rows, maxRows / unit * unit); tm >= unit; tm = NextSmaller(tm, unit))
            {
                foreach (bool resident in new[] { true, false })
                {
                    if (resident && tn < Blocks(g.N) * Block) continue;
                    if (ScratchpadAllocator.Place(Buffers(g, tm, tn, resident)) is not { } placed) continue;
                    var plan = Estimate(g, tm, tn, resident);
                    // Bank conflicts slow the MXU by up to a cycle per row; prefer tilings whose buffers get their own banks.
                    double cost = plan.PredictedCycles * (placed.BankAligned ? 1.0 : 1.25);
                    if (cost < bestCost)
                    {
                        best = plan;
                        bestCost = cost;
                    }
                }
            }
        }

        return best ?? throw new NpuUnsupportedException($"{g.Name}: no tiling fits the scratchpad (reduction of {g.A.KBlocks} blocks)");
    }

    private static int NextSmaller(int tm, int unit) => unit > 1 ? tm - unit : tm > Block ? tm - Block : tm / 2;

    private static MatmulPlan Estimate(MatmulSpec g, int tm, int tn, bool residentB)
    {
        int mTiles = (g.A.Rows + tm - 1) / tm;
        int nTiles = (g.N + tn - 1) / tn;
        int outBytes = ElementBytes(g.Out.DType);
        long mxu = 0, bursts = 0, vpu = 0;
        long panelBursts = 0;
        int chunkBlocks = residentB ? BChunk(g) : Ring(g, tn).ChunkBlocks;
        for (int kb = 0; kb < g.A.KBlocks; kb += chunkBlocks) panelBursts += ContiguousBursts(Math.Min(chunkBlocks, g.A.KBlocks - kb) * Block * Block * ElementBytes(g.A.DType));
        if (residentB) bursts += panelBursts * Blocks(g.N);
        long firstA = 0;
        for (int i = 0; i < mTiles; i++)
        {
            int rows = Math.Min(tm, g.A.Rows - i * tm);
            foreach (var load in g.A.Loads(i * tm, rows, 0, 0))
            {
                long b = NpuTiming.Bursts(load.Dma.DramOffset, load.Dma.DramStride, load.Dma.Rows, load.Dma.RowBytes);
                bursts += b;
                if (i == 0 && load.FirstBlock == 0) firstA = b;
            }

            for (int j = 0; j < nTiles; j++)
            {
                int panels = Math.Min(tn / Block, Blocks(g.N) - j * (tn / Block));
                for (int kb = 0; kb < g.A.KBlocks; kb++)
                {
                    foreach (var run in g.A.Runs(i * tm, rows, 0, kb)) mxu += panels * NpuTiming.WeightBlockCycles(run.Rows);
                }

                if (!residentB) bursts += panelBursts * panels;
                foreach (var v in Epilogue(g, rows, panels, 0, 0, 0, 0, 0)) vpu += NpuTiming.VectorCycles(v);
                int cols = Math.Min(tn, g.N - j * tn);
                bursts += NpuTiming.Bursts(g.Out.Offset + (long)i * tm * g.Out.RowStride + (long)j * tn * outBytes, g.Out.RowStride, rows, cols * outBytes);
            }
        }

        long firstB = ContiguousBursts(Math.Min(BChunk(g), g.A.KBlocks) * Block * Block * ElementBytes(g.A.DType));
        long prologue = NpuTiming.DmaCycles(firstA + firstB) + NpuTarget.WeightLoadCycles;
        int lastRows = g.A.Rows - (mTiles - 1) * tm;
        int lastPanels = Blocks(g.N) - (nTiles - 1) * (tn / Block);
        long tail = NpuTarget.MatmulFillDrain;
        foreach (var v in Epilogue(g, lastRows, lastPanels, 0, 0, 0, 0, 0)) tail += NpuTiming.VectorCycles(v);
        tail += NpuTiming.DmaCycles(NpuTiming.Bursts(0, g.Out.RowStride, lastRows, Math.Min(tn, g.N) * outBytes));
        return new MatmulPlan(tm, tn, residentB, mxu, NpuTiming.PortCycles(bursts), vpu, prologue, tail);
    }

    /// <summary>
    /// The VPU instructions that turn one accumulator tile (rows x panels*32; row r of panel p at accumulator row
    /// accRow + r * panelsPerRow + p) into the staging buffer in the output type.
    /// </summary>
    private static List<Instruction> Epilogue(MatmulSpec g, int rows, int panels, int accRow, int panelsPerRow, uint stage, uint bias, uint dequant, uint requant = 0)
    {
        var list = new List<Instruction>();
        uint acc = (uint)(NpuTarget.AccumulatorBase + accRow * NpuTarget.AccumulatorRowBytes);
        int accStride = Math.Max(1, panelsPerRow) * NpuTarget.AccumulatorRowBytes;
        if (g.A.DType == NpuDType.Int8)
        {
            // int32 sums -> fp32, times the column's activation x weight scale.
            list.Add(Instruction.Vector(Opcode.VConvert, (byte)NpuDType.Float32, rows, panels, acc, accStride, acc, accStride,
                imm: Instruction.BitsOf(1f), aux: (byte)NpuDType.Int32));
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Mul, rows, panels, acc, accStride, acc, accStride, dequant, 0));
        }

        int outBytes = ElementBytes(g.Out.DType);
        int stageStride = Math.Max(1, panelsPerRow) * Block * outBytes;
        bool transform = g.BiasOffset is not null || g.Activation != VActivation.Identity || g.Alpha != 1f;
        byte noBias = g.BiasOffset is null ? InstructionFlags.VNoS2 : (byte)0;
        if (g.BiasOffset is null) bias = 0;
        if (g.Out.DType == NpuDType.Float32)
        {
            list.Add(Instruction.Vector(Opcode.VActivation, (byte)g.Activation, rows, panels, stage, stageStride, acc, accStride,
                bias, 0, noBias, Instruction.BitsOf(g.Alpha)));
            return list;
        }

        if (transform)
        {
            list.Add(Instruction.Vector(Opcode.VActivation, (byte)g.Activation, rows, panels, acc, accStride, acc, accStride,
                bias, 0, noBias, Instruction.BitsOf(g.Alpha)));
        }

        if (g.Out.DType == NpuDType.Int8)
        {
            // x / scale, then round and saturate to int8.
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Mul, rows, panels, acc, accStride, acc, accStride, requant, 0));
        }

        list.Add(Instruction.Vector(Opcode.VConvert, (byte)g.Out.DType, rows, panels, stage, stageStride, acc, accStride,
            imm: Instruction.BitsOf(1f), aux: (byte)NpuDType.Float32));
        return list;
    }

    public static void Emit(NpuProgramBuilder b, MatmulSpec g, MatmulPlan plan)
    {
        int inBytes = ElementBytes(g.A.DType);
        int outBytes = ElementBytes(g.Out.DType);
        int kBlocks = g.A.KBlocks;
        int tm = plan.Tm, tn = plan.Tn, panelsPerTile = tn / Block;
        int mTiles = (g.A.Rows + tm - 1) / tm;
        int nTiles = (g.N + tn - 1) / tn;
        int panelBytes = PanelBytes(g);
        int blockBytes = Block * Block * inBytes;
        int bChunk = BChunk(g);

        var at = ScratchpadAllocator.Place(Buffers(g, tm, tn, plan.ResidentB))!.Value.Addresses;
        uint[] aBuf = { at[0], at[1] };
        var (ringSlots, ringChunk) = plan.ResidentB ? (1, 0) : Ring(g, tn);
        uint[] bBuf = at.Skip(2).Take(ringSlots).ToArray();
        int next = 2 + ringSlots;
        uint[] stage = { at[next], at[next + 1] };
        uint biasBuf = at[next + 2], dequantBuf = at[next + 3], requantBuf = at[next + 4];

        int aReady = b.Semaphore(), aUsed = b.Semaphore(), bReady = b.Semaphore(), bUsed = b.Semaphore();
        int accFull = b.Semaphore(), accDrained = b.Semaphore(), stored = b.Semaphore(), vectorsReady = b.Semaphore(), prepared = b.Semaphore();
        uint aUsed0 = b.Signals(aUsed), bUsed0 = b.Signals(bUsed), drained0 = b.Signals(accDrained), stored0 = b.Signals(stored);

        b.Mark(g.Name, end: false);
        uint vectorsCount = 0;
        if (g.BiasOffset is long biasOffset) vectorsCount = b.Signal(Contiguous(true, ChannelMisc, Region.Const, biasOffset, biasBuf, VectorBytes(g)), vectorsReady);
        if (g.DequantOffset is long dequantOffset) vectorsCount = b.Signal(Contiguous(true, ChannelMisc, Region.Const, dequantOffset, dequantBuf, VectorBytes(g)), vectorsReady);
        if (g.RequantOffset is long requantOffset) vectorsCount = b.Signal(Contiguous(true, ChannelMisc, Region.Const, requantOffset, requantBuf, VectorBytes(g)), vectorsReady);

        // Operand buffers that need padding zeroed: the VPU does it once, before the first load into them.
        uint preparedCount = 0;
        foreach (var buffer in aBuf)
        {
            foreach (var fill in g.A.Prepare(buffer, tm)) preparedCount = b.Signal(fill, prepared);
        }

        // Signal counts the consumers wait for, filled in as the producers are emitted (loads go out one tile early).
        var aBlockReady = new uint[2, kBlocks];
        var residentReady = new uint[plan.ResidentB ? Blocks(g.N) : 0, kBlocks];
        if (plan.ResidentB)
        {
            for (int kb = 0; kb < kBlocks; kb += bChunk)
            {
                int blocks = Math.Min(bChunk, kBlocks - kb);
                for (int p = 0; p < Blocks(g.N); p++)
                {
                    uint count = b.Signal(Contiguous(true, ChannelB, Region.Const, g.PanelsOffset + (long)p * panelBytes + kb * blockBytes,
                        (uint)(bBuf[0] + p * panelBytes + kb * blockBytes), blocks * blockBytes), bReady);
                    for (int k = kb; k < kb + blocks; k++) residentReady[p, k] = count;
                }
            }
        }

        // Streamed B: chunk c of the sequence (tile, k-chunk, panel) goes to ring slot c % slots once the weight load
        // that finished chunk c - slots has signalled; its DMA is emitted right after that load.
        var chunks = new List<(int Tile, int FirstBlock, int Blocks, int Panel)>();
        for (int t = 0; !plan.ResidentB && t < mTiles * nTiles; t++)
        {
            int panels = Math.Min(panelsPerTile, Blocks(g.N) - t % nTiles * panelsPerTile);
            for (int kb = 0; kb < kBlocks; kb += ringChunk)
            {
                for (int p = 0; p < panels; p++) chunks.Add((t, kb, Math.Min(ringChunk, kBlocks - kb), p));
            }
        }

        var chunkReady = new uint[chunks.Count];
        void LoadChunk(int c)
        {
            if (c >= chunks.Count) return;
            var (t, kb, blocks, p) = chunks[c];
            int panel = t % nTiles * panelsPerTile + p;
            var dma = Contiguous(true, ChannelB, Region.Const, g.PanelsOffset + (long)panel * panelBytes + kb * blockBytes, bBuf[c % ringSlots], blocks * blockBytes);
            if (c >= ringSlots) dma = dma.WithWait(bUsed, bUsed0 + (uint)(c - ringSlots + 1));
            chunkReady[c] = b.Signal(dma, bReady);
        }

        for (int c = 0; c < Math.Min(ringSlots, chunks.Count); c++) LoadChunk(c);
        int nextChunk = 0;

        void Loads(int t)
        {
            int i = t / nTiles, j = t % nTiles;
            if (j == 0)
            {
                // A tile i reuses the buffer of tile i-2: wait until the MXU has finished with it.
                int rows = Math.Min(tm, g.A.Rows - i * tm);
                bool first = true;
                foreach (var load in g.A.Loads(i * tm, rows, aBuf[i % 2], ChannelA))
                {
                    var dma = load.Dma;
                    if (first) dma = i >= 2 ? dma.WithWait(aUsed, aUsed0 + (uint)(i - 1)) : preparedCount > 0 ? dma.WithWait(prepared, preparedCount) : dma;
                    first = false;
                    uint count = b.Signal(dma, aReady);
                    for (int k = load.FirstBlock; k < load.EndBlock; k++) aBlockReady[i % 2, k] = count;
                }
            }
        }

        int tiles = mTiles * nTiles;
        Loads(0);
        for (int t = 0; t < tiles; t++)
        {
            if (t + 1 < tiles) Loads(t + 1);
            int i = t / nTiles, j = t % nTiles;
            int rows = Math.Min(tm, g.A.Rows - i * tm);
            int panels = Math.Min(panelsPerTile, Blocks(g.N) - j * panelsPerTile);
            int accBase = (t % 2) * AccHalfRows;
            int firstChunk = nextChunk;

            // MXU: each weight block once, for every run (all rows) of the A tile. The tile's last matmul is the last
            // to become visible, so it tells the VPU the tile is ready.
            if (t >= 2) b.Emit(Instruction.QueuedWait(Unit.Mxu, accDrained, drained0 + (uint)(t - 1)));
            Instruction? pending = null;
            for (int kb = 0; kb < kBlocks; kb++)
            {
                for (int p = 0; p < panels; p++)
                {
                    Instruction lw;
                    if (plan.ResidentB)
                    {
                        int panel = j * panelsPerTile + p;
                        lw = Instruction.LoadWeights(g.A.DType, (uint)(bBuf[0] + panel * panelBytes + kb * blockBytes), (uint)(Block * inBytes), g.A.Depth(kb), Block);
                        if (kb % bChunk == 0) lw = lw.WithWait(bReady, residentReady[panel, kb]);
                        b.Emit(lw);
                    }
                    else
                    {
                        int c = firstChunk + kb / ringChunk * panels + p;
                        int offset = kb - chunks[c].FirstBlock;
                        lw = Instruction.LoadWeights(g.A.DType, (uint)(bBuf[c % ringSlots] + offset * blockBytes), (uint)(Block * inBytes), g.A.Depth(kb), Block);
                        if (offset == 0) lw = lw.WithWait(bReady, chunkReady[c]);
                        if (offset == chunks[c].Blocks - 1)
                        {
                            // The chunk's last weight block frees its slot for chunk c + slots.
                            b.Signal(lw, bUsed);
                            LoadChunk(c + ringSlots);
                        }
                        else
                        {
                            b.Emit(lw);
                        }
                    }

                    bool swap = true;
                    foreach (var run in g.A.Runs(i * tm, rows, aBuf[i % 2], kb))
                    {
                        var mm = Instruction.Matmul(g.A.DType, run.Address, (uint)run.Stride, run.Rows, g.A.Depth(kb),
                            accBase + run.AccRowOffset * panelsPerTile + p, panelsPerTile, accumulate: kb > 0, swapWeights: swap);
                        if (swap && p == 0 && (kb == 0 || aBlockReady[i % 2, kb] != aBlockReady[i % 2, kb - 1])) mm = mm.WithWait(aReady, aBlockReady[i % 2, kb]);
                        swap = false;
                        if (pending is { } previous) b.Emit(previous);
                        pending = mm;
                    }

                    if (pending is { } last && !(kb == kBlocks - 1 && p == panels - 1))
                    {
                        b.Emit(last);
                        pending = null;
                    }
                }
            }

            b.Signal(pending!.Value, accFull);
            if (!plan.ResidentB) nextChunk += (kBlocks + ringChunk - 1) / ringChunk * panels;

            // At the last n-tile, the A buffer is free for tile i+2 once the last matmul reading it is done.
            if (j == nTiles - 1) b.Signal(Instruction.QueuedWait(Unit.Mxu, accFull, b.Signals(accFull)), aUsed);

            // VPU epilogue into staging buffer t % 2, once the store of tile t-2 has left it.
            if (t >= 2) b.Emit(Instruction.QueuedWait(Unit.Vpu, stored, stored0 + (uint)(t - 1)));
            if (t == 0 && vectorsCount > 0) b.Emit(Instruction.QueuedWait(Unit.Vpu, vectorsReady, vectorsCount));
            var epilogue = Epilogue(g, rows, panels, accBase, panelsPerTile, stage[t % 2], biasBuf + (uint)(j * tn * 4), dequantBuf + (uint)(j * tn * 4), requantBuf + (uint)(j * tn * 4));
            for (int e = 0; e < epilogue.Count; e++)
            {
                var v = epilogue[e];
                if (e == 0) v = v.WithWait(accFull, b.Signals(accFull));
                if (e == epilogue.Count - 1) b.Signal(v, accDrained);
                else b.Emit(v);
            }

            int cols = Math.Min(tn, g.N - j * tn);
            var st = Instruction.Dma(false, ChannelOut, g.Out.Region, (uint)(g.Out.Offset + (long)i * tm * g.Out.RowStride + (long)j * tn * outBytes),
                (uint)g.Out.RowStride, stage[t % 2], (uint)(tn * outBytes), rows, cols * outBytes);
            b.Signal(st.WithWait(accDrained, b.Signals(accDrained)), stored);
        }

        // The kernel is over when its last store has landed; the next kernel reads what it wrote.
        b.Emit(Instruction.Create(Opcode.Wait).WithWait(stored, b.Signals(stored)));
        b.Mark(g.Name, end: true);
    }

    /// <summary>Row size for a contiguous copy: rows of whole bursts, each within the 16-bit row-bytes field.</summary>
    private static int ContiguousRowBytes(int bytes)
    {
        foreach (int row in new[] { 4096, 2048, 1024, 512, 256, 128, 64 })
        {
            if (bytes % row == 0) return row;
        }

        return bytes <= ushort.MaxValue ? bytes : throw new InvalidOperationException($"a contiguous copy of {bytes} bytes is not a multiple of 64");
    }

    private static long ContiguousBursts(int bytes)
    {
        int row = ContiguousRowBytes(bytes);
        return NpuTiming.Bursts(0, row, bytes / row, row);
    }

    /// <summary>A DMA of <paramref name="bytes"/> contiguous bytes (DRAM and scratchpad both contiguous).</summary>
    public static Instruction Contiguous(bool load, int channel, Region region, long dramOffset, uint local, int bytes)
    {
        int row = ContiguousRowBytes(bytes);
        return Instruction.Dma(load, channel, region, (uint)dramOffset, (uint)row, local, (uint)row, bytes / row, row);
    }
}
