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

    private static (int In, int Work, int Stage, int Stats) Footprint(RowSpec s, int tileRows)
    {
        int v = Vectors(s.Cols);
        int inBytes = RoundUp(tileRows * v * Lanes * 2, VecBytes);
        int work = tileRows * v * VecBytes;
        int stage = s.Out.DType == NpuDType.Float32 ? 0 : tileRows * v * Lanes * NpuMatmul.ElementBytes(s.Out.DType);
        int stats = 4 * tileRows * VecBytes;
        return (inBytes, work, stage, stats);
    }

    public static RowPlan Plan(RowSpec s)
    {
        if (Vectors(s.Cols) > byte.MaxValue) throw new NpuUnsupportedException($"{s.Name}: rows of {s.Cols} elements exceed the VPU's 255 vectors per row");
        RowPlan? best = null;
        for (int rows = Math.Min(s.Rows, 1024); rows >= 1; rows = rows > 8 ? rows - 8 : rows - 1)
        {
            var f = Footprint(s, rows);
            int constants = 3 * Vectors(s.Cols) * VecBytes;
            if (2 * (f.In + f.Work + f.Stage) + f.Stats + constants > NpuTarget.ScratchpadBytes) continue;
            var plan = Estimate(s, rows);
            if (best is null || plan.PredictedCycles < best.PredictedCycles) best = plan;
        }

        return best ?? throw new InvalidOperationException($"{s.Name}: a row of {s.Cols} does not fit the scratchpad");
    }

    private static RowPlan Estimate(RowSpec s, int tileRows)
    {
        int tiles = (s.Rows + tileRows - 1) / tileRows;
        long vpu = 0, bursts = 0;
        for (int t = 0; t < tiles; t++)
        {
            int rows = Math.Min(tileRows, s.Rows - t * tileRows);
            foreach (var v in Body(s, rows, default)) vpu += NpuTiming.VectorCycles(v);
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
    private readonly record struct Buffers(uint In, uint Work, uint Stage, uint Stats, uint Gamma, uint Beta, uint Epsilon);

    /// <summary>The VPU instructions for one tile of <paramref name="rows"/> rows (the first converts the input, the last produces the output).</summary>
    private static List<Instruction> Body(RowSpec s, int rows, Buffers b)
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
            float inv = 1f / s.Cols;
            list.Add(Instruction.Vector(Opcode.VReduce, (byte)VReduceOp.Sum, rows, v, stat0, VecBytes, b.Work, work, flags: InstructionFlags.VBroadcastResult, imm: Instruction.BitsOf(inv)));
            list.Add(Instruction.Vector(Opcode.VReduce, (byte)VReduceOp.SumOfSquares, rows, v, stat1, VecBytes, b.Work, work, flags: InstructionFlags.VBroadcastResult, imm: Instruction.BitsOf(inv)));
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Mul, rows, 1, stat2, VecBytes, stat0, VecBytes, stat0, VecBytes));
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Sub, rows, 1, stat1, VecBytes, stat1, VecBytes, stat2, VecBytes));
            list.Add(Instruction.Vector(Opcode.VActivation, (byte)VActivation.Rsqrt, rows, 1, stat1, VecBytes, stat1, VecBytes, b.Epsilon, 0, imm: Instruction.BitsOf(1f)));
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Sub, rows, v, b.Work, work, b.Work, work, stat0, VecBytes, bcast));
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Mul, rows, v, b.Work, work, b.Work, work, stat1, VecBytes, bcast));
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Mul, rows, v, b.Work, work, b.Work, work, b.Gamma, 0));
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Add, rows, v, b.Work, work, b.Work, work, b.Beta, 0));
        }

        if (s.Out.DType != NpuDType.Float32)
        {
            list.Add(Instruction.Vector(Opcode.VConvert, (byte)s.Out.DType, rows, v, b.Stage, v * Lanes * NpuMatmul.ElementBytes(s.Out.DType), b.Work, work,
                imm: Instruction.BitsOf(1f), aux: (byte)NpuDType.Float32));
        }

        return list;
    }

    public static RowPlan Emit(NpuProgramBuilder builder, RowSpec s, RowPlan plan)
    {
        int v = Vectors(s.Cols);
        int tileRows = plan.TileRows;
        int tiles = (s.Rows + tileRows - 1) / tileRows;
        var f = Footprint(s, tileRows);
        var scratch = new ScratchpadAllocator();
        uint[] input = { scratch.Take(f.In), scratch.Take(f.In) };
        uint[] work = { scratch.Take(f.Work), scratch.Take(f.Work) };
        uint[] stage = { f.Stage > 0 ? scratch.Take(f.Stage) : 0, f.Stage > 0 ? scratch.Take(f.Stage) : 0 };
        uint stats = scratch.Take(f.Stats);
        uint gamma = 0, beta = 0, epsilon = 0;
        const int chIn = 0, chOut = 1, chConst = 2;

        int loaded = builder.Semaphore(), used = builder.Semaphore(), done = builder.Semaphore(), stored = builder.Semaphore(), ready = builder.Semaphore();
        uint used0 = builder.Signals(used), stored0 = builder.Signals(stored);
        builder.Mark(s.Name, end: false);

        // Once: the padding value in both input buffers, and layernorm's constants.
        uint fill = s.Kind == Kind.Softmax ? 0xFC00FC00u : 0u;
        foreach (var buffer in input)
        {
            builder.Emit(Instruction.Vector(Opcode.VFill, 0, f.In / VecBytes, 1, buffer, VecBytes, flags: InstructionFlags.VInt, imm: fill));
        }

        uint constantsReady = 0;
        if (s.Kind == Kind.LayerNorm)
        {
            gamma = scratch.Take(v * VecBytes);
            beta = scratch.Take(v * VecBytes);
            epsilon = scratch.Take(VecBytes);
            builder.Emit(NpuMatmul.Contiguous(true, chConst, Region.Const, s.Gamma!.Value, gamma, v * VecBytes));
            constantsReady = builder.Signal(NpuMatmul.Contiguous(true, chConst, Region.Const, s.Beta!.Value, beta, v * VecBytes), ready);
            builder.Emit(Instruction.Vector(Opcode.VFill, 0, 1, 1, epsilon, VecBytes, imm: Instruction.BitsOf(s.Epsilon)));
        }

        // The fills must land before the first load writes into the buffers.
        uint fills = builder.Signal(Instruction.Vector(Opcode.VFill, 0, 1, 1, stats, VecBytes), done);
        var bufs = new Buffers(0, 0, 0, stats, gamma, beta, epsilon);
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
        for (int t = 0; t < tiles; t++)
        {
            if (t + 1 < tiles) Load(t + 1);
            int rows = Math.Min(tileRows, s.Rows - t * tileRows);
            var body = Body(s, rows, bufs with { In = input[t % 2], Work = work[t % 2], Stage = stage[t % 2] });
            // The work (or staging) buffer of tile t-2 must have been stored before it is overwritten.
            if (t >= 2) builder.Emit(Instruction.QueuedWait(Unit.Vpu, stored, stored0 + (uint)(t - 1)));
            for (int i = 0; i < body.Count; i++)
            {
                var instr = body[i];
                if (i == 0)
                {
                    // The conversion is the only reader of the input buffer: it frees it for tile t+2.
                    builder.Signal(instr.WithWait(loaded, tileLoaded[t]), used);
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
