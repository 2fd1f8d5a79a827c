using System;
using System.Collections.Generic;
using Aot.Generator.Npu;

namespace Aot.Generator.Backends.Npu;

/// <summary>A row-wise VPU kernel over In[rows, cols] (fp16) into Out: softmax, or layernorm with fp32 gamma/beta in CONST.</summary>
internal sealed record RowSpec(string Name, NpuRows.Kind Kind, int Rows, int Cols, DramMatrix In, DramMatrix Out, long? Gamma, long? Beta, float Epsilon);

internal sealed record RowPlan(int TileRows, long VpuCycles, long PortCycles, long Prologue, long Epilogue)
{
    public long PredictedCycles => Prologue + Math.Max(VpuCycles, PortCycles) + Epilogue;
}

/// <summary>
/// Softmax and layernorm on the VPU, a tile of rows at a time, with the loads of tile t+1 and the store of tile t-1
/// overlapping the arithmetic of tile t (double-buffered input, work and staging buffers). Rows are padded to whole
/// 32-lane vectors; the padding of the input buffers is filled once with the reduction's neutral value
/// (-inf for softmax's max, 0 for layernorm's sums), and DMA never overwrites it.
/// Softmax: max, exp(x - max), sum, times 1/sum: 6 VPU passes per vector (7 with an fp16 result).
/// LayerNorm: mean and mean of squares in two reductions (var = E[x^2] - mean^2, so the padding needs no masking),
/// then (x - mean) * rstd * gamma + beta: 7 passes per vector (8 with an fp16 result).
/// </summary>
internal static class NpuRows
{
    public enum Kind
    {
        Softmax,
        LayerNorm,
    }

    private const int Lanes = NpuTarget.VpuLanes;
    private const int VecBytes = NpuTarget.VpuVectorBytes;

    private static int Vectors(int cols) => (cols + Lanes - 1) / Lanes;

    /// <summary>A 32 x 32 block of fp16 ones: as MXU weights it sums each row's 32 elements into every lane.</summary>
    private const int OnesBytes = NpuTarget.ArraySize * NpuTarget.ArraySize * 2;

    private static int InputBytes(RowSpec s, int tileRows) => RoundUp(tileRows * Vectors(s.Cols) * Lanes * 2, VecBytes);

    /// <summary>
    /// Buffers, in order: input x2, work x2, staging x2 (fp16 results only), then statistics, gamma, beta, epsilon.
    /// DMA fills one input and stores one work (or staging) buffer while the VPU uses the others, so each double
    /// buffer gets banks of its own; the small constants share one.
    /// </summary>
    private static List<ScratchBuffer> Buffers(RowSpec s, int tileRows)
    {
        int v = Vectors(s.Cols);
        int work = tileRows * v * VecBytes;
        int stage = s.Out.DType == NpuDType.Float32 ? 0 : tileRows * v * Lanes * NpuMatmul.ElementBytes(s.Out.DType);
        return new List<ScratchBuffer>
        {
            new(InputBytes(s, tileRows), 0), new(InputBytes(s, tileRows), 1), new(work, 2), new(work, 3), new(stage, 4), new(stage, 5),
            new(4 * tileRows * VecBytes, 6), new(v * VecBytes, 6), new(v * VecBytes, 6), new(VecBytes, 6), new(OnesBytes, 6),
        };
    }

    public static RowPlan Plan(RowSpec s)
    {
        if (Vectors(s.Cols) > byte.MaxValue) throw new NpuUnsupportedException($"{s.Name}: rows of {s.Cols} elements exceed the VPU's 255 vectors per row");
        RowPlan? best = null;
        double bestCost = double.MaxValue;
        for (int rows = Math.Min(s.Rows, 1024); rows >= 1; rows = rows > 8 ? rows - 8 : rows - 1)
        {
            if (ScratchpadAllocator.Place(Buffers(s, rows)) is not { } placed) continue;
            var plan = Estimate(s, rows);
            // Bank conflicts cost the VPU a cycle per row and vector: prefer tiles whose buffers get their own banks.
            double cost = plan.PredictedCycles * (placed.BankAligned ? 1.0 : 1.5);
            if (cost < bestCost)
            {
                best = plan;
                bestCost = cost;
            }
        }

        return best ?? throw new NpuUnsupportedException($"{s.Name}: a row of {s.Cols} does not fit the scratchpad");
    }

    private static RowPlan Estimate(RowSpec s, int tileRows)
    {
        int tiles = (s.Rows + tileRows - 1) / tileRows;
        long vpu = 0, bursts = 0;
        for (int t = 0; t < tiles; t++)
        {
            int rows = Math.Min(tileRows, s.Rows - t * tileRows);
            foreach (var v in Body(s, rows, default, 0).Body) vpu += NpuTiming.VectorCycles(v);
            bursts += NpuTiming.Bursts(s.In.Offset + (long)t * tileRows * s.In.RowStride, s.In.RowStride, rows, s.Cols * 2);
            bursts += NpuTiming.Bursts(s.Out.Offset + (long)t * tileRows * s.Out.RowStride, s.Out.RowStride, rows, s.Cols * NpuMatmul.ElementBytes(s.Out.DType));
        }

        int first = Math.Min(tileRows, s.Rows);
        long prologue = NpuTiming.DmaCycles(NpuTiming.Bursts(s.In.Offset, s.In.RowStride, first, s.Cols * 2));
        int last = s.Rows - (tiles - 1) * tileRows;
        long epilogue = NpuTiming.DmaCycles(NpuTiming.Bursts(0, s.Out.RowStride, last, s.Cols * NpuMatmul.ElementBytes(s.Out.DType)));
        return new RowPlan(tileRows, vpu, NpuTiming.PortCycles(bursts), prologue, epilogue);
    }

    /// <summary>Scratchpad addresses of one tile's buffers.</summary>
    private readonly record struct TileAddresses(uint In, uint Work, uint Stage, uint Stats, uint Gamma, uint Beta, uint Epsilon);

    /// <summary>
    /// The VPU instructions for one tile of <paramref name="rows"/> rows (the first converts the input, the last
    /// produces the output), the index of the one after which the input buffer is no longer read, and (layernorm) the
    /// index of the one that reads the row sums the MXU computed into accumulator rows <paramref name="accRow"/>...
    /// </summary>
    private static (List<Instruction> Body, int Release, int ReadsSums) Body(RowSpec s, int rows, TileAddresses b, int accRow)
    {
        int v = Vectors(s.Cols);
        int work = v * VecBytes;
        int inStride = v * Lanes * 2;
        uint stat0 = b.Stats, stat1 = b.Stats + (uint)(rows * VecBytes), stat2 = b.Stats + (uint)(2 * rows * VecBytes);
        const byte bcast = InstructionFlags.VBroadcastS2;
        var list = new List<Instruction>
        {
            Instruction.Vector(Opcode.VConvert, (byte)NpuDType.Float32, rows, v, b.Work, work, b.In, inStride, imm: Instruction.BitsOf(1f), aux: (byte)NpuDType.Float16),
        };
        int release = 0, readsSums = -1;
        if (s.Kind == Kind.Softmax)
        {
            list.Add(Instruction.Vector(Opcode.VReduce, (byte)VReduceOp.Max, rows, v, stat0, VecBytes, b.Work, work, flags: InstructionFlags.VBroadcastResult, imm: Instruction.BitsOf(-1f)));
            list.Add(Instruction.Vector(Opcode.VActivation, (byte)VActivation.Exp, rows, v, b.Work, work, b.Work, work, stat0, VecBytes, bcast, Instruction.BitsOf(1f)));
            list.Add(Instruction.Vector(Opcode.VReduce, (byte)VReduceOp.Sum, rows, v, stat1, VecBytes, b.Work, work, flags: InstructionFlags.VBroadcastResult, imm: Instruction.BitsOf(1f)));
            list.Add(Instruction.Vector(Opcode.VActivation, (byte)VActivation.Reciprocal, rows, 1, stat1, VecBytes, stat1, VecBytes, flags: InstructionFlags.VNoS2, imm: Instruction.BitsOf(1f)));
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Mul, rows, v, b.Work, work, b.Work, work, stat1, VecBytes, bcast));
        }
        else
        {
            // The row sums come from the MXU (x @ ones, every lane of the row's accumulator row holds the sum), which
            // saves the VPU a pass over the tile; the VPU computes the sums of squares.
            float inv = 1f / s.Cols;
            uint sums = (uint)(NpuTarget.AccumulatorBase + accRow * NpuTarget.AccumulatorRowBytes);
            list.Add(Instruction.Vector(Opcode.VReduce, (byte)VReduceOp.SumOfSquares, rows, v, stat1, VecBytes, b.Work, work, flags: InstructionFlags.VBroadcastResult, imm: Instruction.BitsOf(inv)));
            list.Add(Instruction.Vector(Opcode.VImmediate, (byte)VBinaryOp.Mul, rows, 1, stat0, VecBytes, sums, NpuTarget.AccumulatorRowBytes, imm: Instruction.BitsOf(inv)));
            readsSums = list.Count - 1;
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Mul, rows, 1, stat2, VecBytes, stat0, VecBytes, stat0, VecBytes));
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Sub, rows, 1, stat1, VecBytes, stat1, VecBytes, stat2, VecBytes));
            list.Add(Instruction.Vector(Opcode.VActivation, (byte)VActivation.Rsqrt, rows, 1, stat1, VecBytes, stat1, VecBytes, b.Epsilon, 0, imm: Instruction.BitsOf(1f)));
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Sub, rows, v, b.Work, work, b.Work, work, stat0, VecBytes, bcast));
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Mul, rows, v, b.Work, work, b.Work, work, stat1, VecBytes, bcast));
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Mul, rows, v, b.Work, work, b.Work, work, b.Gamma, 0));
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Add, rows, v, b.Work, work, b.Work, work, b.Beta, 0));
            release = readsSums;
        }

        if (s.Out.DType != NpuDType.Float32)
        {
            list.Add(Instruction.Vector(Opcode.VConvert, (byte)s.Out.DType, rows, v, b.Stage, v * Lanes * NpuMatmul.ElementBytes(s.Out.DType), b.Work, work,
                imm: Instruction.BitsOf(1f), aux: (byte)NpuDType.Float32));
        }

        return (list, release, readsSums);
    }

    public static RowPlan Emit(NpuProgramBuilder builder, RowSpec s, RowPlan plan)
    {
        int v = Vectors(s.Cols);
        int tileRows = plan.TileRows;
        int tiles = (s.Rows + tileRows - 1) / tileRows;
        var at = ScratchpadAllocator.Place(Buffers(s, tileRows))!.Value.Addresses;
        uint[] input = { at[0], at[1] };
        uint[] work = { at[2], at[3] };
        uint[] stage = { at[4], at[5] };
        uint stats = at[6], gamma = at[7], beta = at[8], epsilon = at[9], ones = at[10];
        int inBytes = InputBytes(s, tileRows);
        const int chIn = 0, chOut = 1, chConst = 2;

        int loaded = builder.Semaphore(), used = builder.Semaphore(), done = builder.Semaphore(), stored = builder.Semaphore(), ready = builder.Semaphore();
        int summed = builder.Semaphore();
        uint used0 = builder.Signals(used), stored0 = builder.Signals(stored);
        bool layerNorm = s.Kind == Kind.LayerNorm;
        builder.Mark(s.Name, end: false);

        // Once: the padding value in both input buffers, and layernorm's constants.
        uint fill = s.Kind == Kind.Softmax ? 0xFC00FC00u : 0u;
        foreach (var buffer in input)
        {
            builder.Emit(Instruction.Vector(Opcode.VFill, 0, inBytes / VecBytes, 1, buffer, VecBytes, flags: InstructionFlags.VInt, imm: fill));
        }

        uint constantsReady = 0;
        if (s.Kind == Kind.LayerNorm)
        {
            builder.Emit(NpuMatmul.Contiguous(true, chConst, Region.Const, s.Gamma!.Value, gamma, v * VecBytes));
            constantsReady = builder.Signal(NpuMatmul.Contiguous(true, chConst, Region.Const, s.Beta!.Value, beta, v * VecBytes), ready);
            builder.Emit(Instruction.Vector(Opcode.VFill, 0, 1, 1, epsilon, VecBytes, imm: Instruction.BitsOf(s.Epsilon)));
            builder.Emit(Instruction.Vector(Opcode.VFill, 0, OnesBytes / VecBytes, 1, ones, VecBytes, flags: InstructionFlags.VInt, imm: 0x3C003C00u));
        }

        // The fills must land before the first load writes into the buffers.
        uint fills = builder.Signal(Instruction.Vector(Opcode.VFill, 0, 1, 1, stats, VecBytes), done);
        var bufs = new TileAddresses(0, 0, 0, stats, gamma, beta, epsilon);
        var tileLoaded = new uint[tiles];

        void Load(int t)
        {
            int rows = Math.Min(tileRows, s.Rows - t * tileRows);
            var dma = Instruction.Dma(true, chIn, s.In.Region, (uint)(s.In.Offset + (long)t * tileRows * s.In.RowStride), (uint)s.In.RowStride,
                input[t % 2], (uint)(v * Lanes * 2), rows, s.Cols * 2);
            // Tile t reuses the input buffer of tile t-2, free once that tile's conversion is done.
            dma = t >= 2 ? dma.WithWait(used, used0 + (uint)(t - 1)) : dma.WithWait(done, fills);
            tileLoaded[t] = builder.Signal(dma, loaded);
        }

        Load(0);
        if (constantsReady > 0) builder.Emit(Instruction.QueuedWait(Unit.Vpu, ready, constantsReady));
        if (layerNorm) builder.Emit(Instruction.LoadWeights(NpuDType.Float16, ones, NpuTarget.ArraySize * 2, NpuTarget.ArraySize, NpuTarget.ArraySize).WithWait(done, fills));
        var sumsReady = new uint[tiles];
        for (int t = 0; t < tiles; t++)
        {
            if (t + 1 < tiles) Load(t + 1);
            int rows = Math.Min(tileRows, s.Rows - t * tileRows);
            int accRow = t % 2 * (NpuTarget.AccumulatorRows / 2);
            if (layerNorm)
            {
                // Row sums on the MXU: x @ ones, one matmul per 32 columns into this tile's half of the accumulator,
                // which the VPU last read two tiles ago.
                if (t >= 2) builder.Emit(Instruction.QueuedWait(Unit.Mxu, used, used0 + (uint)(t - 1)));
                for (int kb = 0; kb < v; kb++)
                {
                    var mm = Instruction.Matmul(NpuDType.Float16, (uint)(input[t % 2] + kb * NpuTarget.ArraySize * 2), (uint)(v * Lanes * 2), rows, NpuTarget.ArraySize,
                        accRow, 1, accumulate: kb > 0, swapWeights: t == 0 && kb == 0);
                    if (kb == 0) mm = mm.WithWait(loaded, tileLoaded[t]);
                    if (kb == v - 1) sumsReady[t] = builder.Signal(mm, summed);
                    else builder.Emit(mm);
                }
            }

            var (body, release, readsSums) = Body(s, rows, bufs with { In = input[t % 2], Work = work[t % 2], Stage = stage[t % 2] }, accRow);
            // The work (or staging) buffer of tile t-2 must have been stored before it is overwritten.
            if (t >= 2) builder.Emit(Instruction.QueuedWait(Unit.Vpu, stored, stored0 + (uint)(t - 1)));
            for (int i = 0; i < body.Count; i++)
            {
                var instr = body[i];
                if (i == 0) instr = instr.WithWait(loaded, tileLoaded[t]);
                if (i == readsSums) instr = instr.WithWait(summed, sumsReady[t]);
                if (i == release)
                {
                    // Past this instruction nothing reads the input buffer (nor, for layernorm, this accumulator half):
                    // it frees them for tile t+2.
                    builder.Signal(instr, used);
                }
                else if (i == body.Count - 1)
                {
                    builder.Signal(instr, done);
                }
                else
                {
                    builder.Emit(instr);
                }
            }

            bool direct = s.Out.DType == NpuDType.Float32;
            int outBytes = NpuMatmul.ElementBytes(s.Out.DType);
            var st = Instruction.Dma(false, chOut, s.Out.Region, (uint)(s.Out.Offset + (long)t * tileRows * s.Out.RowStride), (uint)s.Out.RowStride,
                direct ? work[t % 2] : stage[t % 2], (uint)(direct ? v * VecBytes : v * Lanes * outBytes), rows, s.Cols * outBytes);
            builder.Signal(st.WithWait(done, builder.Signals(done)), stored);
        }

        builder.Emit(Instruction.Create(Opcode.Wait).WithWait(stored, builder.Signals(stored)));
        builder.Mark(s.Name, end: true);
        return plan;
    }

    private static int RoundUp(int x, int to) => (x + to - 1) / to * to;
}
