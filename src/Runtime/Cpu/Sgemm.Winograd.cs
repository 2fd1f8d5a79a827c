using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Aot.Runtime.Cpu;

// 3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3): 16 multiplies per output 2x2 tile and
// input-channel pair instead of 36, the products done as 16 matrix products on the GEMM microkernel.
public static unsafe partial class Sgemm
{
    /// <summary>
    /// The weights of a 3x3 convolution, <paramref name="weights"/> [m, channels, 3, 3], in the transform domain:
    /// transformed[(ξ * m + i) * channels + c] = (G g Gᵀ)[ξ] for g = weights[i, c] (ξ = row * 4 + column of the 4x4
    /// result), with G = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]]. Done once, when the model is compiled;
    /// computed in double and rounded once.
    /// </summary>
    public static void TransformWinogradWeights(ReadOnlySpan<float> weights, int m, int channels, Span<float> transformed)
    {
        long taps = (long)m * channels * 9, length = (long)GemmLayout.WinogradPoints * m * channels;
        if (weights.Length < taps) throw new ArgumentException($"weights need {taps} elements, has {weights.Length}", nameof(weights));
        if (transformed.Length < length) throw new ArgumentException($"transformed weights need {length} elements, has {transformed.Length}", nameof(transformed));
        Span<double> gg = stackalloc double[12];
        for (int i = 0; i < m; i++)
        {
            for (int c = 0; c < channels; c++)
            {
                var g = weights.Slice((i * channels + c) * 9, 9);
                for (int s = 0; s < 3; s++)
                {
                    // G g: column s of the 4 x 3 intermediate.
                    double g0 = g[s], g1 = g[3 + s], g2 = g[6 + s];
                    gg[s] = g0;
                    gg[3 + s] = 0.5 * (g0 + g1 + g2);
                    gg[6 + s] = 0.5 * (g0 - g1 + g2);
                    gg[9 + s] = g2;
                }

                for (int r = 0; r < 4; r++)
                {
                    // (G g) Gᵀ: row r of the 4 x 4 result.
                    double t0 = gg[r * 3], t1 = gg[r * 3 + 1], t2 = gg[r * 3 + 2];
                    transformed[((r * 4 + 0) * m + i) * channels + c] = (float)t0;
                    transformed[((r * 4 + 1) * m + i) * channels + c] = (float)(0.5 * (t0 + t1 + t2));
                    transformed[((r * 4 + 2) * m + i) * channels + c] = (float)(0.5 * (t0 - t1 + t2));
                    transformed[((r * 4 + 3) * m + i) * channels + c] = (float)t2;
                }
            }
        }
    }

    /// <summary>
    /// A 3x3 convolution with stride 1 and no dilation of one image (or one group of its channels) by F(2x2, 3x3):
    /// output[m, outH, outW] from image[channels, height, width] zero-padded by <paramref name="padTop"/> and
    /// <paramref name="padLeft"/> (and whatever the output size implies at the bottom and right), with
    /// <paramref name="transformedWeights"/> from <see cref="TransformWinogradWeights"/>, then the epilogue.
    /// <para>
    /// The output is cut into 2x2 tiles. For a block of <paramref name="tileBlock"/> tiles (a multiple of 32, sized by the
    /// generator's cost model so its transformed inputs and products stay in L2), each thread copies the rows of the
    /// image the block's tiles read into a zero-padded window of its own, transforms the 4x4 input
    /// tiles (V = Bᵀ d B, 8 tiles per vector, straight into the microkernel's packed panel layout), multiplies
    /// M[ξ] = U[ξ] @ V[ξ] for the 16 points ξ (m x channels by channels x tiles, on the GEMM microkernel), transforms the
    /// products back (Y = Aᵀ M A) into the output and applies the epilogue to each finished row segment. Blocks are
    /// tasks of the pool; every output element is computed by the same instructions whatever the thread count.
    /// Workspaces are per thread, grown on first use and reused, so steady-state calls allocate nothing. The window is
    /// written and read by one thread, while it is in that thread's cache (a padded copy of the whole image, split
    /// between threads, made them read each other's rows and write lines the other had written last; a block copies
    /// two halo rows twice).
    /// </para>
    /// The transforms add and subtract (halves only in the weights'), so the result differs from the direct sum by a
    /// few float roundings of values up to 4 times the inputs' magnitude.
    /// </summary>
    public static void WinogradConvolve(
        int m, ReadOnlySpan<float> transformedWeights, ReadOnlySpan<float> image, int channels, int height, int width,
        int padTop, int padLeft, int outH, int outW, Span<float> output, int tileBlock, WorkerPool? pool = null,
        in GemmEpilogue epilogue = default, CpuInstructionSet isa = CpuInstructionSet.Auto)
    {
        if (m <= 0 || outH <= 0 || outW <= 0) return;
        if (isa != CpuInstructionSet.Auto) CpuFeatures.Require(isa);
        if (channels <= 0) throw new ArgumentException($"Sgemm.WinogradConvolve: no input channels");
        if (image.Length < (long)channels * height * width) throw new ArgumentException($"image needs {channels * height * width} elements, has {image.Length}", nameof(image));
        if (transformedWeights.Length < (long)GemmLayout.WinogradPoints * m * channels)
        {
            throw new ArgumentException($"transformed weights need {GemmLayout.WinogradPoints * m * channels} elements, has {transformedWeights.Length}", nameof(transformedWeights));
        }

        if (output.Length < (long)m * outH * outW) throw new ArgumentException($"output needs {m * outH * outW} elements, has {output.Length}", nameof(output));
        CheckEpilogue(m, outH * outW, epilogue);

        var geometry = new WinogradGeometry(channels, height, width, padTop, padLeft, outH, outW);
        int tiles = geometry.Tiles;

        // Fewer, larger blocks than tasks would leave a thread idle: shrink the block (never below one panel) first.
        int threads = pool?.Threads ?? 1;
        int block = Math.Max(PanelWidth, tileBlock / PanelWidth * PanelWidth);
        while (block > PanelWidth && (tiles + block - 1) / block < 4 * threads) block -= PanelWidth;
        int blocks = (tiles + block - 1) / block;

        fixed (float* pu = transformedWeights)
        fixed (float* src = image)
        fixed (float* po = output)
        fixed (float* rowBias = epilogue.RowBias)
        fixed (float* colBias = epilogue.ColumnBias)
        fixed (float* residual = epilogue.Residual)
        {
            var plan = new WinogradPlan(m, pu, src, po, geometry, block,
                new PinnedEpilogue(rowBias, colBias, residual, epilogue.ResidualStride, epilogue.ResidualAfterActivation, epilogue.Activation), isa);
            int tasks = pool is null ? 1 : Math.Min(blocks, pool.Threads * 4);
            if (tasks <= 1)
            {
                WinogradBlocks(0, blocks, plan);
                return;
            }

            var job = s_winogradJob ??= new WinogradJob();
            job.Set(tasks, blocks, plan);
            pool!.Run(job, tasks);
        }
    }

    [ThreadStatic]
    private static float[]? s_winogradInputs;

    [ThreadStatic]
    private static float[]? s_winogradProducts;

    [ThreadStatic]
    private static float[]? s_winogradWindow;

    [ThreadStatic]
    private static WinogradJob? s_winogradJob;

    /// <summary>Lanes of the vectors the transforms work with: 8 tiles at a time.</summary>
    private const int TransformLanes = 8;

    /// <summary>Floats between the starts of two points' packed inputs in a block's workspace: their channels x block
    /// matrix and one cache line, so the 16 points of a tile are not a power of two apart (which would put all 16 in one
    /// L1 set, 8 ways deep, for the transforms that write or read them together).</summary>
    private static long InputPointStride(in WinogradPlan plan) => (long)plan.Geometry.Channels * plan.Block + 16;

    /// <summary>As <see cref="InputPointStride"/> for the products, m x block each (plus the lanes a last vector reads past).</summary>
    private static long ProductPointStride(in WinogradPlan plan) => (long)plan.M * plan.Block + 16;

    /// <summary>Where the 2x2 output tiles and the padded image's 4x4 input tiles of a <see cref="WinogradConvolve"/> lie.</summary>
    private readonly struct WinogradGeometry
    {
        public readonly int Channels, Height, Width, PadTop, PadLeft, OutH, OutW, TilesY, TilesX;

        public WinogradGeometry(int channels, int height, int width, int padTop, int padLeft, int outH, int outW)
        {
            (Channels, Height, Width, PadTop, PadLeft, OutH, OutW) = (channels, height, width, padTop, padLeft, outH, outW);
            TilesY = (outH + 1) / 2;
            TilesX = (outW + 1) / 2;
        }

        public int Tiles => TilesY * TilesX;

        /// <summary>Rows per channel of a window holding <paramref name="tileRows"/> tile rows: tile row ty reads padded
        /// rows 2ty .. 2ty + 3.</summary>
        public static int WindowRows(int tileRows) => 2 * tileRows + 2;

        /// <summary>Columns the tiles reach: tile column tx reads 2tx .. 2tx + 3.</summary>
        public int PaddedColumns => 2 * TilesX + 2;

        /// <summary>Floats per phase: the TilesX + 1 columns of a phase, plus the lanes a last vector reads past them.</summary>
        public int PhaseLength => TilesX + 1 + TransformLanes;

        public int RowLength => 2 * PhaseLength;

        /// <summary>Floats of a window for a block of <paramref name="block"/> tiles, which spans at most
        /// (block - 1) / TilesX + 2 tile rows.</summary>
        public int WindowLength(int block) => Channels * WindowRows((block - 1) / TilesX + 2) * RowLength;

        /// <summary>The padded copy as <see cref="PadImage"/> makes it: two column phases.</summary>
        public ConvGeometry PadGeometry => new(Channels, Height, Width, 3, 3, 1, 2, PadTop, PadLeft, 1, 1, OutH, OutW);
    }

    /// <summary>One <see cref="WinogradConvolve"/> call's operands, pinned for its duration.</summary>
    private readonly struct WinogradPlan
    {
        public readonly int M, Block;
        public readonly float* Weights, Image, Output;
        public readonly WinogradGeometry Geometry;
        public readonly PinnedEpilogue Epilogue;
        public readonly CpuInstructionSet Isa;

        public WinogradPlan(int m, float* weights, float* image, float* output, in WinogradGeometry geometry, int block, in PinnedEpilogue epilogue, CpuInstructionSet isa)
        {
            (M, Block, Geometry, Epilogue, Isa) = (m, block, geometry, epilogue, isa);
            Weights = weights;
            Image = image;
            Output = output;
        }
    }

    private sealed class WinogradJob : IParallelJob
    {
        private int _tasks, _blocks;
        private WinogradPlan _plan;

        public void Set(int tasks, int blocks, in WinogradPlan plan) => (_tasks, _blocks, _plan) = (tasks, blocks, plan);

        public void Execute(int task)
        {
            var (first, last) = WorkerPool.Share(_blocks, task, _tasks);
            WinogradBlocks(first, last, _plan);
        }
    }

    /// <summary>Tile blocks [first, last): transform, 16 products, inverse transform, each block in this thread's workspaces.</summary>
    private static void WinogradBlocks(int first, int last, in WinogradPlan plan)
    {
        int m = plan.M, channels = plan.Geometry.Channels, block = plan.Block;
        long inputStride = InputPointStride(plan), productStride = ProductPointStride(plan);
        ref readonly var g = ref plan.Geometry;
        var inputs = Workspace(ref s_winogradInputs, (int)(GemmLayout.WinogradPoints * inputStride));
        var products = Workspace(ref s_winogradProducts, (int)(GemmLayout.WinogradPoints * productStride));
        var window = Workspace(ref s_winogradWindow, g.WindowLength(block));
        var none = default(PinnedEpilogue);
        fixed (float* v = inputs)
        fixed (float* p = products)
        fixed (float* w = window)
        {
            for (int b = first; b < last; b++)
            {
                int t0 = b * block, count = Math.Min(block, g.Tiles - t0);
                int firstTileRow = t0 / g.TilesX, tileRows = (t0 + count - 1) / g.TilesX - firstTileRow + 1;
                int windowRows = WinogradGeometry.WindowRows(tileRows);
                PadImage(plan.Image, w, (long)windowRows * g.RowLength, g.PadGeometry, g.PaddedColumns, g.PhaseLength, 2 * firstTileRow, 2 * firstTileRow + windowRows);
                TransformInputs(plan, t0, count, v, w, firstTileRow, windowRows);
                int panels = (count + PanelWidth - 1) / PanelWidth;
                for (int xi = 0; xi < GemmLayout.WinogradPoints; xi++)
                {
                    Panels(0, panels, m, count, channels, plan.Weights + (long)xi * m * channels, channels,
                        v + xi * inputStride, p + xi * productStride, block, 1f, false, channels, m, none, plan.Isa);
                }

                TransformProducts(plan, t0, count, p);
            }
        }
    }

    /// <summary>
    /// V = Bᵀ d B for the 4x4 input tile d of every channel and tile t0 .. t0 + count, with
    /// Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]: point ξ of channel c and tile t0 + j goes to
    /// v[ξ * <see cref="InputPointStride"/> + (j / 32) * channels * 32 + c * 32 + j % 32], each point's channels x tiles
    /// matrix packed as the microkernel's B panels. The tiles are read from <paramref name="window"/>: windowRows padded
    /// rows per channel, from padded row 2 * firstTileRow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // as the microkernels: one fully inlined body, whatever the profile
    private static void TransformInputs(in WinogradPlan plan, int t0, int count, float* v, float* window, int firstTileRow, int windowRows)
    {
        ref readonly var g = ref plan.Geometry;
        int rowLength = g.RowLength, phase = g.PhaseLength;
        long pointStride = InputPointStride(plan);
        // Channel by channel, so each point's panel row is written front to back (not 16 x channels lines at once).
        for (int c = 0; c < g.Channels; c++)
        {
            float* plane = window + ((long)c * windowRows - 2 * firstTileRow) * rowLength; // where padded row 0 would be
            for (int j = 0; j < count;)
            {
                // A run of tiles within one tile row, 8 at a time.
                int t = t0 + j, ty = t / g.TilesX, tx = t - ty * g.TilesX;
                int n = Math.Min(TransformLanes, Math.Min(count - j, g.TilesX - tx));

                // Columns of the tiles' rows: even, odd, even + 1, odd + 1 in the phase layout.
                float* r0 = plane + (long)2 * ty * rowLength + tx, r1 = r0 + rowLength, r2 = r1 + rowLength, r3 = r2 + rowLength;
                var d00 = Vector256.Load(r0); var d01 = Vector256.Load(r0 + phase); var d02 = Vector256.Load(r0 + 1); var d03 = Vector256.Load(r0 + phase + 1);
                var d10 = Vector256.Load(r1); var d11 = Vector256.Load(r1 + phase); var d12 = Vector256.Load(r1 + 1); var d13 = Vector256.Load(r1 + phase + 1);
                var d20 = Vector256.Load(r2); var d21 = Vector256.Load(r2 + phase); var d22 = Vector256.Load(r2 + 1); var d23 = Vector256.Load(r2 + phase + 1);
                var d30 = Vector256.Load(r3); var d31 = Vector256.Load(r3 + phase); var d32 = Vector256.Load(r3 + 1); var d33 = Vector256.Load(r3 + phase + 1);
                var dst = new PointWriter(v + (long)(j / PanelWidth) * g.Channels * PanelWidth + c * PanelWidth + j % PanelWidth, pointStride, j, n, g.Channels);

                // Row r of Bᵀ d, then (Bᵀ d) B on its columns: points 4r .. 4r + 3.
                dst.Row(0, d00 - d20, d01 - d21, d02 - d22, d03 - d23);
                dst.Row(1, d10 + d20, d11 + d21, d12 + d22, d13 + d23);
                dst.Row(2, d20 - d10, d21 - d11, d22 - d12, d23 - d13);
                dst.Row(3, d10 - d30, d11 - d31, d12 - d32, d13 - d33);
                j += n;
            }
        }
    }

    /// <summary>Stores one channel's transformed 8 tiles, point by point, into the packed panels.</summary>
    private readonly struct PointWriter
    {
        private readonly float* _first;
        private readonly long _pointStride;
        private readonly int _j, _lanes, _channels;

        public PointWriter(float* first, long pointStride, int j, int lanes, int channels)
        {
            _first = first;
            (_pointStride, _j, _lanes, _channels) = (pointStride, j, lanes, channels);
        }

        /// <summary>Points 4r .. 4r + 3 from row r (w0 .. w3) of Bᵀ d.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Row(int r, Vector256<float> w0, Vector256<float> w1, Vector256<float> w2, Vector256<float> w3)
        {
            Store(4 * r, w0 - w2);
            Store(4 * r + 1, w1 + w2);
            Store(4 * r + 2, w2 - w1);
            Store(4 * r + 3, w1 - w3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Store(int point, Vector256<float> value)
        {
            float* dst = _first + point * _pointStride;
            if (_lanes == TransformLanes && _j % PanelWidth <= PanelWidth - TransformLanes)
            {
                value.Store(dst);
                return;
            }

            // A run's last few tiles, or 8 that straddle two panels: lane by lane (lane l of the next panel lies
            // channels * 32 floats on).
            for (int l = 0; l < _lanes; l++)
            {
                int column = _j % PanelWidth + l;
                dst[l + (column >= PanelWidth ? (_channels - 1) * PanelWidth : 0)] = value.GetElement(l);
            }
        }
    }

    /// <summary>
    /// Y = Aᵀ M A, Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]], for every output channel and tile t0 .. t0 + count (point ξ of
    /// channel i and tile t0 + j at products[ξ * <see cref="ProductPointStride"/> + i * block + j]), written as the tiles' 2x2 pixels of the output;
    /// then the epilogue over each output row segment a run of tiles wrote.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformProducts(in WinogradPlan plan, int t0, int count, float* products)
    {
        ref readonly var g = ref plan.Geometry;
        long pointStride = ProductPointStride(plan);
        int plane = g.OutH * g.OutW;
        float* pixels = stackalloc float[2 * TransformLanes];
        var evens = Vector256.Create(0, 0, 1, 1, 2, 2, 3, 3);
        var odds = Vector256.Create(4, 4, 5, 5, 6, 6, 7, 7);
        var oddLanes = Vector256.Create(0, -1, 0, -1, 0, -1, 0, -1).AsSingle();
        for (int i = 0; i < plan.M; i++)
        {
            float* q = products + (long)i * plan.Block;
            for (int j = 0; j < count;)
            {
                int t = t0 + j, ty = t / g.TilesX, tx = t - ty * g.TilesX;
                int run = Math.Min(count - j, g.TilesX - tx);
                int y = 2 * ty, x = 2 * tx;
                bool secondRow = y + 1 < g.OutH;
                float* out0 = plan.Output + (long)i * plane + (long)y * g.OutW + x;
                for (int l = 0; l < run; l += TransformLanes)
                {
                    float* s = q + j + l;
                    Vector256<float> a00, a01, a02, a03, a10, a11, a12, a13;
                    {
                        var m00 = Vector256.Load(s); var m01 = Vector256.Load(s + pointStride); var m02 = Vector256.Load(s + 2 * pointStride); var m03 = Vector256.Load(s + 3 * pointStride);
                        var m10 = Vector256.Load(s + 4 * pointStride); var m11 = Vector256.Load(s + 5 * pointStride); var m12 = Vector256.Load(s + 6 * pointStride); var m13 = Vector256.Load(s + 7 * pointStride);
                        var m20 = Vector256.Load(s + 8 * pointStride); var m21 = Vector256.Load(s + 9 * pointStride); var m22 = Vector256.Load(s + 10 * pointStride); var m23 = Vector256.Load(s + 11 * pointStride);
                        var m30 = Vector256.Load(s + 12 * pointStride); var m31 = Vector256.Load(s + 13 * pointStride); var m32 = Vector256.Load(s + 14 * pointStride); var m33 = Vector256.Load(s + 15 * pointStride);
                        (a00, a01, a02, a03) = (m00 + m10 + m20, m01 + m11 + m21, m02 + m12 + m22, m03 + m13 + m23);
                        (a10, a11, a12, a13) = (m10 - m20 - m30, m11 - m21 - m31, m12 - m22 - m32, m13 - m23 - m33);
                    }

                    int columns = Math.Min(2 * Math.Min(TransformLanes, run - l), g.OutW - x - 2 * l);
                    StorePixelPairs(out0 + 2 * l, a00 + a01 + a02, a01 - a02 - a03, columns, evens, odds, oddLanes, pixels);
                    if (secondRow) StorePixelPairs(out0 + g.OutW + 2 * l, a10 + a11 + a12, a11 - a12 - a13, columns, evens, odds, oddLanes, pixels);
                }

                if (plan.Epilogue.Active)
                {
                    int columns = Math.Min(2 * run, g.OutW - x);
                    plan.Epilogue.ApplyRow(out0, columns, i, y * g.OutW + x, linearDone: false);
                    if (secondRow) plan.Epilogue.ApplyRow(out0 + g.OutW, columns, i, (y + 1) * g.OutW + x, linearDone: false);
                }

                j += run;
            }
        }
    }

    /// <summary>The left and right pixels of 8 tiles, interleaved into <paramref name="columns"/> (at most 16) output floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePixelPairs(float* dst, Vector256<float> left, Vector256<float> right, int columns,
        Vector256<int> evens, Vector256<int> odds, Vector256<float> oddLanes, float* pixels)
    {
        var low = Vector256.ConditionalSelect(oddLanes, Vector256.Shuffle(right, evens), Vector256.Shuffle(left, evens));
        var high = Vector256.ConditionalSelect(oddLanes, Vector256.Shuffle(right, odds), Vector256.Shuffle(left, odds));
        if (columns == 2 * TransformLanes)
        {
            low.Store(dst);
            high.Store(dst + TransformLanes);
            return;
        }

        low.Store(pixels);
        high.Store(pixels + TransformLanes);
        for (int k = 0; k < columns; k++) dst[k] = pixels[k];
    }
}
