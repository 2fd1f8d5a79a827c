using System;
using System.Collections.Generic;
using Aot.Generator.Npu;

namespace Aot.Generator.Backends.Npu;

/// <summary>Out[Sq, d] = softmax(scale * Q[Sq, d] @ K[Sk, d]^T) @ V[Sk, d], fp16 operands (any row strides).</summary>
internal sealed record AttentionSpec(string Name, int Queries, int Keys, int HeadDim, DramMatrix Q, DramMatrix K, DramMatrix V, float Scale, DramMatrix Out);

internal sealed record AttentionPlan(int TileQueries, long MxuCycles, long VpuCycles, long PortCycles, long Prologue, long Epilogue)
{
    public long PredictedCycles => Prologue + Math.Max(MxuCycles, Math.Max(VpuCycles, PortCycles)) + Epilogue;
}

/// <summary>
/// Attention with the scores kept in the accumulator. K and V stay in the scratchpad; for each tile of queries the
/// MXU computes S = Q K^T into one half of the accumulator (K blocks loaded transposed as weights), the VPU runs the
/// softmax there (max, exp(scale * s - scale * max) in place, sum) and converts P to fp16 in the scratchpad, the MXU
/// computes O = P V into the same half (the scores are consumed by then), and the VPU scales O by 1 / sum and
/// stores it. The softmax's 1/sum is applied to O (d columns) instead of P (Sk columns).
/// The two halves alternate between tiles, and the VPU interleaves the finishing of tile t between the exp and the
/// sum of tile t+1, which lets the MXU start the scores of tile t+2 while the VPU still works on t+1: the VPU,
/// which does 5 passes per score vector (the kernel's bound), never waits for the MXU in steady state.
/// </summary>
internal static class NpuAttention
{
    private const int Block = NpuTarget.ArraySize;
    private const int VecBytes = NpuTarget.VpuVectorBytes;
    private const int HalfRows = NpuTarget.AccumulatorRows / 2;

    public static AttentionPlan Plan(AttentionSpec a)
    {
        if (a.Keys % Block != 0 || a.HeadDim % Block != 0)
        {
            throw new NpuUnsupportedException($"{a.Name}: the NPU attention needs keys and head size in multiples of 32, got {a.Keys} and {a.HeadDim}");
        }

        int keyBlocks = a.Keys / Block;
        int tq = Math.Min(a.Queries, Math.Min(HalfRows / keyBlocks, 1024));
        if (tq < 1) throw new NpuUnsupportedException($"{a.Name}: {a.Keys} keys do not fit half of the accumulator");
        if (ScratchpadAllocator.Place(Buffers(a, tq)) is null) throw new NpuUnsupportedException($"{a.Name}: K, V and Q of {a.Keys} x {a.HeadDim} do not fit the scratchpad");
        return Estimate(a, tq);
    }

    /// <summary>
    /// Buffers, in order: K, V, all of Q, P x2, output staging x2, -scale*max x2 and sum x2. The MXU reads K, V, Q
    /// and one P while the VPU writes the other P, and DMA drains the staging while the VPU works on its statistics,
    /// so each of those gets banks of its own.
    /// </summary>
    private static List<ScratchBuffer> Buffers(AttentionSpec a, int tq)
    {
        int outBytes = NpuMatmul.ElementBytes(a.Out.DType);
        var list = new List<ScratchBuffer>
        {
            new(a.Keys * a.HeadDim * 2, 0), new(a.Keys * a.HeadDim * 2, 1), new(a.Queries * a.HeadDim * 2, 2),
            new(tq * a.Keys * 2, 3), new(tq * a.Keys * 2, 4),
        };
        for (int i = 0; i < 2; i++) list.Add(new(tq * a.HeadDim * outBytes, 6));
        for (int i = 0; i < 4; i++) list.Add(new(tq * VecBytes, 5));
        return list;
    }

    private static AttentionPlan Estimate(AttentionSpec a, int tq)
    {
        int tiles = (a.Queries + tq - 1) / tq;
        int keyBlocks = a.Keys / Block, dimBlocks = a.HeadDim / Block;
        long mxu = 0, vpu = 0;
        for (int t = 0; t < tiles; t++)
        {
            int rows = Math.Min(tq, a.Queries - t * tq);
            mxu += 2L * keyBlocks * dimBlocks * NpuTiming.WeightBlockCycles(rows);
            foreach (var v in Softmax(a, rows, 0, 0, 0, 0)) vpu += NpuTiming.VectorCycles(v);
            foreach (var v in Finish(a, rows, 0, 0, 0)) vpu += NpuTiming.VectorCycles(v);
        }

        long bursts = 0;
        foreach (var m in new[] { a.K, a.V }) bursts += NpuTiming.Bursts(m.Offset, m.RowStride, a.Keys, a.HeadDim * 2);
        bursts += NpuTiming.Bursts(a.Q.Offset, a.Q.RowStride, a.Queries, a.HeadDim * 2);
        int outBytes = NpuMatmul.ElementBytes(a.Out.DType);
        bursts += NpuTiming.Bursts(a.Out.Offset, a.Out.RowStride, a.Queries, a.HeadDim * outBytes);
        // Before the first scores: K and the first Q tile; after the last VPU pass: the last store.
        long prologue = NpuTiming.DmaCycles(NpuTiming.Bursts(a.K.Offset, a.K.RowStride, a.Keys, a.HeadDim * 2) + NpuTiming.Bursts(a.Q.Offset, a.Q.RowStride, Math.Min(tq, a.Queries), a.HeadDim * 2))
            + keyBlocks * dimBlocks * NpuTiming.WeightBlockCycles(Math.Min(tq, a.Queries)) + NpuTarget.MatmulFillDrain;
        long epilogue = 2L * keyBlocks * dimBlocks * NpuTarget.WeightLoadCycles / 2 + NpuTarget.MatmulFillDrain
            + NpuTiming.DmaCycles(NpuTiming.Bursts(0, a.Out.RowStride, Math.Min(tq, a.Queries), a.HeadDim * outBytes));
        return new AttentionPlan(tq, mxu, vpu, NpuTiming.PortCycles(bursts), prologue, epilogue);
    }

    /// <summary>Scores in accumulator half <paramref name="half"/> -> exp in place, -scale*max and sum per row, P (fp16) in <paramref name="p"/>.</summary>
    private static List<Instruction> Softmax(AttentionSpec a, int rows, int half, uint negMax, uint sum, uint p)
    {
        int keyBlocks = a.Keys / Block;
        uint scores = (uint)(NpuTarget.AccumulatorBase + half * HalfRows * NpuTarget.AccumulatorRowBytes);
        int stride = keyBlocks * NpuTarget.AccumulatorRowBytes;
        return new List<Instruction>
        {
            Instruction.Vector(Opcode.VReduce, (byte)VReduceOp.Max, rows, keyBlocks, negMax, VecBytes, scores, stride,
                flags: InstructionFlags.VBroadcastResult, imm: Instruction.BitsOf(-a.Scale)),
            Instruction.Vector(Opcode.VActivation, (byte)VActivation.Exp, rows, keyBlocks, scores, stride, scores, stride, negMax, VecBytes,
                InstructionFlags.VBroadcastS2, Instruction.BitsOf(a.Scale)),
            Instruction.Vector(Opcode.VReduce, (byte)VReduceOp.Sum, rows, keyBlocks, sum, VecBytes, scores, stride,
                flags: InstructionFlags.VBroadcastResult, imm: Instruction.BitsOf(1f)),
            Instruction.Vector(Opcode.VConvert, (byte)NpuDType.Float16, rows, keyBlocks, p, a.Keys * 2, scores, stride,
                imm: Instruction.BitsOf(1f), aux: (byte)NpuDType.Float32),
        };
    }

    /// <summary>O in accumulator half <paramref name="half"/> times 1/sum into the staging buffer (output type).</summary>
    private static List<Instruction> Finish(AttentionSpec a, int rows, int half, uint sum, uint stage)
    {
        int dimBlocks = a.HeadDim / Block;
        uint o = (uint)(NpuTarget.AccumulatorBase + half * HalfRows * NpuTarget.AccumulatorRowBytes);
        int outBytes = NpuMatmul.ElementBytes(a.Out.DType);
        var list = new List<Instruction>
        {
            Instruction.Vector(Opcode.VActivation, (byte)VActivation.Reciprocal, rows, 1, sum, VecBytes, sum, VecBytes,
                flags: InstructionFlags.VNoS2, imm: Instruction.BitsOf(1f)),
        };
        if (a.Out.DType == NpuDType.Float32)
        {
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Mul, rows, dimBlocks, stage, a.HeadDim * 4, o, dimBlocks * NpuTarget.AccumulatorRowBytes,
                sum, VecBytes, InstructionFlags.VBroadcastS2));
        }
        else
        {
            list.Add(Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Mul, rows, dimBlocks, o, dimBlocks * NpuTarget.AccumulatorRowBytes, o, dimBlocks * NpuTarget.AccumulatorRowBytes,
                sum, VecBytes, InstructionFlags.VBroadcastS2));
            list.Add(Instruction.Vector(Opcode.VConvert, (byte)a.Out.DType, rows, dimBlocks, stage, a.HeadDim * outBytes, o, dimBlocks * NpuTarget.AccumulatorRowBytes,
                imm: Instruction.BitsOf(1f), aux: (byte)NpuDType.Float32));
        }

        return list;
    }

    public static void Emit(NpuProgramBuilder b, AttentionSpec a, AttentionPlan plan)
    {
        int tq = plan.TileQueries;
        int tiles = (a.Queries + tq - 1) / tq;
        int keyBlocks = a.Keys / Block, dimBlocks = a.HeadDim / Block;
        int rowBytes = a.HeadDim * 2;
        int outBytes = NpuMatmul.ElementBytes(a.Out.DType);

        var at = ScratchpadAllocator.Place(Buffers(a, tq))!.Value.Addresses;
        uint k = at[0], v = at[1], q = at[2];
        uint[] p = { at[3], at[4] };
        uint[] stage = { at[5], at[6] };
        uint[] negMax = { at[7], at[8] };
        uint[] sum = { at[9], at[10] };

        int kReady = b.Semaphore(), vReady = b.Semaphore(), qReady = b.Semaphore(), scoresDone = b.Semaphore(), probsReady = b.Semaphore();
        int outputDone = b.Semaphore(), finished = b.Semaphore(), stored = b.Semaphore();
        uint finished0 = b.Signals(finished), stored0 = b.Signals(stored), probs0 = b.Signals(probsReady);
        b.Mark(a.Name, end: false);

        // K first (the first scores need it), Q tile by tile on its own channel, V last (only P V needs it).
        uint kLoaded = b.Signal(Instruction.Dma(true, 0, a.K.Region, (uint)a.K.Offset, (uint)a.K.RowStride, k, (uint)rowBytes, a.Keys, rowBytes), kReady);
        var qLoaded = new uint[tiles];
        for (int t = 0; t < tiles; t++)
        {
            int rows = Math.Min(tq, a.Queries - t * tq);
            qLoaded[t] = b.Signal(Instruction.Dma(true, 1, a.Q.Region, (uint)(a.Q.Offset + (long)t * tq * a.Q.RowStride), (uint)a.Q.RowStride,
                (uint)(q + t * tq * rowBytes), (uint)rowBytes, rows, rowBytes), qReady);
        }

        uint vLoaded = b.Signal(Instruction.Dma(true, 2, a.V.Region, (uint)a.V.Offset, (uint)a.V.RowStride, v, (uint)rowBytes, a.Keys, rowBytes), vReady);

        var scoresCount = new uint[tiles];
        var outputCount = new uint[tiles];

        void Scores(int t)
        {
            int rows = Math.Min(tq, a.Queries - t * tq);
            int half = t % 2;
            // The half held tile t-2's output until its finish pass.
            if (t >= 2) b.Emit(Instruction.QueuedWait(Unit.Mxu, finished, finished0 + (uint)(t - 1)));
            Instruction? last = null;
            for (int nb = 0; nb < keyBlocks; nb++)
            {
                for (int db = 0; db < dimBlocks; db++)
                {
                    var lw = Instruction.LoadWeights(NpuDType.Float16, (uint)(k + nb * Block * rowBytes + db * Block * 2), (uint)rowBytes, Block, Block, transpose: true);
                    if (nb == 0 && db == 0) lw = lw.WithWait(kReady, kLoaded);
                    if (last is { } previous) b.Emit(previous);
                    b.Emit(lw);
                    var mm = Instruction.Matmul(NpuDType.Float16, (uint)(q + t * tq * rowBytes + db * Block * 2), (uint)rowBytes, rows, Block,
                        half * HalfRows + nb, keyBlocks, accumulate: db > 0, swapWeights: true);
                    last = nb == 0 && db == 0 ? mm.WithWait(qReady, qLoaded[t]) : mm;
                }
            }

            scoresCount[t] = b.Signal(last!.Value, scoresDone);
        }

        void Output(int t)
        {
            int rows = Math.Min(tq, a.Queries - t * tq);
            int half = t % 2;
            Instruction? last = null;
            for (int db = 0; db < dimBlocks; db++)
            {
                for (int kb = 0; kb < keyBlocks; kb++)
                {
                    var lw = Instruction.LoadWeights(NpuDType.Float16, (uint)(v + kb * Block * rowBytes + db * Block * 2), (uint)rowBytes, Block, Block);
                    if (t == 0 && db == 0 && kb == 0) lw = lw.WithWait(vReady, vLoaded);
                    if (last is { } previous) b.Emit(previous);
                    b.Emit(lw);
                    var mm = Instruction.Matmul(NpuDType.Float16, (uint)(p[half] + kb * Block * 2), (uint)(a.Keys * 2), rows, Block,
                        half * HalfRows + db, dimBlocks, accumulate: kb > 0, swapWeights: true);
                    last = db == 0 && kb == 0 ? mm.WithWait(probsReady, probs0 + (uint)(t + 1)) : mm;
                }
            }

            outputCount[t] = b.Signal(last!.Value, outputDone);
        }

        void SoftmaxPass(int t, int from, int to)
        {
            int rows = Math.Min(tq, a.Queries - t * tq);
            var list = Softmax(a, rows, t % 2, negMax[t % 2], sum[t % 2], p[t % 2]);
            for (int i = from; i < to; i++)
            {
                var instr = list[i];
                if (i == 0)
                {
                    // P of tile t-2 (same buffer) must have been consumed by its P V.
                    if (t >= 2) b.Emit(Instruction.QueuedWait(Unit.Vpu, outputDone, outputCount[t - 2]));
                    instr = instr.WithWait(scoresDone, scoresCount[t]);
                }

                if (i == list.Count - 1) b.Signal(instr, probsReady);
                else b.Emit(instr);
            }
        }

        void FinishPass(int t)
        {
            int rows = Math.Min(tq, a.Queries - t * tq);
            if (t >= 2) b.Emit(Instruction.QueuedWait(Unit.Vpu, stored, stored0 + (uint)(t - 1)));
            var list = Finish(a, rows, t % 2, sum[t % 2], stage[t % 2]);
            for (int i = 0; i < list.Count; i++)
            {
                var instr = i == 0 ? list[i].WithWait(outputDone, outputCount[t]) : list[i];
                if (i == list.Count - 1) b.Signal(instr, finished);
                else b.Emit(instr);
            }

            var st = Instruction.Dma(false, 3, a.Out.Region, (uint)(a.Out.Offset + (long)t * tq * a.Out.RowStride), (uint)a.Out.RowStride,
                stage[t % 2], (uint)(a.HeadDim * outBytes), rows, a.HeadDim * outBytes);
            b.Signal(st.WithWait(finished, b.Signals(finished)), stored);
        }

        // Dispatch order. MXU: S(0), S(1), O(0), S(2), O(1), ...; VPU: softmax(0), then for each t: max and exp of
        // t+1, finish of t, sum and convert of t+1.
        Scores(0);
        if (tiles > 1) Scores(1);
        SoftmaxPass(0, 0, 4);
        for (int t = 0; t < tiles; t++)
        {
            Output(t);
            if (t + 1 < tiles) SoftmaxPass(t + 1, 0, 2);
            FinishPass(t);
            if (t + 1 < tiles) SoftmaxPass(t + 1, 2, 4);
            if (t + 2 < tiles) Scores(t + 2);
        }

        b.Emit(Instruction.Create(Opcode.Wait).WithWait(stored, b.Signals(stored)));
        b.Mark(a.Name, end: true);
    }
}
