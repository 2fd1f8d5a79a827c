using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Aot.Runtime.Cpu;

/// <summary>
/// Matrix-vector product against a pre-packed B: <c>y[n] = alpha * x[k] @ B (+ y)</c>, then the epilogue, with B in
/// <see cref="Sgemm.PackB"/>'s panel layout, which for one row is a single contiguous stream: panel after panel, k rows
/// of 32 columns each. A batch-1 layer reads every weight once per call, so its speed is the bandwidth at which the
/// weights stream in (from L2 or L3); the GEMM's blocking, tile dispatch and row bookkeeping are pure overhead here.
/// Each panel keeps 32 columns in registers, with k split four ways (8 Vector512 accumulators) so FMA latency never
/// stalls the stream, and applies the epilogue to its 32 results while they are in L1. A last panel of 16 columns or
/// fewer reads only the left half of each row, one cache line of two: the right half is the layout's zero padding
/// (a 10-class output layer streams 20 KB, not 64).
/// <para>
/// With a pool, the threads take equal contiguous runs of panels (one task per thread, no more): each element is
/// computed by the same instructions in the same order whatever the thread count, and a run is one sequential stream
/// for the hardware prefetcher.
/// </para>
/// </summary>
public static unsafe class Gemv
{
    private const int PanelWidth = GemmLayout.PanelWidth;

    /// <summary>Below this many multiply-adds a product is not worth waking other threads for (as for the GEMM).</summary>
    private const long ParallelMinMacs = 1 << 18;

    [ThreadStatic]
    private static GemvJob? s_job;

    /// <summary>
    /// y[n] = alpha * x[k] @ packedB + (accumulate ? y : 0), then <paramref name="epilogue"/> (row 0 of a one-row
    /// product: its column bias, residual and activation). The same result as <see cref="Sgemm.Multiply"/> with m = 1.
    /// <paramref name="isa"/> fixes the vector width as it does for the GEMM (Avx512: Vector512, Avx2: Vector256 FMA,
    /// Vector128: Vector&lt;float&gt;; Auto: the widest the JIT or NativeAOT compiler targets).
    /// </summary>
    public static void Multiply(
        int n, int k, ReadOnlySpan<float> x, ReadOnlySpan<float> packedB, Span<float> y,
        float alpha, bool accumulate, WorkerPool? pool = null, in GemmEpilogue epilogue = default,
        CpuInstructionSet isa = CpuInstructionSet.Auto)
    {
        if (n <= 0) return;
        if (isa != CpuInstructionSet.Auto) CpuFeatures.Require(isa);
        if (x.Length < k || packedB.Length < GemmLayout.PackedLength(k, n) || y.Length < n)
        {
            throw new ArgumentException($"Gemv: operands too small for n={n}, k={k}");
        }

        if (!epilogue.RowBias.IsEmpty && epilogue.RowBias.Length < 1) throw new ArgumentException("Gemv: row bias needs 1 element");
        if (!epilogue.ColumnBias.IsEmpty && epilogue.ColumnBias.Length < n) throw new ArgumentException($"Gemv: column bias needs {n} elements, has {epilogue.ColumnBias.Length}");
        if (!epilogue.Residual.IsEmpty && epilogue.Residual.Length < n) throw new ArgumentException($"Gemv: residual needs {n} elements, has {epilogue.Residual.Length}");

        int panels = (n + PanelWidth - 1) / PanelWidth;
        fixed (float* px = x)
        fixed (float* pb = packedB)
        fixed (float* py = y)
        fixed (float* rowBias = epilogue.RowBias)
        fixed (float* colBias = epilogue.ColumnBias)
        fixed (float* residual = epilogue.Residual)
        {
            var ep = new PinnedEpilogue(rowBias, colBias, residual, epilogue.ResidualStride, epilogue.ResidualAfterActivation, epilogue.Activation);
            int tasks = pool is null || (long)n * k < ParallelMinMacs ? 1 : Math.Min(panels, pool.Threads);
            if (tasks <= 1)
            {
                Panels(0, panels, n, k, px, pb, py, alpha, accumulate, ep, isa);
                return;
            }

            var job = s_job ??= new GemvJob();
            job.Set(tasks, panels, n, k, px, pb, py, alpha, accumulate, ep, isa);
            pool!.Run(job, tasks);
        }
    }

    /// <summary>Panels [first, last) of y: each one's 32 dot products over all of k, stored (a narrow last panel through
    /// a stack tile), then its epilogue while they are in L1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // as Sgemm's microkernels: no PGO-dependent Tier-1 body
    private static void Panels(int first, int last, int n, int k, float* x, float* b, float* y, float alpha, bool accumulate, in PinnedEpilogue ep, CpuInstructionSet isa)
    {
        float* tile = stackalloc float[PanelWidth];
        for (int panel = first; panel < last; panel++)
        {
            int j0 = panel * PanelWidth;
            int cols = Math.Min(PanelWidth, n - j0);
            float* bPanel = b + (long)panel * k * PanelWidth;
            float* yp = y + j0;
            bool direct = cols == PanelWidth && alpha == 1f && !accumulate;
            bool leftHalf = cols <= PanelWidth / 2;
            float* sums = direct ? yp : tile;
            // Auto: the IsSupported checks are JIT / NativeAOT constants, so one branch survives; leftHalf is a constant
            // in each inlined copy of a panel kernel.
            if (isa == CpuInstructionSet.Avx512 || (isa == CpuInstructionSet.Auto && Avx512F.IsSupported))
            {
                if (leftHalf) Panel512(k, x, bPanel, sums, leftHalf: true);
                else Panel512(k, x, bPanel, sums, leftHalf: false);
            }
            else if (isa == CpuInstructionSet.Avx2 || (isa == CpuInstructionSet.Auto && Fma.IsSupported))
            {
                if (leftHalf) Panel256(k, x, bPanel, sums, leftHalf: true);
                else Panel256(k, x, bPanel, sums, leftHalf: false);
            }
            else PanelPortable(k, x, bPanel, sums, leftHalf ? PanelWidth / 2 : PanelWidth);

            if (!direct)
            {
                for (int j = 0; j < cols; j++) yp[j] = accumulate ? yp[j] + alpha * tile[j] : alpha * tile[j];
            }

            if (ep.Active) ep.ApplyRow(yp, cols, 0, j0, linearDone: false);
        }
    }

    /// <summary>32 dot products of x with one panel into <paramref name="sums"/> (the first 16 only with
    /// <paramref name="leftHalf"/>): k split four ways into 8 Vector512 accumulators (4 for a left half).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Panel512(int k, float* x, float* b, float* sums, bool leftHalf)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        int p = 0;
        for (; p + 3 < k; p += 4)
        {
            var v = Vector512.Create(x[p]);
            c00 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(b), c00);
            if (!leftHalf) c01 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(b + 16), c01);
            v = Vector512.Create(x[p + 1]);
            c10 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(b + 32), c10);
            if (!leftHalf) c11 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(b + 48), c11);
            v = Vector512.Create(x[p + 2]);
            c20 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(b + 64), c20);
            if (!leftHalf) c21 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(b + 80), c21);
            v = Vector512.Create(x[p + 3]);
            c30 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(b + 96), c30);
            if (!leftHalf) c31 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(b + 112), c31);
            b += 4 * PanelWidth;
        }

        for (; p < k; p++, b += PanelWidth)
        {
            var v = Vector512.Create(x[p]);
            c00 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(b), c00);
            if (!leftHalf) c01 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(b + 16), c01);
        }

        ((c00 + c10) + (c20 + c30)).Store(sums);
        if (!leftHalf) ((c01 + c11) + (c21 + c31)).Store(sums + 16);
    }

    /// <summary>As <see cref="Panel512"/> with four Vector256 per panel row (two for a left half) and k split two ways
    /// (8 accumulators; 4 for a left half).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Panel256(int k, float* x, float* b, float* sums, bool leftHalf)
    {
        Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        int p = 0;
        for (; p + 1 < k; p += 2)
        {
            var v = Vector256.Create(x[p]);
            c00 = Fma.MultiplyAdd(v, Vector256.Load(b), c00);
            c01 = Fma.MultiplyAdd(v, Vector256.Load(b + 8), c01);
            if (!leftHalf) c02 = Fma.MultiplyAdd(v, Vector256.Load(b + 16), c02);
            if (!leftHalf) c03 = Fma.MultiplyAdd(v, Vector256.Load(b + 24), c03);
            v = Vector256.Create(x[p + 1]);
            c10 = Fma.MultiplyAdd(v, Vector256.Load(b + 32), c10);
            c11 = Fma.MultiplyAdd(v, Vector256.Load(b + 40), c11);
            if (!leftHalf) c12 = Fma.MultiplyAdd(v, Vector256.Load(b + 48), c12);
            if (!leftHalf) c13 = Fma.MultiplyAdd(v, Vector256.Load(b + 56), c13);
            b += 2 * PanelWidth;
        }

        if (p < k)
        {
            var v = Vector256.Create(x[p]);
            c00 = Fma.MultiplyAdd(v, Vector256.Load(b), c00);
            c01 = Fma.MultiplyAdd(v, Vector256.Load(b + 8), c01);
            if (!leftHalf) c02 = Fma.MultiplyAdd(v, Vector256.Load(b + 16), c02);
            if (!leftHalf) c03 = Fma.MultiplyAdd(v, Vector256.Load(b + 24), c03);
        }

        (c00 + c10).Store(sums);
        (c01 + c11).Store(sums + 8);
        if (!leftHalf) (c02 + c12).Store(sums + 16);
        if (!leftHalf) (c03 + c13).Store(sums + 24);
    }

    /// <summary>Machines without FMA: Vector&lt;float&gt; (16 and 32 are multiples of every width it has), one
    /// accumulator per vector of the first <paramref name="columns"/> of each panel row.</summary>
    private static void PanelPortable(int k, float* x, float* b, float* tile, int columns)
    {
        int width = Vector<float>.Count;
        for (int j = 0; j < columns; j += width)
        {
            var sum = Vector<float>.Zero;
            for (int p = 0; p < k; p++) sum += new Vector<float>(x[p]) * Unsafe.Read<Vector<float>>(b + (long)p * PanelWidth + j);
            Unsafe.Write(tile + j, sum);
        }
    }

    /// <summary>The arguments of one parallel call, kept in a reused object so a call allocates nothing. The pointers
    /// stay valid because Multiply holds them fixed until every task has finished.</summary>
    private sealed class GemvJob : IParallelJob
    {
        private int _tasks, _panels, _n, _k;
        private float* _x, _b, _y;
        private float _alpha;
        private bool _accumulate;
        private PinnedEpilogue _epilogue;
        private CpuInstructionSet _isa;

        public void Set(int tasks, int panels, int n, int k, float* x, float* b, float* y, float alpha, bool accumulate, in PinnedEpilogue epilogue, CpuInstructionSet isa)
        {
            _isa = isa;
            (_tasks, _panels, _n, _k, _alpha, _accumulate) = (tasks, panels, n, k, alpha, accumulate);
            _x = x;
            _b = b;
            _y = y;
            _epilogue = epilogue;
        }

        public void Execute(int task)
        {
            var (first, last) = WorkerPool.Share(_panels, task, _tasks);
            Panels(first, last, _n, _k, _x, _b, _y, _alpha, _accumulate, _epilogue, _isa);
        }
    }
}
