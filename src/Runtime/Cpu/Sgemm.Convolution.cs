using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Aot.Runtime.Cpu;

// Convolution as a matrix product, with the im2col matrix never materialized.
public static unsafe partial class Sgemm
{
    /// <summary>
    /// Convolution as a matrix product (implicit GEMM) of one image, or one group of its channels:
    /// C[m, outH * outW] = weights[m, k] @ B (+ C when <paramref name="accumulate"/>), then the epilogue, where
    /// B[p, j] is the im2col matrix (p = (channel, kernel row, kernel column), k = channels * kernelH * kernelW; j an
    /// output pixel) and the weights are row-major [m, k]. B is never stored whole (9 times the image for a 3x3 kernel,
    /// far beyond L2): the microkernel reads it where it is, tile by tile.
    /// <list type="bullet">
    /// <item>Output rows that fill most of a panel (<see cref="GemmLayout.ConvReadsRowsInPlace"/>): the image is copied
    /// once into a zero-padded image whose rows are split into strideW phases (padded column x at x % strideW, x / strideW),
    /// after which row p of a tile of 32 pixels of one output row is 32 consecutive floats of one phase, at an offset
    /// per p; the microkernel loads them in place, so nothing is packed.</item>
    /// <item>Otherwise (short rows): each thread packs the im2col panels of a group of its tiles into its own
    /// workspace sized to stay in L2, multiplies them, and moves on.</item>
    /// </list>
    /// Threads split the output tiles (each writes its own pixels of C), and every element is computed by the same
    /// instructions in the same order whatever the thread count. Workspaces are per thread, grown on first use and
    /// then reused, so steady-state calls allocate nothing. kc, mc and <paramref name="isa"/> as in <see cref="Multiply"/>.
    /// </summary>
    public static void Convolve(
        int m, ReadOnlySpan<float> weights,
        ReadOnlySpan<float> image, int channels, int height, int width,
        int kernelH, int kernelW, int strideH, int strideW, int padTop, int padLeft, int dilationH, int dilationW,
        int outH, int outW, Span<float> c, bool accumulate, int kc, int mc, WorkerPool? pool = null, in GemmEpilogue epilogue = default,
        CpuInstructionSet isa = CpuInstructionSet.Auto)
    {
        int k = channels * kernelH * kernelW;
        int n = outH * outW;
        if (m <= 0 || n <= 0) return;
        if (isa != CpuInstructionSet.Auto) CpuFeatures.Require(isa);
        if (k <= 0) throw new ArgumentException($"Sgemm.Convolve: empty kernel ({channels} channels, {kernelH}x{kernelW})");
        if (image.Length < (long)channels * height * width) throw new ArgumentException($"image needs {channels * height * width} elements, has {image.Length}", nameof(image));
        if (weights.Length < (long)m * k) throw new ArgumentException($"weights need {m * k} elements, has {weights.Length}", nameof(weights));
        if (c.Length < (long)m * n) throw new ArgumentException($"C needs {m * n} elements, has {c.Length}", nameof(c));
        CheckEpilogue(m, n, epilogue);
        kc = Math.Max(1, kc);
        mc = Math.Max(TileRows, mc / TileRows * TileRows);
        var g = new ConvGeometry(channels, height, width, kernelH, kernelW, strideH, strideW, padTop, padLeft, dilationH, dilationW, outH, outW);
        bool inPlace = GemmLayout.ConvReadsRowsInPlace(channels, kernelH, kernelW, strideH, strideW, dilationH, dilationW, outH, outW);
        int tilesPerRow = (outW + PanelWidth - 1) / PanelWidth;
        int tiles = inPlace ? outH * tilesPerRow : (n + PanelWidth - 1) / PanelWidth;

        // In place: the zero-padded image (hp rows per channel of wp columns, stored as strideW phases of phaseLength,
        // plus one panel of slack that the lanes of the last tile past its row may read) and each p's offset in it.
        int hp = GemmLayout.ConvPaddedRows(kernelH, strideH, dilationH, outH), wp = (outW - 1) * strideW + (kernelW - 1) * dilationW + 1;
        int rowLength = GemmLayout.ConvPaddedRowLength(kernelW, strideW, dilationW, outW), phaseLength = rowLength / strideW;
        int paddedLength = inPlace ? (int)GemmLayout.ConvPaddedLength(channels, kernelH, kernelW, strideH, strideW, dilationH, dilationW, outH, outW) : 0;
        var padded = inPlace ? Workspace(ref s_padded, paddedLength) : Array.Empty<float>();
        var offsets = s_offsets is { } o && o.Length >= k ? o : s_offsets = new int[Math.Max(k, 256)];
        fixed (float* pa = weights)
        fixed (float* src = image)
        fixed (float* pc = c)
        fixed (float* pp = padded)
        fixed (int* po = offsets)
        fixed (float* rowBias = epilogue.RowBias)
        fixed (float* colBias = epilogue.ColumnBias)
        fixed (float* residual = epilogue.Residual)
        {
            if (inPlace)
            {
                // The padded copy is as much memory traffic as a layer's output: split too, by rows (every channel) as
                // the output tiles are, so each thread mostly copies rows it reads (see WorkerPool).
                int padTasks = pool is null || (long)channels * hp * rowLength < ParallelMinPadFloats ? 1 : Math.Min(hp, pool.Threads);
                if (padTasks <= 1)
                {
                    PadImage(src, pp, (long)hp * rowLength, g, wp, phaseLength, 0, hp);
                }
                else
                {
                    var padJob = s_padJob ??= new PadJob();
                    padJob.Set(padTasks, src, pp, g, hp, wp, phaseLength);
                    pool!.Run(padJob, padTasks);
                }

                Zero(pp + (long)channels * hp * rowLength, PanelWidth);
                int p = 0;
                for (int ch = 0; ch < channels; ch++)
                {
                    for (int r = 0; r < kernelH; r++)
                    {
                        for (int s = 0; s < kernelW; s++)
                        {
                            int column = s * dilationW;
                            po[p++] = (ch * hp + r * dilationH) * rowLength + column % strideW * phaseLength + column / strideW;
                        }
                    }
                }
            }

            var plan = new ConvPlan(m, k, n, kc, mc, accumulate, pa, pc, src, g, inPlace ? pp : null, po, tilesPerRow, rowLength,
                new PinnedEpilogue(rowBias, colBias, residual, epilogue.ResidualStride, epilogue.ResidualAfterActivation, epilogue.Activation), isa);
            int tasks = pool is null || (long)m * n * k < ParallelMinMacs ? 1 : Math.Min(tiles, pool.Threads * 2);
            if (tasks <= 1)
            {
                ConvTiles(0, tiles, plan);
                return;
            }

            var job = s_convJob ??= new ConvJob();
            job.Set(tasks, tiles, plan);
            pool!.Run(job, tasks);
        }
    }

    /// <summary>Floats of im2col panels a thread packs at a time: a quarter of a 1 MiB L2, so they stay there while the
    /// weights stream past.</summary>
    private const int PackedFloatsPerGroup = 64 * 1024;

    [ThreadStatic]
    private static float[]? s_padded;

    [ThreadStatic]
    private static float[]? s_packed;

    [ThreadStatic]
    private static int[]? s_offsets;

    [ThreadStatic]
    private static ConvJob? s_convJob;

    private readonly record struct ConvGeometry(
        int Channels, int Height, int Width, int KernelH, int KernelW, int StrideH, int StrideW,
        int PadTop, int PadLeft, int DilationH, int DilationW, int OutH, int OutW);

    /// <summary>One <see cref="Convolve"/> call's operands, pinned for its duration: Padded is null when it packs.</summary>
    private readonly struct ConvPlan
    {
        public readonly int M, K, N, Kc, Mc, TilesPerRow, PaddedRow;
        public readonly bool Accumulate;
        public readonly float* A, C, Image, Padded;
        public readonly int* Offsets;
        public readonly ConvGeometry Geometry;
        public readonly PinnedEpilogue Epilogue;
        public readonly CpuInstructionSet Isa;

        public ConvPlan(int m, int k, int n, int kc, int mc, bool accumulate, float* a, float* c, float* image, in ConvGeometry geometry,
            float* padded, int* offsets, int tilesPerRow, int paddedRow, in PinnedEpilogue epilogue, CpuInstructionSet isa)
        {
            (M, K, N, Kc, Mc, Accumulate, TilesPerRow, PaddedRow) = (m, k, n, kc, mc, accumulate, tilesPerRow, paddedRow);
            A = a;
            C = c;
            Image = image;
            Padded = padded;
            Offsets = offsets;
            Geometry = geometry;
            Epilogue = epilogue;
            Isa = isa;
        }
    }

    private sealed class ConvJob : IParallelJob
    {
        private int _tasks, _tiles;
        private ConvPlan _plan;

        public void Set(int tasks, int tiles, in ConvPlan plan) => (_tasks, _tiles, _plan) = (tasks, tiles, plan);

        public void Execute(int task)
        {
            var (first, last) = WorkerPool.Share(_tiles, task, _tasks);
            ConvTiles(first, last, _plan);
        }
    }

    /// <summary>Output tiles [first, last): in place, tile t is columns (t % TilesPerRow) * 32 .. of output row
    /// t / TilesPerRow; packed, it is pixels t * 32 .. in row-major order.</summary>
    private static void ConvTiles(int first, int last, in ConvPlan plan)
    {
        if (plan.Padded != null)
        {
            ConvBlocks(first, last, plan, null);
            return;
        }

        // Groups of tiles whose kc-deep panels fit the budget: the weights stream past once per group, not per tile.
        int blockFloats = Math.Min(plan.Kc, plan.K) * PanelWidth;
        int group = Math.Max(1, PackedFloatsPerGroup / blockFloats);
        var packed = Workspace(ref s_packed, Math.Min(group, last - first) * blockFloats);
        fixed (float* pb = packed)
        {
            for (int g0 = first; g0 < last; g0 += group) ConvBlocks(g0, Math.Min(last, g0 + group), plan, pb);
        }
    }

    /// <summary>Tiles [first, last) over all of k and m in BLIS loop order (as <see cref="Panels"/>), B read in place
    /// from the padded image, or packed into <paramref name="packed"/> one k block of the tiles' panels at a time.</summary>
    private static void ConvBlocks(int first, int last, in ConvPlan plan, float* packed)
    {
        for (int p0 = 0; p0 < plan.K; p0 += plan.Kc)
        {
            int kb = Math.Min(plan.Kc, plan.K - p0);
            bool overwrite = p0 == 0 && !plan.Accumulate;
            bool lastBlock = p0 + kb == plan.K;
            if (packed != null)
            {
                for (int t = first; t < last; t++)
                {
                    int j0 = t * PanelWidth;
                    Im2ColPanel(j0, Math.Min(PanelWidth, plan.N - j0), p0, kb, plan.Image, packed + (long)(t - first) * kb * PanelWidth, plan.Geometry);
                }
            }

            for (int i0 = 0; i0 < plan.M; i0 += plan.Mc)
            {
                int mb = Math.Min(plan.Mc, plan.M - i0);
                for (int t = first; t < last; t++)
                {
                    if (packed != null)
                    {
                        int j0 = t * PanelWidth;
                        var rows = new PackedRows(packed + (long)(t - first) * kb * PanelWidth);
                        RowTiles(i0, mb, Math.Min(PanelWidth, plan.N - j0), kb, plan.A + p0, plan.K, rows, plan.C + j0, plan.N, 1f, overwrite, lastBlock, plan.Epilogue, j0, plan.Isa);
                    }
                    else
                    {
                        int oh = t / plan.TilesPerRow, ow = (t - oh * plan.TilesPerRow) * PanelWidth;
                        int j0 = oh * plan.Geometry.OutW + ow;
                        var rows = new OffsetRows(plan.Padded + (long)oh * plan.Geometry.StrideH * plan.PaddedRow + ow, plan.Offsets + p0);
                        RowTiles(i0, mb, Math.Min(PanelWidth, plan.Geometry.OutW - ow), kb, plan.A + p0, plan.K, rows, plan.C + j0, plan.N, 1f, overwrite, lastBlock, plan.Epilogue, j0, plan.Isa);
                    }
                }
            }
        }
    }

    /// <summary>Floats of padded image from which the copy is split between threads.</summary>
    private const long ParallelMinPadFloats = 1 << 15;

    [ThreadStatic]
    private static PadJob? s_padJob;

    /// <summary>One parallel padded copy's arguments, reused; the caller holds the pointers fixed until it returns.</summary>
    private sealed class PadJob : IParallelJob
    {
        private int _tasks, _hp, _wp, _phaseLength;
        private float* _image, _padded;
        private ConvGeometry _geometry;

        public void Set(int tasks, float* image, float* padded, in ConvGeometry geometry, int hp, int wp, int phaseLength)
        {
            (_tasks, _hp, _wp, _phaseLength, _geometry) = (tasks, hp, wp, phaseLength, geometry);
            _image = image;
            _padded = padded;
        }

        public void Execute(int task)
        {
            var (first, last) = WorkerPool.Share(_hp, task, _tasks);
            long rowLength = (long)_phaseLength * _geometry.StrideW;
            PadImage(_image, _padded + first * rowLength, _hp * rowLength, _geometry, _wp, _phaseLength, first, last);
        }
    }

    /// <summary>Rows [first, last) of every channel of a zero-padded image (of <see cref="Convolve"/>'s in-place path,
    /// or a block's window of <see cref="WinogradConvolve"/>'s), rows of wp columns (the image at PadTop, PadLeft)
    /// stored as StrideW phases of phaseLength floats (column x at phase x % StrideW, index x / StrideW; zero past wp):
    /// row <paramref name="first"/> of channel ch at <paramref name="destination"/> + ch * <paramref name="channelStride"/>, the
    /// next rows after it. For Convolve, the caller zeroes the panel of slack after the last channel.</summary>
    private static void PadImage(float* image, float* destination, long channelStride, in ConvGeometry g, int wp, int phaseLength, int first, int last)
    {
        int left = Math.Min(g.PadLeft, wp), end = Math.Min(wp, g.PadLeft + g.Width);
        int rowLength = phaseLength * g.StrideW;
        for (int ch = 0; ch < g.Channels; ch++)
        {
            float* plane = image + (long)ch * g.Height * g.Width;
            float* dst = destination + ch * channelStride;
            for (int py = first; py < last; py++, dst += rowLength)
            {
                int iy = py - g.PadTop;
                if ((uint)iy >= (uint)g.Height || end <= left)
                {
                    Zero(dst, rowLength);
                    continue;
                }

                float* row = plane + (long)iy * g.Width - g.PadLeft;
                if (g.StrideW == 1)
                {
                    Zero(dst, left);
                    Copy(row + left, dst + left, end - left);
                    Zero(dst + end, rowLength - end);
                    continue;
                }

                // Zero, then the columns inside the image: for stride 2 mostly 8 pairs at a time, each float pair read
                // as a 64-bit lane and narrowed to its low (even) and high (odd) half; the rest one by one.
                Zero(dst, rowLength);
                int i0 = 0, i1 = 0;
                if (g.StrideW == 2)
                {
                    // Pairs i in [i0, i1) have both columns 2i and 2i + 1 inside the image; the last 8 may overlap.
                    i0 = (left + 1) / 2;
                    i1 = Math.Min(end / 2, phaseLength);
                    if (i1 - i0 >= 8)
                    {
                        for (int i = i0; i < i1; i += 8)
                        {
                            int at = Math.Min(i, i1 - 8);
                            var lo = Vector256.Load((ulong*)(row + 2 * at));
                            var hi = Vector256.Load((ulong*)(row + 2 * at + 8));
                            Vector256.Narrow(lo, hi).AsSingle().Store(dst + at);
                            Vector256.Narrow(lo >> 32, hi >> 32).AsSingle().Store(dst + phaseLength + at);
                        }
                    }
                    else
                    {
                        i1 = i0;
                    }
                }

                for (int phase = 0; phase < g.StrideW; phase++)
                {
                    // Phase index i holds column phase + i * StrideW: inside the image for i in [inFirst, inEnd).
                    float* to = dst + phase * phaseLength;
                    int inFirst = (left - phase + g.StrideW - 1) / g.StrideW, inEnd = Math.Min(phaseLength, (end - phase + g.StrideW - 1) / g.StrideW);
                    for (int i = inFirst; i < Math.Min(inEnd, i0); i++) to[i] = row[phase + i * g.StrideW];
                    for (int i = Math.Max(inFirst, i1); i < inEnd; i++) to[i] = row[phase + i * g.StrideW];
                }
            }
        }
    }

    /// <summary>
    /// Rows p0 .. p0 + kb of the im2col panel of output pixels j0 .. j0 + cols (at most one panel): B[p, j] with
    /// p = (channel, kernel row, kernel column) and j = output pixel, stored p-major PanelWidth floats per row as
    /// <see cref="PackB"/> stores them, zero where the kernel reads padding and beyond cols.
    /// <para>
    /// The pixels that lie in one output row read consecutive input pixels (horizontal stride 1), so each such run is
    /// one vector copy between two zero fills for the padding; the bounds are worked out per run, not per element.
    /// </para>
    /// </summary>
    private static void Im2ColPanel(int j0, int cols, int p0, int kb, float* image, float* dst, in ConvGeometry g)
    {
        if (Avx2.IsSupported && (g.OutW < PanelWidth / 2 || g.StrideW != 1))
        {
            // Short output rows (or strided columns) make short runs: gather each 8 pixels instead.
            Im2ColPanelGather(j0, cols, p0, kb, image, dst, g);
            return;
        }

        int taps = g.KernelH * g.KernelW;
        for (int p = p0; p < p0 + kb; p++, dst += PanelWidth)
        {
            int c = p / taps, r = (p - c * taps) / g.KernelW, s = p - c * taps - r * g.KernelW;
            float* plane = image + (long)c * g.Height * g.Width;
            int rowShift = r * g.DilationH - g.PadTop;
            int colShift = s * g.DilationW - g.PadLeft;
            int j = 0;
            int oy = j0 / g.OutW, ox = j0 - oy * g.OutW;
            while (j < cols)
            {
                // One output row's pixels of this panel: j .. j + run.
                int run = Math.Min(cols - j, g.OutW - ox);
                int iy = oy * g.StrideH + rowShift;
                if ((uint)iy >= (uint)g.Height)
                {
                    Zero(dst + j, run);
                }
                else if (g.StrideW == 1)
                {
                    // Input columns ix = ox + t + colShift for t < run; those inside [0, width) are copied.
                    int ix = ox + colShift;
                    int t0 = Math.Min(run, Math.Max(0, -ix)), t1 = Math.Max(t0, Math.Min(run, g.Width - ix));
                    Zero(dst + j, t0);
                    Copy(plane + (long)iy * g.Width + ix + t0, dst + j + t0, t1 - t0);
                    Zero(dst + j + t1, run - t1);
                }
                else
                {
                    float* row = plane + (long)iy * g.Width;
                    for (int t = 0; t < run; t++)
                    {
                        int x = (ox + t) * g.StrideW + colShift;
                        dst[j + t] = (uint)x < (uint)g.Width ? row[x] : 0f;
                    }
                }

                j += run;
                ox = 0;
                oy++;
            }

            Zero(dst + cols, PanelWidth - cols);
        }
    }

    /// <summary>One panel of im2col with AVX2 gathers: per 8 pixels, the input row and column of each tap, a mask for
    /// those inside the image (and inside the panel), and one masked gather (masked-off lanes read nothing, give 0).</summary>
    private static void Im2ColPanelGather(int j0, int cols, int p0, int kb, float* image, float* dst, in ConvGeometry g)
    {
        var lane = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        Vector256<int> y0, y1, y2, y3, x0, x1, x2, x3;
        var inPanel0 = Vector256.GreaterThan(Vector256.Create(cols), lane);
        var inPanel1 = Vector256.GreaterThan(Vector256.Create(cols - 8), lane);
        var inPanel2 = Vector256.GreaterThan(Vector256.Create(cols - 16), lane);
        var inPanel3 = Vector256.GreaterThan(Vector256.Create(cols - 24), lane);
        int* oy = stackalloc int[PanelWidth];
        int* ox = stackalloc int[PanelWidth];
        for (int j = 0; j < PanelWidth; j++)
        {
            int pixel = Math.Min(j0 + j, j0 + cols - 1);
            int row = pixel / g.OutW;
            oy[j] = row * g.StrideH;
            ox[j] = (pixel - row * g.OutW) * g.StrideW;
        }

        y0 = Vector256.Load(oy); y1 = Vector256.Load(oy + 8); y2 = Vector256.Load(oy + 16); y3 = Vector256.Load(oy + 24);
        x0 = Vector256.Load(ox); x1 = Vector256.Load(ox + 8); x2 = Vector256.Load(ox + 16); x3 = Vector256.Load(ox + 24);
        var height = Vector256.Create(g.Height);
        var width = Vector256.Create(g.Width);
        var minusOne = Vector256.Create(-1);
        int taps = g.KernelH * g.KernelW;
        for (int p = p0; p < p0 + kb; p++, dst += PanelWidth)
        {
            int c = p / taps, r = (p - c * taps) / g.KernelW, s = p - c * taps - r * g.KernelW;
            float* plane = image + (long)c * g.Height * g.Width;
            var rowShift = Vector256.Create(r * g.DilationH - g.PadTop);
            var iy0 = y0 + rowShift; var iy1 = y1 + rowShift; var iy2 = y2 + rowShift; var iy3 = y3 + rowShift;
            var rows0 = Vector256.GreaterThan(iy0, minusOne) & Vector256.GreaterThan(height, iy0) & inPanel0;
            var rows1 = Vector256.GreaterThan(iy1, minusOne) & Vector256.GreaterThan(height, iy1) & inPanel1;
            var rows2 = Vector256.GreaterThan(iy2, minusOne) & Vector256.GreaterThan(height, iy2) & inPanel2;
            var rows3 = Vector256.GreaterThan(iy3, minusOne) & Vector256.GreaterThan(height, iy3) & inPanel3;
            var colShift = Vector256.Create(s * g.DilationW - g.PadLeft);
            Gather8(plane, dst, iy0 * width, x0 + colShift, rows0, width, minusOne);
            Gather8(plane, dst + 8, iy1 * width, x1 + colShift, rows1, width, minusOne);
            Gather8(plane, dst + 16, iy2 * width, x2 + colShift, rows2, width, minusOne);
            Gather8(plane, dst + 24, iy3 * width, x3 + colShift, rows3, width, minusOne);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Gather8(float* plane, float* dst, Vector256<int> rowBase, Vector256<int> ix, Vector256<int> rowsValid, Vector256<int> width, Vector256<int> minusOne)
    {
        var valid = rowsValid & Vector256.GreaterThan(ix, minusOne) & Vector256.GreaterThan(width, ix);
        Avx2.GatherMaskVector256(Vector256<float>.Zero, plane, rowBase + ix, valid.AsSingle(), 4).Store(dst);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(float* src, float* dst, int count)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= count; i += 8) Vector256.Store(Vector256.Load(src + i), dst + i);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            for (; i + 4 <= count; i += 4) Vector128.Store(Vector128.Load(src + i), dst + i);
        }

        for (; i < count; i++) dst[i] = src[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Zero(float* dst, int count)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= count; i += 8) Vector256.Store(Vector256<float>.Zero, dst + i);
        }

        for (; i < count; i++) dst[i] = 0f;
    }
}
