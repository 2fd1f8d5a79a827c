using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Aot.Runtime.Cpu;

/// <summary>
/// Single-precision matrix product for generated CPU code: <c>C = alpha * A @ B (+ C)</c> with B pre-packed once
/// (at model compile time, for weights) into panels of <see cref="GemmLayout.PanelWidth"/> columns, each panel stored p-major
/// so the microkernel streams it contiguously. Loops are blocked the BLIS way: a kc-deep slice of a B panel stays in
/// L1, an mc x kc block of A in L2 (kc and mc come from the generator's cost model); the microkernel keeps a
/// 6 x 32 tile of C in registers (12 Vector512 or 2 x 12 Vector256 accumulators) and does one FMA per
/// accumulator per k. The vector width is picked with IsHardwareAccelerated / IsSupported, which the JIT and
/// NativeAOT (for a given IlcInstructionSet) fold to constants, so only one path survives in the machine code.
/// </summary>
public static unsafe class Sgemm
{
    private const int PanelWidth = GemmLayout.PanelWidth;
    private const int TileRows = GemmLayout.TileRows;

    private static int PackedLength(int k, int n) => GemmLayout.PackedLength(k, n);

    /// <summary>
    /// Packs B (k x n; row-major, or its transpose stored n x k when <paramref name="transposed"/>) into
    /// panels: packed[(panel * k + p) * 32 + j] = B[p, panel * 32 + j], zero beyond column n.
    /// </summary>
    public static void PackB(ReadOnlySpan<float> b, int k, int n, bool transposed, Span<float> packed)
    {
        if (b.Length < (long)k * n) throw new ArgumentException($"B needs {k * n} elements, has {b.Length}", nameof(b));
        if (packed.Length < PackedLength(k, n)) throw new ArgumentException($"packed B needs {PackedLength(k, n)} elements, has {packed.Length}", nameof(packed));
        int panels = (n + PanelWidth - 1) / PanelWidth;
        for (int panel = 0; panel < panels; panel++)
        {
            int j0 = panel * PanelWidth;
            int cols = Math.Min(PanelWidth, n - j0);
            for (int p = 0; p < k; p++)
            {
                var dst = packed.Slice((panel * k + p) * PanelWidth, PanelWidth);
                if (transposed)
                {
                    for (int j = 0; j < cols; j++) dst[j] = b[(j0 + j) * k + p];
                }
                else
                {
                    b.Slice(p * n + j0, cols).CopyTo(dst);
                }

                dst.Slice(cols).Clear();
            }
        }
    }

    /// <summary>
    /// Convolution as a matrix product (implicit GEMM): packs the im2col matrix of one image (or one group of its
    /// channels), B[p, j] with p = (channel, kernel row, kernel column) and j = output pixel, straight into the
    /// panel layout of <see cref="PackB"/>, zero where the kernel reads padding. Then
    /// out[K, OH*OW] = weights[K, C*R*S] @ B is one <see cref="Multiply"/>.
    /// <para>
    /// The pixels of one panel row that lie in one output row read consecutive input pixels (horizontal stride 1),
    /// so each such run is one vector copy between two zero fills for the padding; the bounds are worked out per run,
    /// not per element. With a <paramref name="pool"/>, threads split the panels (disjoint output, identical bytes).
    /// </para>
    /// </summary>
    public static void PackIm2Col(
        ReadOnlySpan<float> image, int channels, int height, int width,
        int kernelH, int kernelW, int strideH, int strideW, int padTop, int padLeft, int dilationH, int dilationW,
        int outH, int outW, Span<float> packed, WorkerPool? pool = null)
    {
        int k = channels * kernelH * kernelW;
        int n = outH * outW;
        if (image.Length < channels * height * width) throw new ArgumentException($"image needs {channels * height * width} elements, has {image.Length}", nameof(image));
        if (packed.Length < PackedLength(k, n)) throw new ArgumentException($"packed needs {PackedLength(k, n)} elements, has {packed.Length}", nameof(packed));
        if (k == 0 || n <= 0) return;
        int panels = (n + PanelWidth - 1) / PanelWidth;
        var geometry = new Im2ColGeometry(channels, height, width, kernelH, kernelW, strideH, strideW, padTop, padLeft, dilationH, dilationW, outH, outW);
        fixed (float* src = image)
        fixed (float* dst = packed)
        {
            int tasks = pool is null || (long)k * n < ParallelMinIm2Col ? 1 : Math.Min(panels, pool.Threads * 2);
            if (tasks <= 1)
            {
                Im2ColPanels(0, panels, src, dst, geometry);
                return;
            }

            var job = s_im2colJob ??= new Im2ColJob();
            job.Set(tasks, panels, src, dst, geometry);
            pool!.Run(job, tasks);
        }
    }

    /// <summary>Below this many packed elements im2col is not worth waking other threads for.</summary>
    private const long ParallelMinIm2Col = 1 << 16;

    [ThreadStatic]
    private static Im2ColJob? s_im2colJob;

    private readonly record struct Im2ColGeometry(
        int Channels, int Height, int Width, int KernelH, int KernelW, int StrideH, int StrideW,
        int PadTop, int PadLeft, int DilationH, int DilationW, int OutH, int OutW);

    private sealed class Im2ColJob : IParallelJob
    {
        private int _tasks, _panels;
        private float* _src, _dst;
        private Im2ColGeometry _geometry;

        public void Set(int tasks, int panels, float* src, float* dst, in Im2ColGeometry geometry)
        {
            (_tasks, _panels, _geometry) = (tasks, panels, geometry);
            _src = src;
            _dst = dst;
        }

        public void Execute(int task)
        {
            int first = (int)((long)_panels * task / _tasks);
            int last = (int)((long)_panels * (task + 1) / _tasks);
            Im2ColPanels(first, last, _src, _dst, _geometry);
        }
    }

    /// <summary>Panels [first, last) of the packed im2col matrix.</summary>
    private static void Im2ColPanels(int first, int last, float* image, float* packed, in Im2ColGeometry g)
    {
        int k = g.Channels * g.KernelH * g.KernelW;
        int n = g.OutH * g.OutW;
        for (int panel = first; panel < last; panel++)
        {
            int j0 = panel * PanelWidth;
            int cols = Math.Min(PanelWidth, n - j0);
            float* dst = packed + (long)panel * k * PanelWidth;
            if (Avx2.IsSupported && (g.OutW < PanelWidth / 2 || g.StrideW != 1))
            {
                // Short output rows (or strided columns) make short runs: gather each 8 pixels instead.
                Im2ColPanelGather(j0, cols, image, dst, g);
                continue;
            }

            for (int c = 0; c < g.Channels; c++)
            {
                float* plane = image + (long)c * g.Height * g.Width;
                for (int r = 0; r < g.KernelH; r++)
                {
                    int rowShift = r * g.DilationH - g.PadTop;
                    for (int s = 0; s < g.KernelW; s++, dst += PanelWidth)
                    {
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
            }
        }
    }

    /// <summary>One panel of im2col with AVX2 gathers: per 8 pixels, the input row and column of each tap, a mask for
    /// those inside the image (and inside the panel), and one masked gather (masked-off lanes read nothing, give 0).</summary>
    private static void Im2ColPanelGather(int j0, int cols, float* image, float* dst, in Im2ColGeometry g)
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
        for (int c = 0; c < g.Channels; c++)
        {
            float* plane = image + (long)c * g.Height * g.Width;
            for (int r = 0; r < g.KernelH; r++)
            {
                var rowShift = Vector256.Create(r * g.DilationH - g.PadTop);
                var iy0 = y0 + rowShift; var iy1 = y1 + rowShift; var iy2 = y2 + rowShift; var iy3 = y3 + rowShift;
                var rows0 = Vector256.GreaterThan(iy0, minusOne) & Vector256.GreaterThan(height, iy0) & inPanel0;
                var rows1 = Vector256.GreaterThan(iy1, minusOne) & Vector256.GreaterThan(height, iy1) & inPanel1;
                var rows2 = Vector256.GreaterThan(iy2, minusOne) & Vector256.GreaterThan(height, iy2) & inPanel2;
                var rows3 = Vector256.GreaterThan(iy3, minusOne) & Vector256.GreaterThan(height, iy3) & inPanel3;
                var base0 = iy0 * width; var base1 = iy1 * width; var base2 = iy2 * width; var base3 = iy3 * width;
                for (int s = 0; s < g.KernelW; s++, dst += PanelWidth)
                {
                    var colShift = Vector256.Create(s * g.DilationW - g.PadLeft);
                    Gather8(plane, dst, base0, x0 + colShift, rows0, width, minusOne);
                    Gather8(plane, dst + 8, base1, x1 + colShift, rows1, width, minusOne);
                    Gather8(plane, dst + 16, base2, x2 + colShift, rows2, width, minusOne);
                    Gather8(plane, dst + 24, base3, x3 + colShift, rows3, width, minusOne);
                }
            }
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

    /// <summary>
    /// C[m, n] = alpha * A[m, k] @ B + (accumulate ? C : 0), then <paramref name="epilogue"/> (bias, activation,
    /// residual; none by default) applied to each tile of C after its last k block, while the tile is hot: in the
    /// microkernel's registers for bias, residual and ReLU, in L1 for the other activations. A's rows start lda
    /// floats apart, C's ldc; <paramref name="packedB"/> comes from <see cref="PackB"/>. kc and mc are the cache
    /// block sizes. <paramref name="isa"/> fixes the microkernel (generated code passes its AotInstructionSet):
    /// Avx512 the Vector512 kernels, Avx2 the Vector256 FMA kernels, Vector128 the portable Vector&lt;float&gt; tile;
    /// Auto (the default) picks the widest the JIT or NativeAOT compiler targets. An instruction set the machine lacks
    /// throws <see cref="PlatformNotSupportedException"/>.
    /// </summary>
    public static void Multiply(
        int m, int n, int k,
        ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> packedB,
        Span<float> c, int ldc,
        float alpha, bool accumulate, int kc, int mc, WorkerPool? pool = null, in GemmEpilogue epilogue = default,
        CpuInstructionSet isa = CpuInstructionSet.Auto)
    {
        if (m <= 0 || n <= 0) return;
        if (isa != CpuInstructionSet.Auto) CpuFeatures.Require(isa);
        if (c.Length < (long)(m - 1) * ldc + n) throw new ArgumentException($"Sgemm: C too small for m={m}, n={n}, ldc={ldc}");
        if (k > 0 && (a.Length < (long)(m - 1) * lda + k || packedB.Length < PackedLength(k, n)))
        {
            throw new ArgumentException($"Sgemm: operands too small for m={m}, n={n}, k={k}, lda={lda}, ldc={ldc}");
        }

        if (!epilogue.RowBias.IsEmpty && epilogue.RowBias.Length < m) throw new ArgumentException($"Sgemm: row bias needs {m} elements, has {epilogue.RowBias.Length}");
        if (!epilogue.ColumnBias.IsEmpty && epilogue.ColumnBias.Length < n) throw new ArgumentException($"Sgemm: column bias needs {n} elements, has {epilogue.ColumnBias.Length}");
        if (!epilogue.Residual.IsEmpty && (epilogue.ResidualStride < n || epilogue.Residual.Length < (long)(m - 1) * epilogue.ResidualStride + n))
        {
            throw new ArgumentException($"Sgemm: residual of {epilogue.Residual.Length} elements with stride {epilogue.ResidualStride} does not cover [{m}, {n}]");
        }

        kc = Math.Max(1, kc);
        mc = Math.Max(TileRows, mc / TileRows * TileRows);
        int panels = (n + PanelWidth - 1) / PanelWidth;
        fixed (float* pa = a)
        fixed (float* pb = packedB)
        fixed (float* pc = c)
        fixed (float* rowBias = epilogue.RowBias)
        fixed (float* colBias = epilogue.ColumnBias)
        fixed (float* residual = epilogue.Residual)
        {
            var ep = new PinnedEpilogue(rowBias, colBias, residual, epilogue.ResidualStride, epilogue.ResidualAfterActivation, epilogue.Activation);
            if (k == 0)
            {
                for (int i = 0; i < m; i++)
                {
                    if (!accumulate) c.Slice(i * ldc, n).Clear();
                    if (ep.Active) ep.ApplyRow(pc + (long)i * ldc, n, i, 0, linearDone: false);
                }

                return;
            }

            // Threads split the column panels: each writes its own columns of C, so no synchronization inside, and
            // every element is computed by the same instructions in the same order whatever the thread count.
            int tasks = pool is null || (long)m * n * k < ParallelMinMacs ? 1 : Math.Min(panels, pool.Threads * 2);
            if (tasks <= 1)
            {
                Panels(0, panels, m, n, k, pa, lda, pb, pc, ldc, alpha, accumulate, kc, mc, ep, isa);
                return;
            }

            var job = s_job ??= new PanelJob();
            job.Set(tasks, panels, m, n, k, pa, lda, pb, pc, ldc, alpha, accumulate, kc, mc, ep, isa);
            pool!.Run(job, tasks);
        }
    }

    /// <summary>
    /// C[m, n] = alpha * A[m, k] @ B + (accumulate ? C : 0) for a B known only at run time (k x n row-major, or its
    /// transpose stored n x k when <paramref name="transposedB"/>): B is packed into this thread's workspace (grown on
    /// first use, then reused, so steady-state calls allocate nothing), then multiplied as in <see cref="Multiply"/>.
    /// For products of two activations, such as attention's Q @ K^T and P @ V.
    /// </summary>
    public static void MultiplyUnpacked(
        int m, int n, int k,
        ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, bool transposedB,
        Span<float> c, int ldc,
        float alpha, bool accumulate, int kc, int mc, WorkerPool? pool = null,
        CpuInstructionSet isa = CpuInstructionSet.Auto)
    {
        if (m <= 0 || n <= 0) return;
        int length = PackedLength(k, n);
        var workspace = s_workspace;
        if (workspace is null || workspace.Length < length) s_workspace = workspace = new float[Math.Max(length, 4096)];
        var packed = workspace.AsSpan(0, length);
        PackB(b, k, n, transposedB, packed);
        Multiply(m, n, k, a, lda, packed, c, ldc, alpha, accumulate, kc, mc, pool, default, isa);
    }

    [ThreadStatic]
    private static float[]? s_workspace;

    /// <summary>Below this many multiply-adds a product is not worth waking other threads for.</summary>
    private const long ParallelMinMacs = 1 << 18;

    [ThreadStatic]
    private static PanelJob? s_job;

    /// <summary>Column panels [first, last) of C over all of k and m, in BLIS loop order.</summary>
    private static void Panels(int first, int last, int m, int n, int k, float* pa, int lda, float* pb, float* pc, int ldc, float alpha, bool accumulate, int kc, int mc, in PinnedEpilogue ep, CpuInstructionSet isa)
    {
        for (int p0 = 0; p0 < k; p0 += kc)
        {
            int kb = Math.Min(kc, k - p0);
            bool overwrite = p0 == 0 && !accumulate;
            bool lastBlock = p0 + kb == k;
            for (int i0 = 0; i0 < m; i0 += mc)
            {
                int mb = Math.Min(mc, m - i0);
                for (int panel = first; panel < last; panel++)
                {
                    int j0 = panel * PanelWidth;
                    int cols = Math.Min(PanelWidth, n - j0);
                    float* bPanel = pb + ((long)panel * k + p0) * PanelWidth;
                    for (int i = i0; i < i0 + mb; i += TileRows)
                    {
                        int rows = Math.Min(TileRows, i0 + mb - i);
                        Tile(rows, cols, kb, pa + (long)i * lda + p0, lda, bPanel, pc + (long)i * ldc + j0, ldc, alpha, overwrite, lastBlock, ep, i, j0, isa);
                    }
                }
            }
        }
    }

    /// <summary>The arguments of one parallel Multiply, kept in a reused object so a call allocates nothing.
    /// The pointers stay valid because Multiply holds them fixed until every task has finished.</summary>
    private sealed class PanelJob : IParallelJob
    {
        private int _tasks, _panels, _m, _n, _k, _lda, _ldc, _kc, _mc;
        private float* _a, _b, _c;
        private float _alpha;
        private bool _accumulate;
        private PinnedEpilogue _epilogue;
        private CpuInstructionSet _isa;

        public void Set(int tasks, int panels, int m, int n, int k, float* a, int lda, float* b, float* c, int ldc, float alpha, bool accumulate, int kc, int mc, in PinnedEpilogue epilogue, CpuInstructionSet isa)
        {
            (_tasks, _panels, _m, _n, _k, _lda, _ldc, _alpha, _accumulate, _kc, _mc) = (tasks, panels, m, n, k, lda, ldc, alpha, accumulate, kc, mc);
            _a = a;
            _b = b;
            _c = c;
            _epilogue = epilogue;
            _isa = isa;
        }

        public void Execute(int task)
        {
            int first = (int)((long)_panels * task / _tasks);
            int last = (int)((long)_panels * (task + 1) / _tasks);
            Panels(first, last, _m, _n, _k, _a, _lda, _b, _c, _ldc, _alpha, _accumulate, _kc, _mc, _epilogue, _isa);
        }
    }

    /// <summary>Rows of a microkernel instantiation: a constant per struct type, so the JIT (and NativeAOT) compile
    /// each instantiation with the unused rows' accumulators and stores removed.</summary>
    private interface IRowCount
    {
        static abstract int Count { get; }
    }

    private struct Rows1 : IRowCount { public static int Count => 1; }

    private struct Rows2 : IRowCount { public static int Count => 2; }

    private struct Rows3 : IRowCount { public static int Count => 3; }

    private struct Rows4 : IRowCount { public static int Count => 4; }

    private struct Rows5 : IRowCount { public static int Count => 5; }

    private struct Rows6 : IRowCount { public static int Count => 6; }

    /// <summary>
    /// One rows x cols (at most 6 x 32) tile of C over kb steps of k, C[row, col] being its first element. Every shape
    /// runs a register-blocked FMA kernel: fewer rows (a GEMV for one) use fewer accumulators, a last panel with fewer
    /// than 32 columns is computed whole (packing zero-pads it) and stored under a mask.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile(int rows, int cols, int kb, float* a, int lda, float* b, float* c, int ldc, float alpha, bool overwrite, bool last, in PinnedEpilogue ep, int row, int col, CpuInstructionSet isa)
    {
        // Auto: the IsSupported checks are JIT / NativeAOT constants, so one branch survives. A fixed isa (checked by
        // Multiply) selects its kernel at run time, one compare per tile.
        if (isa == CpuInstructionSet.Avx512 || (isa == CpuInstructionSet.Auto && Avx512F.IsSupported))
        {
            switch (rows)
            {
                case 6: Kernel512<Rows6>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
                case 5: Kernel512<Rows5>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
                case 4: Kernel512<Rows4>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
                case 3: Kernel512<Rows3>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
                case 2: Kernel512<Rows2>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
                default: Kernel512<Rows1>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
            }
        }

        if (isa == CpuInstructionSet.Avx2 || (isa == CpuInstructionSet.Auto && Fma.IsSupported))
        {
            // Two 16-column halves; the second is absent when the last panel is narrow.
            Half256(rows, kb, a, lda, b, c, ldc, alpha, overwrite, Math.Min(cols, 16), last, ep, row, col);
            if (cols > 16) Half256(rows, kb, a, lda, b + 16, c + 16, ldc, alpha, overwrite, cols - 16, last, ep, row, col + 16);
            return;
        }

        TilePortable(rows, cols, kb, a, lda, b, c, ldc, alpha, overwrite, last, ep, row, col);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Half256(int rows, int kb, float* a, int lda, float* b, float* c, int ldc, float alpha, bool overwrite, int cols, bool last, in PinnedEpilogue ep, int row, int col)
    {
        switch (rows)
        {
            case 6: Kernel256<Rows6>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
            case 5: Kernel256<Rows5>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
            case 4: Kernel256<Rows4>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
            case 3: Kernel256<Rows3>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
            case 2: Kernel256<Rows2>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
            default: Kernel256<Rows1>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
        }
    }

    /// <summary>
    /// Machines without FMA (or another ISA): row by row with Vector&lt;float&gt; (32 is a multiple of every width it
    /// has), two accumulators to hide the add latency, into a tile on the stack; then the valid part is stored.
    /// </summary>
    private static void TilePortable(int rows, int cols, int kb, float* a, int lda, float* b, float* c, int ldc, float alpha, bool overwrite, bool last, in PinnedEpilogue ep, int row, int col)
    {
        float* tile = stackalloc float[TileRows * PanelWidth];
        int width = Vector<float>.Count;
        for (int r = 0; r < rows; r++)
        {
            float* aRow = a + (long)r * lda;
            for (int j = 0; j < PanelWidth; j += width)
            {
                Vector<float> s0 = default, s1 = default;
                int p = 0;
                for (; p + 1 < kb; p += 2)
                {
                    s0 += new Vector<float>(aRow[p]) * Unsafe.Read<Vector<float>>(b + p * PanelWidth + j);
                    s1 += new Vector<float>(aRow[p + 1]) * Unsafe.Read<Vector<float>>(b + (p + 1) * PanelWidth + j);
                }

                if (p < kb) s0 += new Vector<float>(aRow[p]) * Unsafe.Read<Vector<float>>(b + p * PanelWidth + j);
                Unsafe.Write(tile + r * PanelWidth + j, s0 + s1);
            }
        }

        for (int r = 0; r < rows; r++)
        {
            float* cRow = c + (long)r * ldc;
            float* t = tile + r * PanelWidth;
            for (int j = 0; j < cols; j++) cRow[j] = overwrite ? alpha * t[j] : cRow[j] + alpha * t[j];
            if (last && ep.Active) ep.ApplyRow(cRow, cols, row + r, col, linearDone: false);
        }
    }

    /// <summary>
    /// R x 32 tile with 2R Vector512 accumulators (12 for the full 6-row tile). One row (a GEMV) splits k four ways
    /// into 8 accumulators, so the FMA latency is hidden while B streams through.
    /// </summary>
    private static void Kernel512<R>(int kb, float* a, int lda, float* b, float* c, int ldc, float alpha, bool overwrite, int cols, bool last, in PinnedEpilogue ep, int row, int col)
        where R : struct, IRowCount
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        float* a0 = a, a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        if (R.Count == 1)
        {
            // c1x..c3x hold the partial sums of k steps 1, 2, 3 (mod 4).
            int p = 0;
            for (; p + 3 < kb; p += 4)
            {
                var x = Vector512.Create(a0[p]);
                c00 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b), c00);
                c01 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b + 16), c01);
                x = Vector512.Create(a0[p + 1]);
                c10 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b + 32), c10);
                c11 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b + 48), c11);
                x = Vector512.Create(a0[p + 2]);
                c20 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b + 64), c20);
                c21 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b + 80), c21);
                x = Vector512.Create(a0[p + 3]);
                c30 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b + 96), c30);
                c31 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b + 112), c31);
                b += 4 * PanelWidth;
            }

            for (; p < kb; p++)
            {
                var x = Vector512.Create(a0[p]);
                c00 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b), c00);
                c01 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b + 16), c01);
                b += PanelWidth;
            }

            c00 = (c00 + c10) + (c20 + c30);
            c01 = (c01 + c11) + (c21 + c31);
        }
        else
        {
            for (int p = 0; p < kb; p++)
            {
                var b0 = Vector512.Load(b);
                var b1 = Vector512.Load(b + 16);
                b += PanelWidth;
                var x = Vector512.Create(a0[p]);
                c00 = Avx512F.FusedMultiplyAdd(x, b0, c00);
                c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
                x = Vector512.Create(a1[p]);
                c10 = Avx512F.FusedMultiplyAdd(x, b0, c10);
                c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
                if (R.Count > 2)
                {
                    x = Vector512.Create(a2[p]);
                    c20 = Avx512F.FusedMultiplyAdd(x, b0, c20);
                    c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
                }

                if (R.Count > 3)
                {
                    x = Vector512.Create(a3[p]);
                    c30 = Avx512F.FusedMultiplyAdd(x, b0, c30);
                    c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
                }

                if (R.Count > 4)
                {
                    x = Vector512.Create(a4[p]);
                    c40 = Avx512F.FusedMultiplyAdd(x, b0, c40);
                    c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
                }

                if (R.Count > 5)
                {
                    x = Vector512.Create(a5[p]);
                    c50 = Avx512F.FusedMultiplyAdd(x, b0, c50);
                    c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
                }
            }
        }

        var s = Vector512.Create(alpha);
        Store512(c, c00, c01, s, overwrite, cols);
        if (R.Count > 1) Store512(c + ldc, c10, c11, s, overwrite, cols);
        if (R.Count > 2) Store512(c + 2 * ldc, c20, c21, s, overwrite, cols);
        if (R.Count > 3) Store512(c + 3 * ldc, c30, c31, s, overwrite, cols);
        if (R.Count > 4) Store512(c + 4 * ldc, c40, c41, s, overwrite, cols);
        if (R.Count > 5) Store512(c + 5 * ldc, c50, c51, s, overwrite, cols);
        if (last && ep.Active) ApplyTile(c, ldc, R.Count, cols, row, col, ep);
    }

    /// <summary>Stores one 32-wide row of a tile: alpha * acc (+ C), under a mask in a narrow last panel. No calls here:
    /// a call while the accumulators are live would make the JIT spill them inside the k loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, Vector512<float> lo, Vector512<float> hi, Vector512<float> alpha, bool overwrite, int cols)
    {
        if (cols < PanelWidth)
        {
            StorePartial256(c, lo.GetLower(), alpha.GetLower(), overwrite, cols);
            if (cols > 8) StorePartial256(c + 8, lo.GetUpper(), alpha.GetLower(), overwrite, cols - 8);
            if (cols > 16) StorePartial256(c + 16, hi.GetLower(), alpha.GetLower(), overwrite, cols - 16);
            if (cols > 24) StorePartial256(c + 24, hi.GetUpper(), alpha.GetLower(), overwrite, cols - 24);
            return;
        }

        if (overwrite)
        {
            (lo * alpha).Store(c);
            (hi * alpha).Store(c + 16);
        }
        else
        {
            Avx512F.FusedMultiplyAdd(lo, alpha, Vector512.Load(c)).Store(c);
            Avx512F.FusedMultiplyAdd(hi, alpha, Vector512.Load(c + 16)).Store(c + 16);
        }
    }

    /// <summary>Stores the first <paramref name="count"/> lanes (all when count &gt;= 8) of alpha * v (+ C), never touching
    /// memory past them (it may belong to another row, or another thread's columns).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StorePartial256(float* c, Vector256<float> v, Vector256<float> alpha, bool overwrite, int count)
    {
        if (count >= 8)
        {
            v = overwrite ? v * alpha : Fma.MultiplyAdd(v, alpha, Vector256.Load(c));
            v.Store(c);
            return;
        }

        var mask = Vector256.GreaterThan(Vector256.Create(count), Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7)).AsSingle();
        v = overwrite ? v * alpha : Fma.MultiplyAdd(v, alpha, Avx.MaskLoad(c, mask));
        Avx.MaskStore(c, mask, v);
    }

    /// <summary>R x 16 tile with 2R Vector256 accumulators (called for each 16-column half of a panel); one row splits
    /// k four ways into 8 accumulators.</summary>
    private static void Kernel256<R>(int kb, float* a, int lda, float* b, float* c, int ldc, float alpha, bool overwrite, int cols, bool last, in PinnedEpilogue ep, int row, int col)
        where R : struct, IRowCount
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        float* a0 = a, a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        if (R.Count == 1)
        {
            int p = 0;
            for (; p + 3 < kb; p += 4)
            {
                var x = Vector256.Create(a0[p]);
                c00 = Fma.MultiplyAdd(x, Vector256.Load(b), c00);
                c01 = Fma.MultiplyAdd(x, Vector256.Load(b + 8), c01);
                x = Vector256.Create(a0[p + 1]);
                c10 = Fma.MultiplyAdd(x, Vector256.Load(b + PanelWidth), c10);
                c11 = Fma.MultiplyAdd(x, Vector256.Load(b + PanelWidth + 8), c11);
                x = Vector256.Create(a0[p + 2]);
                c20 = Fma.MultiplyAdd(x, Vector256.Load(b + 2 * PanelWidth), c20);
                c21 = Fma.MultiplyAdd(x, Vector256.Load(b + 2 * PanelWidth + 8), c21);
                x = Vector256.Create(a0[p + 3]);
                c30 = Fma.MultiplyAdd(x, Vector256.Load(b + 3 * PanelWidth), c30);
                c31 = Fma.MultiplyAdd(x, Vector256.Load(b + 3 * PanelWidth + 8), c31);
                b += 4 * PanelWidth;
            }

            for (; p < kb; p++)
            {
                var x = Vector256.Create(a0[p]);
                c00 = Fma.MultiplyAdd(x, Vector256.Load(b), c00);
                c01 = Fma.MultiplyAdd(x, Vector256.Load(b + 8), c01);
                b += PanelWidth;
            }

            c00 = (c00 + c10) + (c20 + c30);
            c01 = (c01 + c11) + (c21 + c31);
        }
        else
        {
            for (int p = 0; p < kb; p++)
            {
                var b0 = Vector256.Load(b);
                var b1 = Vector256.Load(b + 8);
                b += PanelWidth;
                var x = Vector256.Create(a0[p]);
                c00 = Fma.MultiplyAdd(x, b0, c00);
                c01 = Fma.MultiplyAdd(x, b1, c01);
                x = Vector256.Create(a1[p]);
                c10 = Fma.MultiplyAdd(x, b0, c10);
                c11 = Fma.MultiplyAdd(x, b1, c11);
                if (R.Count > 2)
                {
                    x = Vector256.Create(a2[p]);
                    c20 = Fma.MultiplyAdd(x, b0, c20);
                    c21 = Fma.MultiplyAdd(x, b1, c21);
                }

                if (R.Count > 3)
                {
                    x = Vector256.Create(a3[p]);
                    c30 = Fma.MultiplyAdd(x, b0, c30);
                    c31 = Fma.MultiplyAdd(x, b1, c31);
                }

                if (R.Count > 4)
                {
                    x = Vector256.Create(a4[p]);
                    c40 = Fma.MultiplyAdd(x, b0, c40);
                    c41 = Fma.MultiplyAdd(x, b1, c41);
                }

                if (R.Count > 5)
                {
                    x = Vector256.Create(a5[p]);
                    c50 = Fma.MultiplyAdd(x, b0, c50);
                    c51 = Fma.MultiplyAdd(x, b1, c51);
                }
            }
        }

        var s = Vector256.Create(alpha);
        Store256(c, c00, c01, s, overwrite, cols);
        if (R.Count > 1) Store256(c + ldc, c10, c11, s, overwrite, cols);
        if (R.Count > 2) Store256(c + 2 * ldc, c20, c21, s, overwrite, cols);
        if (R.Count > 3) Store256(c + 3 * ldc, c30, c31, s, overwrite, cols);
        if (R.Count > 4) Store256(c + 4 * ldc, c40, c41, s, overwrite, cols);
        if (R.Count > 5) Store256(c + 5 * ldc, c50, c51, s, overwrite, cols);
        if (last && ep.Active) ApplyTile(c, ldc, R.Count, cols, row, col, ep);
    }

    /// <summary>Stores one 16-wide half row, as <see cref="Store512"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(float* c, Vector256<float> lo, Vector256<float> hi, Vector256<float> alpha, bool overwrite, int cols)
    {
        if (cols < 16)
        {
            StorePartial256(c, lo, alpha, overwrite, cols);
            if (cols > 8) StorePartial256(c + 8, hi, alpha, overwrite, cols - 8);
            return;
        }

        if (overwrite)
        {
            (lo * alpha).Store(c);
            (hi * alpha).Store(c + 8);
        }
        else
        {
            Fma.MultiplyAdd(lo, alpha, Vector256.Load(c)).Store(c);
            Fma.MultiplyAdd(hi, alpha, Vector256.Load(c + 8)).Store(c + 8);
        }
    }

    /// <summary>The epilogue over a rows x cols tile of C just stored (still in L1), C[row, col] at <paramref name="c"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ApplyTile(float* c, int ldc, int rows, int cols, int row, int col, in PinnedEpilogue ep)
    {
        if (cols == PanelWidth && Avx512F.IsSupported)
        {
            // Full 32-wide rows: bias, residual and ReLU on two Vector512 per row (the KernelMath activations, in
            // Vector<float>, follow in ApplyRow). The same operations in the same order as ApplyRow, so a tile's
            // elements do not depend on which path ran.
            var zero = Vector512<float>.Zero;
            for (int r = 0; r < rows; r++)
            {
                float* cRow = c + (long)r * ldc;
                var lo = Vector512.Load(cRow);
                var hi = Vector512.Load(cRow + 16);
                if (ep.ColumnBias != null)
                {
                    lo += Vector512.Load(ep.ColumnBias + col);
                    hi += Vector512.Load(ep.ColumnBias + col + 16);
                }

                if (ep.RowBias != null)
                {
                    var b = Vector512.Create(ep.RowBias[row + r]);
                    lo += b;
                    hi += b;
                }

                float* residual = ep.Residual + (long)(row + r) * ep.ResidualStride + col;
                if (ep.Residual != null && !ep.ResidualAfterActivation)
                {
                    lo += Vector512.Load(residual);
                    hi += Vector512.Load(residual + 16);
                }

                if (ep.LinearOnly)
                {
                    if (ep.Activation == GemmActivation.Relu)
                    {
                        // MathF.Max(x, 0) lane-wise, as KernelMath.Max: vmaxps returns its second operand for a NaN
                        // (NaN stays NaN) and for equal zeros (-0 stays -0, which + 0 turns into +0).
                        lo = Avx512F.Max(zero, lo) + zero;
                        hi = Avx512F.Max(zero, hi) + zero;
                    }

                    if (ep.Residual != null && ep.ResidualAfterActivation)
                    {
                        lo += Vector512.Load(residual);
                        hi += Vector512.Load(residual + 16);
                    }

                    lo.Store(cRow);
                    hi.Store(cRow + 16);
                }
                else
                {
                    lo.Store(cRow);
                    hi.Store(cRow + 16);
                    ep.ApplyRow(cRow, PanelWidth, row + r, col, linearDone: true);
                }
            }

            return;
        }

        for (int r = 0; r < rows; r++) ep.ApplyRow(c + (long)r * ldc, cols, row + r, col, linearDone: false);
    }
}
