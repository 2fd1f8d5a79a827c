using System;
using System.Collections.Generic;
using Aot.Generator.Npu;

namespace Aot.Generator.Backends.Npu;

/// <summary>Max pooling of one channels-last image [H, W, C'] (C' a multiple of 32) with a k x k window, stride s, no padding.</summary>
internal sealed record MaxPoolSpec(string Name, int H, int W, int Channels, int Kernel, int Stride, int OutH, int OutW, DramMatrix In, DramMatrix Out);

/// <summary>The mean over all pixels of one channels-last image [P pixels, C'] into one pixel [C'].</summary>
internal sealed record GlobalAveragePoolSpec(string Name, int Pixels, int Channels, DramMatrix In, DramMatrix Out);

/// <summary>
/// Pooling on channels-last images. Max pooling runs on the VPU one output row at a time: the k input rows it needs
/// are loaded and widened, the k*k window taps are folded with V_BIN max (each instruction covers the whole output
/// row: OW pixels at a pixel stride of s), and the row is narrowed and stored; the loads of the next row overlap.
/// Global average pooling runs on the MXU: with the image's 32 x 32 (pixels x channels) blocks as weights and a row
/// of ones as A, each matmul adds 32 pixels of 32 channels into the accumulator row of that channel block; the VPU
/// scales by 1/P.
/// </summary>
internal static class NpuPool
{
    private const int Block = NpuTarget.ArraySize;
    private const int VecBytes = NpuTarget.VpuVectorBytes;

    public static void EmitMaxPool(NpuProgramBuilder b, MaxPoolSpec p)
    {
        int cb = p.Channels / Block;
        int inRow = p.W * p.Channels * 2, rowF32 = p.W * p.Channels * 4;
        int outBytes = NpuMatmul.ElementBytes(p.Out.DType);
        int outRow = p.OutW * p.Channels * outBytes;
        var placed = ScratchpadAllocator.Place(new List<ScratchBuffer>
        {
            new(p.Kernel * inRow, 0), new(p.Kernel * inRow, 1), new(p.Kernel * rowF32, 2), new(p.OutW * p.Channels * 4, 2), new(outRow, 3), new(outRow, 4),
        }) ?? throw new NpuUnsupportedException($"{p.Name}: {p.Kernel} rows of {p.W} x {p.Channels} do not fit the scratchpad");
        var at = placed.Addresses;
        uint[] input = { at[0], at[1] };
        uint wide = at[2], max = at[3];
        uint[] stage = { at[4], at[5] };

        int loaded = b.Semaphore(), used = b.Semaphore(), done = b.Semaphore(), stored = b.Semaphore();
        uint used0 = b.Signals(used), stored0 = b.Signals(stored);
        b.Mark(p.Name, end: false);
        var rowLoaded = new uint[p.OutH];

        void Load(int oy)
        {
            var dma = Instruction.Dma(true, 0, p.In.Region, (uint)(p.In.Offset + (long)oy * p.Stride * inRow), (uint)inRow, input[oy % 2], (uint)inRow, p.Kernel, inRow);
            if (oy >= 2) dma = dma.WithWait(used, used0 + (uint)(oy - 1));
            rowLoaded[oy] = b.Signal(dma, loaded);
        }

        Load(0);
        for (int oy = 0; oy < p.OutH; oy++)
        {
            if (oy + 1 < p.OutH) Load(oy + 1);
            var widen = Instruction.Vector(Opcode.VConvert, (byte)NpuDType.Float32, p.Kernel * p.W, cb, wide, p.Channels * 4, input[oy % 2], p.Channels * 2,
                imm: Instruction.BitsOf(1f), aux: (byte)NpuDType.Float16).WithWait(loaded, rowLoaded[oy]);
            b.Signal(widen, used);
            int pixel = p.Stride * p.Channels * 4;
            for (int dy = 0; dy < p.Kernel; dy++)
            {
                for (int dx = 0; dx < p.Kernel; dx++)
                {
                    uint tap = (uint)(wide + dy * rowF32 + dx * p.Channels * 4);
                    b.Emit(dy == 0 && dx == 0
                        ? Instruction.Vector(Opcode.VMove, 0, p.OutW, cb, max, p.Channels * 4, tap, pixel)
                        : Instruction.Vector(Opcode.VBinary, (byte)VBinaryOp.Max, p.OutW, cb, max, p.Channels * 4, max, p.Channels * 4, tap, pixel));
                }
            }

            if (oy >= 2) b.Emit(Instruction.QueuedWait(Unit.Vpu, stored, stored0 + (uint)(oy - 1)));
            var narrow = p.Out.DType == NpuDType.Float32
                ? Instruction.Vector(Opcode.VMove, 0, p.OutW, cb, stage[oy % 2], p.Channels * 4, max, p.Channels * 4)
                : Instruction.Vector(Opcode.VConvert, (byte)p.Out.DType, p.OutW, cb, stage[oy % 2], p.Channels * outBytes, max, p.Channels * 4,
                    imm: Instruction.BitsOf(1f), aux: (byte)NpuDType.Float32);
            b.Signal(narrow, done);
            var st = NpuMatmul.Contiguous(false, 1, p.Out.Region, p.Out.Offset + (long)oy * outRow, stage[oy % 2], outRow);
            b.Signal(st.WithWait(done, b.Signals(done)), stored);
        }

        b.Emit(Instruction.Create(Opcode.Wait).WithWait(stored, b.Signals(stored)));
        b.Mark(p.Name, end: true);
    }

    public static void EmitGlobalAverage(NpuProgramBuilder b, GlobalAveragePoolSpec p)
    {
        int cb = p.Channels / Block;
        int pixelBlocks = (p.Pixels + Block - 1) / Block;
        int inBytes = pixelBlocks * Block * p.Channels * 2;
        int outBytes = NpuMatmul.ElementBytes(p.Out.DType);
        var placed = ScratchpadAllocator.Place(new List<ScratchBuffer> { new(inBytes, 0), new(VecBytes, 1), new(cb * VecBytes, 1), new(cb * Block * outBytes, 1) })
            ?? throw new NpuUnsupportedException($"{p.Name}: {p.Pixels} pixels of {p.Channels} channels do not fit the scratchpad");
        var at = placed.Addresses;
        uint image = at[0], ones = at[1], mean = at[2], stage = at[3];

        int ready = b.Semaphore(), imageReady = b.Semaphore(), summed = b.Semaphore(), done = b.Semaphore(), stored = b.Semaphore();
        b.Mark(p.Name, end: false);
        // Zero the padding pixels of the last block, and a row of fp16 ones (A of every matmul).
        uint filled = 0;
        if (p.Pixels % Block != 0) filled = b.Signal(Instruction.Vector(Opcode.VFill, 0, inBytes / VecBytes, 1, image, VecBytes, flags: InstructionFlags.VInt, imm: 0), ready);
        filled = b.Signal(Instruction.Vector(Opcode.VFill, 0, 1, 1, ones, VecBytes, flags: InstructionFlags.VInt, imm: 0x3C003C00u), ready);
        var load = NpuMatmul.Contiguous(true, 0, p.In.Region, p.In.Offset, image, p.Pixels * p.Channels * 2).WithWait(ready, filled);
        uint loaded = b.Signal(load, imageReady);
        Instruction? last = null;
        for (int c = 0; c < cb; c++)
        {
            for (int pb = 0; pb < pixelBlocks; pb++)
            {
                var lw = Instruction.LoadWeights(NpuDType.Float16, (uint)(image + (pb * Block * p.Channels + c * Block) * 2), (uint)(p.Channels * 2), Block, Block);
                if (c == 0 && pb == 0) lw = lw.WithWait(imageReady, loaded);
                if (last is { } previous) b.Emit(previous);
                b.Emit(lw);
                last = Instruction.Matmul(NpuDType.Float16, ones, 64, 1, Block, c, 1, accumulate: pb > 0, swapWeights: true);
            }
        }

        uint sums = b.Signal(last!.Value, summed);
        var scale = Instruction.Vector(Opcode.VImmediate, (byte)VBinaryOp.Mul, 1, cb, mean, cb * VecBytes, (uint)NpuTarget.AccumulatorBase, cb * VecBytes,
            imm: Instruction.BitsOf(1f / p.Pixels)).WithWait(summed, sums);
        b.Emit(scale);
        var narrow = p.Out.DType == NpuDType.Float32
            ? Instruction.Vector(Opcode.VMove, 0, 1, cb, stage, cb * VecBytes, mean, cb * VecBytes)
            : Instruction.Vector(Opcode.VConvert, (byte)p.Out.DType, 1, cb, stage, cb * Block * outBytes, mean, cb * VecBytes, imm: Instruction.BitsOf(1f), aux: (byte)NpuDType.Float32);
        uint narrowed = b.Signal(narrow, done);
        b.Signal(NpuMatmul.Contiguous(false, 1, p.Out.Region, p.Out.Offset, stage, p.Channels * outBytes).WithWait(done, narrowed), stored);
        b.Emit(Instruction.Create(Opcode.Wait).WithWait(stored, b.Signals(stored)));
        b.Mark(p.Name, end: true);
    }
}
