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
/// The microkernels are compiled fully optimized from the first call (AggressiveOptimization): under tiered
/// compilation with dynamic PGO the JIT sometimes gave them a Tier-1 body that keeps the accumulators on the stack
/// (a store after every FMA; measured 2.5-5x slower), depending on the profile it happened to collect.
/// </summary>
public static unsafe partial class Sgemm
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
        if (transposed) PackStrided(b, k, n, 1, k, packed);
        else PackStrided(b, k, n, n, 1, packed);
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

        CheckEpilogue(m, n, epilogue);
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

    /// <summary>Throws unless the epilogue's operands cover an m x n product.</summary>
    private static void CheckEpilogue(int m, int n, in GemmEpilogue epilogue)
    {
        if (!epilogue.RowBias.IsEmpty && epilogue.RowBias.Length < m) throw new ArgumentException($"Sgemm: row bias needs {m} elements, has {epilogue.RowBias.Length}");
        if (!epilogue.ColumnBias.IsEmpty && epilogue.ColumnBias.Length < n) throw new ArgumentException($"Sgemm: column bias needs {n} elements, has {epilogue.ColumnBias.Length}");
        if (!epilogue.Residual.IsEmpty && (epilogue.ResidualStride < n || epilogue.Residual.Length < (long)(m - 1) * epilogue.ResidualStride + n))
        {
            throw new ArgumentException($"Sgemm: residual of {epilogue.Residual.Length} elements with stride {epilogue.ResidualStride} does not cover [{m}, {n}]");
        }
    }

    /// <summary>
    /// C = alpha * A @ B + (accumulate ? C : 0) for operands known only at run time, each addressed with strides:
    /// A[i, p] = a[i * aRowStride + p * aColStride], B[p, j] = b[p * bRowStride + j * bColStride],
    /// C[i, j] = c[i * cRowStride + j * cColStride]. So a transposed or head-split view (attention's Q, Kᵀ, V and the
    /// head merge of its result) is read and written where it lies, without a copy. B is packed into this thread's
    /// workspace (as every run-time B must be, for the microkernel); A is used in place when its rows are contiguous
    /// (aColStride 1) and C is written in place when its rows are (cColStride 1), else each goes through a workspace.
    /// Workspaces grow on first use and are then reused, so steady-state calls allocate nothing.
    /// </summary>
    public static void MultiplyStrided(
        int m, int n, int k,
        ReadOnlySpan<float> a, int aRowStride, int aColStride,
        ReadOnlySpan<float> b, int bRowStride, int bColStride,
        Span<float> c, int cRowStride, int cColStride,
        float alpha, bool accumulate, int kc, int mc, WorkerPool? pool = null,
        CpuInstructionSet isa = CpuInstructionSet.Auto)
    {
        if (m <= 0 || n <= 0) return;
        long Extent(int rows, int cols, int rowStride, int colStride) => rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * rowStride + (long)(cols - 1) * colStride + 1;
        if (aRowStride < 0 || aColStride < 0 || bRowStride < 0 || bColStride < 0 || cRowStride < 0 || cColStride < 0
            || a.Length < Extent(m, k, aRowStride, aColStride) || b.Length < Extent(k, n, bRowStride, bColStride) || c.Length < Extent(m, n, cRowStride, cColStride))
        {
            throw new ArgumentException($"Sgemm.MultiplyStrided: operands too small for m={m}, n={n}, k={k} with strides a ({aRowStride}, {aColStride}), b ({bRowStride}, {bColStride}), c ({cRowStride}, {cColStride})");
        }

        int packedLength = PackedLength(k, n);
        var packed = Workspace(ref s_workspace, packedLength).AsSpan(0, packedLength);
        PackStrided(b, k, n, bRowStride, bColStride, packed);
        var aRows = a;
        int lda = aRowStride;
        if (aColStride != 1 && k > 0)
        {
            var copy = Workspace(ref s_workspaceA, m * k).AsSpan(0, m * k);
            for (int i = 0; i < m; i++)
            {
                for (int p = 0; p < k; p++) copy[i * k + p] = a[i * aRowStride + p * aColStride];
            }

            aRows = copy;
            lda = k;
        }

        if (cColStride == 1)
        {
            Multiply(m, n, k, aRows, lda, packed, c, cRowStride, alpha, accumulate, kc, mc, pool, default, isa);
            return;
        }

        var result = Workspace(ref s_workspaceC, m * n).AsSpan(0, m * n);
        for (int i = 0; accumulate && i < m; i++)
        {
            for (int j = 0; j < n; j++) result[i * n + j] = c[i * cRowStride + j * cColStride];
        }

        Multiply(m, n, k, aRows, lda, packed, result, n, alpha, accumulate, kc, mc, pool, default, isa);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++) c[i * cRowStride + j * cColStride] = result[i * n + j];
        }
    }

    /// <summary><see cref="PackB"/> for a B read with strides: packed[(panel * k + p) * 32 + j] = B[p, panel * 32 + j].</summary>
    private static void PackStrided(ReadOnlySpan<float> b, int k, int n, int rowStride, int colStride, Span<float> packed)
    {
        int panels = (n + PanelWidth - 1) / PanelWidth;
        for (int panel = 0; panel < panels; panel++)
        {
            int j0 = panel * PanelWidth;
            int cols = Math.Min(PanelWidth, n - j0);
            for (int p = 0; p < k; p++)
            {
                var dst = packed.Slice((panel * k + p) * PanelWidth, PanelWidth);
                if (colStride == 1)
                {
                    b.Slice(p * rowStride + j0, cols).CopyTo(dst);
                }
                else
                {
                    for (int j = 0; j < cols; j++) dst[j] = b[p * rowStride + (j0 + j) * colStride];
                }

                dst.Slice(cols).Clear();
            }
        }
    }

    [ThreadStatic]
    private static float[]? s_workspace;

    [ThreadStatic]
    private static float[]? s_workspaceA;

    [ThreadStatic]
    private static float[]? s_workspaceC;

    /// <summary>This thread's workspace in <paramref name="field"/>, grown to at least <paramref name="length"/> floats
    /// on first use (and when a larger product comes), then reused.</summary>
    private static float[] Workspace(ref float[]? field, int length)
    {
        var workspace = field;
        if (workspace is null || workspace.Length < length) field = workspace = new float[Math.Max(length, 4096)];
        return workspace;
    }

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
                    var rows = new PackedRows(pb + ((long)panel * k + p0) * PanelWidth);
                    RowTiles(i0, mb, cols, kb, pa + p0, lda, rows, pc + j0, ldc, alpha, overwrite, lastBlock, ep, j0, isa);
                }
            }
        }
    }

    /// <summary>Rows [i0, i0 + mb) of a column tile of C (C[0, col] at <paramref name="c"/>, A's column p0 at
    /// <paramref name="a"/>) over one k block, TileRows rows at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowTiles<TRows>(int i0, int mb, int cols, int kb, float* a, int lda, TRows b, float* c, int ldc, float alpha, bool overwrite, bool last, in PinnedEpilogue ep, int col, CpuInstructionSet isa)
        where TRows : struct, IPanelRows<TRows>
    {
        for (int i = i0, rows; i < i0 + mb; i += rows)
        {
            // 7 or 8 rows left: two tiles of 3-4 rows instead of 6 and a tile of 1-2, whose 2-4 accumulators leave the
            // FMA latency exposed. The split depends on m and mc only, so results stay the same for any thread count.
            int left = i0 + mb - i;
            rows = left is > TileRows and < TileRows + 3 ? left / 2 : Math.Min(TileRows, left);
            Tile(rows, cols, kb, a + (long)i * lda, lda, b, c + (long)i * ldc, ldc, alpha, overwrite, last, ep, i, col, isa);
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
            var (first, last) = WorkerPool.Share(_panels, task, _tasks);
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

    /// <summary>Where the microkernel reads row p (32 floats) of its B block: a packed panel, or rows of an input
    /// image read in place (<see cref="Convolve"/>). A struct per source, so the JIT (and NativeAOT) compile each
    /// kernel for its source with the address arithmetic inlined.</summary>
    private interface IPanelRows<TSelf> where TSelf : struct, IPanelRows<TSelf>
    {
        float* Row(int p);

        /// <summary>The same rows, starting <paramref name="columns"/> floats further (the second half of a panel).</summary>
        TSelf Shifted(int columns);
    }

    /// <summary>A panel packed p-major, PanelWidth floats per row.</summary>
    private readonly struct PackedRows : IPanelRows<PackedRows>
    {
        private readonly float* _panel;

        public PackedRows(float* panel) => _panel = panel;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float* Row(int p) => _panel + (nint)p * PanelWidth;

        public PackedRows Shifted(int columns) => new(_panel + columns);
    }

    /// <summary>Rows read in place: row p starts offsets[p] floats after the origin.</summary>
    private readonly struct OffsetRows : IPanelRows<OffsetRows>
    {
        private readonly float* _origin;
        private readonly int* _offsets;

        public OffsetRows(float* origin, int* offsets)
        {
            _origin = origin;
            _offsets = offsets;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float* Row(int p) => _origin + _offsets[p];

        public OffsetRows Shifted(int columns) => new(_origin + columns, _offsets);
    }

    /// <summary>
    /// One rows x cols (at most 6 x 32) tile of C over kb steps of k, C[row, col] being its first element. Every shape
    /// runs a register-blocked FMA kernel: fewer rows (a GEMV for one) use fewer accumulators, a last panel with fewer
    /// than 32 columns is computed whole (packing zero-pads it) and stored under a mask.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<TRows>(int rows, int cols, int kb, float* a, int lda, TRows b, float* c, int ldc, float alpha, bool overwrite, bool last, in PinnedEpilogue ep, int row, int col, CpuInstructionSet isa)
        where TRows : struct, IPanelRows<TRows>
    {
        // Auto: the IsSupported checks are JIT / NativeAOT constants, so one branch survives. A fixed isa (checked by
        // Multiply) selects its kernel at run time, one compare per tile.
        if (isa == CpuInstructionSet.Avx512 || (isa == CpuInstructionSet.Auto && Avx512F.IsSupported))
        {
            switch (rows)
            {
                case 6: Kernel512<Rows6, TRows>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
                case 5: Kernel512<Rows5, TRows>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
                case 4: Kernel512<Rows4, TRows>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
                case 3: Kernel512<Rows3, TRows>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
                case 2: Kernel512<Rows2, TRows>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
                default: Kernel512<Rows1, TRows>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
            }
        }

        if (isa == CpuInstructionSet.Avx2 || (isa == CpuInstructionSet.Auto && Fma.IsSupported))
        {
            // Two 16-column halves; the second is absent when the last panel is narrow.
            Half256(rows, kb, a, lda, b, c, ldc, alpha, overwrite, Math.Min(cols, 16), last, ep, row, col);
            if (cols > 16) Half256(rows, kb, a, lda, b.Shifted(16), c + 16, ldc, alpha, overwrite, cols - 16, last, ep, row, col + 16);
            return;
        }

        TilePortable(rows, cols, kb, a, lda, b, c, ldc, alpha, overwrite, last, ep, row, col);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Half256<TRows>(int rows, int kb, float* a, int lda, TRows b, float* c, int ldc, float alpha, bool overwrite, int cols, bool last, in PinnedEpilogue ep, int row, int col)
        where TRows : struct, IPanelRows<TRows>
    {
        switch (rows)
        {
            case 6: Kernel256<Rows6, TRows>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
            case 5: Kernel256<Rows5, TRows>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
            case 4: Kernel256<Rows4, TRows>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
            case 3: Kernel256<Rows3, TRows>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
            case 2: Kernel256<Rows2, TRows>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
            default: Kernel256<Rows1, TRows>(kb, a, lda, b, c, ldc, alpha, overwrite, cols, last, ep, row, col); return;
        }
    }

    /// <summary>
    /// Machines without FMA (or another ISA): row by row with Vector&lt;float&gt; (32 is a multiple of every width it
    /// has), two accumulators to hide the add latency, into a tile on the stack; then the valid part is stored.
    /// </summary>
    private static void TilePortable<TRows>(int rows, int cols, int kb, float* a, int lda, TRows b, float* c, int ldc, float alpha, bool overwrite, bool last, in PinnedEpilogue ep, int row, int col)
        where TRows : struct, IPanelRows<TRows>
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
                    s0 += new Vector<float>(aRow[p]) * Unsafe.Read<Vector<float>>(b.Row(p) + j);
                    s1 += new Vector<float>(aRow[p + 1]) * Unsafe.Read<Vector<float>>(b.Row(p + 1) + j);
                }

                if (p < kb) s0 += new Vector<float>(aRow[p]) * Unsafe.Read<Vector<float>>(b.Row(p) + j);
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512<R, TRows>(int kb, float* a, int lda, TRows rows, float* c, int ldc, float alpha, bool overwrite, int cols, bool last, in PinnedEpilogue ep, int row, int col)
        where R : struct, IRowCount
        where TRows : struct, IPanelRows<TRows>
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
                float* b = rows.Row(p);
                c00 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b), c00);
                c01 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b + 16), c01);
                x = Vector512.Create(a0[p + 1]);
                b = rows.Row(p + 1);
                c10 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b), c10);
                c11 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b + 16), c11);
                x = Vector512.Create(a0[p + 2]);
                b = rows.Row(p + 2);
                c20 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b), c20);
                c21 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b + 16), c21);
                x = Vector512.Create(a0[p + 3]);
                b = rows.Row(p + 3);
                c30 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b), c30);
                c31 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b + 16), c31);
            }

            for (; p < kb; p++)
            {
                var x = Vector512.Create(a0[p]);
                float* b = rows.Row(p);
                c00 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b), c00);
                c01 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b + 16), c01);
            }

            c00 = (c00 + c10) + (c20 + c30);
            c01 = (c01 + c11) + (c21 + c31);
        }
        else
        {
            for (int p = 0; p < kb; p++)
            {
                float* b = rows.Row(p);
                var b0 = Vector512.Load(b);
                var b1 = Vector512.Load(b + 16);
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
        if (last && ep.Active && ep.LinearOnly && cols == PanelWidth)
        {
            // Bias, residual and ReLU applied to the accumulators before the one store: C is not read back (its rows,
            // ldc apart, often share L1 sets, so a reload could miss).
            StoreLinear512(c, c00, c01, s, overwrite, ep, row, col);
            if (R.Count > 1) StoreLinear512(c + ldc, c10, c11, s, overwrite, ep, row + 1, col);
            if (R.Count > 2) StoreLinear512(c + 2 * ldc, c20, c21, s, overwrite, ep, row + 2, col);
            if (R.Count > 3) StoreLinear512(c + 3 * ldc, c30, c31, s, overwrite, ep, row + 3, col);
            if (R.Count > 4) StoreLinear512(c + 4 * ldc, c40, c41, s, overwrite, ep, row + 4, col);
            if (R.Count > 5) StoreLinear512(c + 5 * ldc, c50, c51, s, overwrite, ep, row + 5, col);
            return;
        }

        Store512(c, c00, c01, s, overwrite, cols);
        if (R.Count > 1) Store512(c + ldc, c10, c11, s, overwrite, cols);
        if (R.Count > 2) Store512(c + 2 * ldc, c20, c21, s, overwrite, cols);
        if (R.Count > 3) Store512(c + 3 * ldc, c30, c31, s, overwrite, cols);
        if (R.Count > 4) Store512(c + 4 * ldc, c40, c41, s, overwrite, cols);
        if (R.Count > 5) Store512(c + 5 * ldc, c50, c51, s, overwrite, cols);
        if (last && ep.Active) ApplyTile(c, ldc, R.Count, cols, row, col, ep);
    }

    /// <summary>One full 32-wide row of a tile on its last k block: alpha * acc (+ C), then the linear epilogue, stored
    /// once. Inlined, so the accumulators stay in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreLinear512(float* c, Vector512<float> lo, Vector512<float> hi, Vector512<float> alpha, bool overwrite, in PinnedEpilogue ep, int row, int col)
    {
        if (overwrite)
        {
            lo *= alpha;
            hi *= alpha;
        }
        else
        {
            lo = Avx512F.FusedMultiplyAdd(lo, alpha, Vector512.Load(c));
            hi = Avx512F.FusedMultiplyAdd(hi, alpha, Vector512.Load(c + 16));
        }

        LinearEpilogue512(ref lo, ref hi, ep, row, col);
        lo.Store(c);
        hi.Store(c + 16);
    }

    /// <summary>
    /// The linear part of the epilogue on one 32-wide row of C (element [row, col] first): column bias, row bias, a
    /// residual before the activation; then, when that is all there is (<see cref="PinnedEpilogue.LinearOnly"/>), ReLU
    /// and a residual after it. The same operations in the same order as <see cref="PinnedEpilogue.ApplyRow"/>, so a
    /// tile's elements do not depend on which path ran.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LinearEpilogue512(ref Vector512<float> lo, ref Vector512<float> hi, in PinnedEpilogue ep, int row, int col)
    {
        if (ep.ColumnBias != null)
        {
            lo += Vector512.Load(ep.ColumnBias + col);
            hi += Vector512.Load(ep.ColumnBias + col + 16);
        }

        if (ep.RowBias != null)
        {
            var b = Vector512.Create(ep.RowBias[row]);
            lo += b;
            hi += b;
        }

        float* residual = ep.Residual + (long)row * ep.ResidualStride + col;
        if (ep.Residual != null && !ep.ResidualAfterActivation)
        {
            lo += Vector512.Load(residual);
            hi += Vector512.Load(residual + 16);
        }

        if (!ep.LinearOnly) return;
        if (ep.Activation == GemmActivation.Relu)
        {
            // MathF.Max(x, 0) lane-wise, as KernelMath.Max: vmaxps returns its second operand for a NaN (NaN stays
            // NaN) and for equal zeros (-0 stays -0, which + 0 turns into +0).
            var zero = Vector512<float>.Zero;
            lo = Avx512F.Max(zero, lo) + zero;
            hi = Avx512F.Max(zero, hi) + zero;
        }

        if (ep.Residual != null && ep.ResidualAfterActivation)
        {
            lo += Vector512.Load(residual);
            hi += Vector512.Load(residual + 16);
        }
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256<R, TRows>(int kb, float* a, int lda, TRows rows, float* c, int ldc, float alpha, bool overwrite, int cols, bool last, in PinnedEpilogue ep, int row, int col)
        where R : struct, IRowCount
        where TRows : struct, IPanelRows<TRows>
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
                float* b = rows.Row(p);
                c00 = Fma.MultiplyAdd(x, Vector256.Load(b), c00);
                c01 = Fma.MultiplyAdd(x, Vector256.Load(b + 8), c01);
                x = Vector256.Create(a0[p + 1]);
                b = rows.Row(p + 1);
                c10 = Fma.MultiplyAdd(x, Vector256.Load(b), c10);
                c11 = Fma.MultiplyAdd(x, Vector256.Load(b + 8), c11);
                x = Vector256.Create(a0[p + 2]);
                b = rows.Row(p + 2);
                c20 = Fma.MultiplyAdd(x, Vector256.Load(b), c20);
                c21 = Fma.MultiplyAdd(x, Vector256.Load(b + 8), c21);
                x = Vector256.Create(a0[p + 3]);
                b = rows.Row(p + 3);
                c30 = Fma.MultiplyAdd(x, Vector256.Load(b), c30);
                c31 = Fma.MultiplyAdd(x, Vector256.Load(b + 8), c31);
            }

            for (; p < kb; p++)
            {
                var x = Vector256.Create(a0[p]);
                float* b = rows.Row(p);
                c00 = Fma.MultiplyAdd(x, Vector256.Load(b), c00);
                c01 = Fma.MultiplyAdd(x, Vector256.Load(b + 8), c01);
            }

            c00 = (c00 + c10) + (c20 + c30);
            c01 = (c01 + c11) + (c21 + c31);
        }
        else
        {
            for (int p = 0; p < kb; p++)
            {
                float* b = rows.Row(p);
                var b0 = Vector256.Load(b);
                var b1 = Vector256.Load(b + 8);
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
            // Full 32-wide rows: the linear part on two Vector512 per row, then the other activations (and a residual
            // after them) over the tile.
            for (int r = 0; r < rows; r++)
            {
                float* cRow = c + (long)r * ldc;
                var lo = Vector512.Load(cRow);
                var hi = Vector512.Load(cRow + 16);
                LinearEpilogue512(ref lo, ref hi, ep, row + r, col);
                lo.Store(cRow);
                hi.Store(cRow + 16);
            }

            if (!ep.LinearOnly) ep.ActivateTile(c, ldc, rows, row, col);
            return;
        }

        for (int r = 0; r < rows; r++) ep.ApplyRow(c + (long)r * ldc, cols, row + r, col, linearDone: false);
    }
}
