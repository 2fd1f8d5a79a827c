using System;
using System.Collections.Generic;
using Aot.Generator.Npu;

namespace Aot.Generator.Backends.Npu;

/// <summary>A matrix in DRAM: region, byte offset of element [0, 0], bytes between rows, element type.</summary>
internal readonly record struct DramMatrix(Region Region, long Offset, int RowStride, NpuDType DType);

/// <summary>One DMA of an operand tile and the k-blocks it completes (the matmuls of those blocks wait for it).</summary>
internal readonly record struct OperandLoad(Instruction Dma, int FirstBlock, int EndBlock);

/// <summary>One MXU_MM worth of A rows for a k-block: where they are, how many, and where their results go.</summary>
internal readonly record struct MatmulRun(uint Address, int Stride, int Rows, int AccRowOffset);

/// <summary>
/// The streaming (A) side of a matmul kernel: how many output rows it has, how a tile of them is brought into the
/// scratchpad, and which scratchpad rows each k-block multiplies. A plain GEMM reads row panels of a matrix; a
/// convolution (implicit GEMM) reads input rows with their halo and addresses each tap by offset, so one kernel
/// schedule serves both.
/// </summary>
internal abstract class MatmulOperand
{
    protected const int Block = NpuTarget.ArraySize;

    public abstract NpuDType DType { get; }

    /// <summary>Output rows (GEMM rows, or output pixels).</summary>
    public abstract int Rows { get; }

    /// <summary>32-deep blocks of the reduction.</summary>
    public abstract int KBlocks { get; }

    /// <summary>Valid depth of k-block <paramref name="kb"/> (32 except at a ragged end).</summary>
    public abstract int Depth(int kb);

    /// <summary>Tiles hold a multiple of this many rows (a convolution tiles whole output rows).</summary>
    public virtual int RowGranularity => 1;

    /// <summary>Scratchpad bytes for a tile of <paramref name="tileRows"/> rows.</summary>
    public abstract int TileBytes(int tileRows);

    /// <summary>Zero fills a fresh tile buffer needs once (padding that DMA never writes), or none.</summary>
    public virtual IEnumerable<Instruction> Prepare(uint buffer, int tileRows) => Array.Empty<Instruction>();

    /// <summary>The DMAs that bring rows [first, first + count) into <paramref name="buffer"/>.</summary>
    public abstract IEnumerable<OperandLoad> Loads(int first, int count, uint buffer, int channel);

    /// <summary>The matmul runs of k-block <paramref name="kb"/> for the tile of rows [first, first + count) in <paramref name="buffer"/>.</summary>
    public abstract IEnumerable<MatmulRun> Runs(int first, int count, uint buffer, int kb);

    protected static int ElementBytes(NpuDType t) => NpuMatmul.ElementBytes(t);

    protected static int RoundUp(int x, int to) => (x + to - 1) / to * to;
}

/// <summary>A [rows, k] row-major matrix in DRAM; a tile is a row panel loaded in k-chunks so matmuls start early.</summary>
internal sealed class GemmOperand : MatmulOperand
{
    private const int ChunkBlocks = 4;
    private readonly DramMatrix _a;
    private readonly int _rows, _k;

    public GemmOperand(DramMatrix a, int rows, int k)
    {
        _a = a;
        _rows = rows;
        _k = k;
    }

    public override NpuDType DType => _a.DType;

    public override int Rows => _rows;

    public override int KBlocks => (_k + Block - 1) / Block;

    public override int Depth(int kb) => Math.Min(Block, _k - kb * Block);

    private int RowBytes => RoundUp(_k * ElementBytes(DType), NpuTarget.ScratchpadRowBytes);

    public override int TileBytes(int tileRows) => tileRows * RowBytes;

    public override IEnumerable<OperandLoad> Loads(int first, int count, uint buffer, int channel)
    {
        int es = ElementBytes(DType);
        for (int kb = 0; kb < KBlocks; kb += ChunkBlocks)
        {
            int end = Math.Min(KBlocks, kb + ChunkBlocks);
            int bytes = Math.Min(ChunkBlocks * Block, _k - kb * Block) * es;
            var dma = Instruction.Dma(true, channel, _a.Region, (uint)(_a.Offset + (long)first * _a.RowStride + kb * Block * es),
                (uint)_a.RowStride, (uint)(buffer + kb * Block * es), (uint)RowBytes, count, bytes);
            yield return new OperandLoad(dma, kb, end);
        }
    }

    public override IEnumerable<MatmulRun> Runs(int first, int count, uint buffer, int kb)
    {
        yield return new MatmulRun((uint)(buffer + kb * Block * ElementBytes(DType)), RowBytes, count, 0);
    }
}

/// <summary>
/// The input of a 2-D convolution as the A side of an implicit GEMM: x is one image stored contiguously as [H, W, C]
/// (channels a multiple of 32, so a pixel's channel block is one 64-byte fp16 row; x.RowStride is the pixel stride), rows are output pixels, and k-block (r, s, cb) is tap
/// (r, s) of channel block cb. A tile of whole output rows loads the input rows it needs (halo included) into a
/// buffer with zero columns left and right; DMA writes the zero rows above and below the image (pad rows). A run
/// is one output row: OW pixels read at a stride of the horizontal step, so each weight block serves every output
/// row of the tile with no reload.
/// </summary>
internal sealed class ConvOperand : MatmulOperand
{
    private readonly DramMatrix _x;
    private readonly int _h, _w, _c, _r, _s, _strideH, _strideW, _padTop, _padLeft, _padRight, _dilationH, _dilationW, _oh, _ow;

    public ConvOperand(DramMatrix x, int h, int w, int c, int r, int s, int strideH, int strideW, int padTop, int padLeft, int padRight,
        int dilationH, int dilationW, int oh, int ow)
    {
        if (c % Block != 0) throw new NpuUnsupportedException($"the NPU convolution needs channels in multiples of 32, got {c}");
        (_x, _h, _w, _c, _r, _s) = (x, h, w, c, r, s);
        (_strideH, _strideW, _padTop, _padLeft, _padRight, _dilationH, _dilationW, _oh, _ow) = (strideH, strideW, padTop, padLeft, padRight, dilationH, dilationW, oh, ow);
    }

    public override NpuDType DType => _x.DType;

    public override int Rows => _oh * _ow;

    private int ChannelBlocks => _c / Block;

    public override int KBlocks => _r * _s * ChannelBlocks;

    public override int Depth(int kb) => Block;

    public override int RowGranularity => _ow;

    private int PixelBytes => _c * ElementBytes(DType);

    private int PaddedWidth => _w + _padLeft + _padRight;

    private int LocalRowBytes => PaddedWidth * PixelBytes;

    /// <summary>Bytes between image rows in DRAM (x is a contiguous [H, W, C] block).</summary>
    private int ImageRowBytes => _w * PixelBytes;

    /// <summary>Input rows a tile of <paramref name="outputRows"/> output rows reads.</summary>
    private int InputRows(int outputRows) => (outputRows - 1) * _strideH + (_r - 1) * _dilationH + 1;

    public override int TileBytes(int tileRows) => RoundUp(InputRows(Math.Max(1, tileRows / _ow)) * LocalRowBytes, NpuTarget.VpuVectorBytes);

    public override IEnumerable<Instruction> Prepare(uint buffer, int tileRows)
    {
        // Zero the whole buffer once: the left/right padding columns are never written by DMA.
        yield return Instruction.Vector(Opcode.VFill, 0, TileBytes(tileRows) / NpuTarget.VpuVectorBytes, 1, buffer, NpuTarget.VpuVectorBytes,
            flags: InstructionFlags.VInt, imm: 0);
    }

    public override IEnumerable<OperandLoad> Loads(int first, int count, uint buffer, int channel)
    {
        int y0 = first / _ow, rows = count / _ow;
        int top = y0 * _strideH - _padTop;
        int needed = InputRows(rows);
        int padBefore = Math.Max(0, -top);
        int padAfter = Math.Max(0, top + needed - _h);
        int dataRows = needed - padBefore - padAfter;
        var dma = Instruction.Dma(true, channel, _x.Region, (uint)(_x.Offset + (long)(top + padBefore) * ImageRowBytes), (uint)ImageRowBytes,
            (uint)(buffer + _padLeft * PixelBytes), (uint)LocalRowBytes, dataRows, _w * PixelBytes, padBefore, padAfter);
        yield return new OperandLoad(dma, 0, KBlocks);
    }

    public override IEnumerable<MatmulRun> Runs(int first, int count, uint buffer, int kb)
    {
        int cb = kb % ChannelBlocks, tap = kb / ChannelBlocks;
        int r = tap / _s, s = tap % _s;
        int rows = count / _ow;
        for (int y = 0; y < rows; y++)
        {
            long at = buffer + (long)(y * _strideH + r * _dilationH) * LocalRowBytes + (long)s * _dilationW * PixelBytes + cb * Block * ElementBytes(DType);
            yield return new MatmulRun((uint)at, _strideW * PixelBytes, _ow, y * _ow);
        }
    }
}
