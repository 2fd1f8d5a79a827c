using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Aot.Runtime.Cpu;

/// <summary>
/// Vectorized normalizations over contiguous rows, called by generated kernels when the normalized axes are
/// innermost (the common case: softmax over attention scores, layer norm over features).
/// <para>
/// Softmax: a max pass, then exp(x - max) written to y and summed (<see cref="KernelMath.Exp(Vector{float})"/>),
/// then a scale pass. An online max+sum pass would read x once less but costs a second exp per element (the running
/// sum is rescaled, and the normalizing pass must recompute exp); the rows met in practice (attention, classifier
/// outputs) stay in L1 between passes, where the extra exp costs more than the extra read.
/// LayerNorm: two passes, a shifted sum and sum of squares together (d = x - x[0], so the variance
/// (sum d^2 - (sum d)^2 / n) / n does not cancel when the mean is large against the spread), then the affine
/// normalization.
/// </para>
/// <para>
/// The <c>rows</c> overloads run many rows; with a <see cref="WorkerPool"/> and enough elements the rows are split
/// between threads. Every row is computed by the same code whatever the split, so any thread count gives the same
/// bytes as one. Nothing is allocated per call (the job object is per thread and reused).
/// Sums accumulate in float vectors (lanes add disjoint partial sums, so rows of a few thousand elements stay within
/// about 1e-6 relative).
/// </para>
/// </summary>
public static unsafe class RowKernels
{
    /// <summary>Below this many elements a normalization is not worth waking other threads for.</summary>
    private const long ParallelMinElements = 1 << 13;

    public static void Softmax(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException($"y needs {x.Length} elements, has {y.Length}", nameof(y));
        fixed (float* px = x)
        fixed (float* py = y)
        {
            SoftmaxRow(px, py, x.Length);
        }
    }

    /// <summary>Softmax of each of <paramref name="rows"/> contiguous rows of <paramref name="n"/> elements.</summary>
    public static void Softmax(ReadOnlySpan<float> x, Span<float> y, int rows, int n, WorkerPool? pool = null)
    {
        Check(x.Length, y.Length, rows, n);
        if (rows <= 0 || n <= 0) return;
        fixed (float* px = x)
        fixed (float* py = y)
        {
            int tasks = Tasks(pool, rows, n);
            if (tasks <= 1)
            {
                for (int r = 0; r < rows; r++) SoftmaxRow(px + (long)r * n, py + (long)r * n, n);
                return;
            }

            var job = s_job ??= new RowJob();
            job.Set(tasks, rows, n, px, py, null, null, 0f, softmax: true);
            pool!.Run(job, tasks);
        }
    }

    public static void LayerNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y)
    {
        int n = x.Length;
        if (y.Length < n || gamma.Length < n || beta.Length < n) throw new ArgumentException($"LayerNorm: gamma, beta and y need {n} elements");
        fixed (float* px = x)
        fixed (float* pg = gamma)
        fixed (float* pb = beta)
        fixed (float* py = y)
        {
            LayerNormRow(px, pg, pb, epsilon, py, n);
        }
    }

    /// <summary>LayerNorm of each of <paramref name="rows"/> contiguous rows of <paramref name="n"/> elements, with
    /// <paramref name="gamma"/> and <paramref name="beta"/> of n elements shared by every row.</summary>
    public static void LayerNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y, int rows, int n, WorkerPool? pool = null)
    {
        Check(x.Length, y.Length, rows, n);
        if (gamma.Length < n || beta.Length < n) throw new ArgumentException($"LayerNorm: gamma and beta need {n} elements");
        if (rows <= 0 || n <= 0) return;
        fixed (float* px = x)
        fixed (float* pg = gamma)
        fixed (float* pb = beta)
        fixed (float* py = y)
        {
            int tasks = Tasks(pool, rows, n);
            if (tasks <= 1)
            {
                for (int r = 0; r < rows; r++) LayerNormRow(px + (long)r * n, pg, pb, epsilon, py + (long)r * n, n);
                return;
            }

            var job = s_job ??= new RowJob();
            job.Set(tasks, rows, n, px, py, pg, pb, epsilon, softmax: false);
            pool!.Run(job, tasks);
        }
    }

    private static void Check(int xLength, int yLength, int rows, int n)
    {
        long needed = (long)Math.Max(rows, 0) * Math.Max(n, 0);
        if (xLength < needed || yLength < needed) throw new ArgumentException($"{rows} rows of {n} need {needed} elements in x and y, have {xLength} and {yLength}");
    }

    private static int Tasks(WorkerPool? pool, int rows, int n) =>
        pool is null || (long)rows * n < ParallelMinElements ? 1 : Math.Min(rows, pool.Threads * 2);

    [ThreadStatic]
    private static RowJob? s_job;

    /// <summary>The arguments of one parallel call, kept in a reused object; the pointers stay valid because the
    /// caller holds them fixed until every task has finished.</summary>
    private sealed class RowJob : IParallelJob
    {
        private int _tasks, _rows, _n;
        private float* _x, _y, _gamma, _beta;
        private float _epsilon;
        private bool _softmax;

        public void Set(int tasks, int rows, int n, float* x, float* y, float* gamma, float* beta, float epsilon, bool softmax)
        {
            (_tasks, _rows, _n, _epsilon, _softmax) = (tasks, rows, n, epsilon, softmax);
            _x = x;
            _y = y;
            _gamma = gamma;
            _beta = beta;
        }

        public void Execute(int task)
        {
            var (first, last) = WorkerPool.Share(_rows, task, _tasks);
            int n = _n;
            for (int r = first; r < last; r++)
            {
                if (_softmax) SoftmaxRow(_x + (long)r * n, _y + (long)r * n, n);
                else LayerNormRow(_x + (long)r * n, _gamma, _beta, _epsilon, _y + (long)r * n, n);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Load(float* p) => Unsafe.ReadUnaligned<Vector<float>>(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* p, Vector<float> v) => Unsafe.WriteUnaligned(p, v);

    /// <summary>Horizontal maximum of the lanes (NaN handling is irrelevant here: a NaN input makes the sum NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float MaxAcross(Vector<float> v)
    {
        float max = v[0];
        for (int i = 1; i < Vector<float>.Count; i++) max = MathF.Max(max, v[i]);
        return max;
    }

    private static void SoftmaxRow(float* x, float* y, int n)
    {
        int width = Vector<float>.Count;
        int vectorEnd = n - n % width;

        // Max. A NaN anywhere makes the result NaN whichever maximum is picked (exp(NaN - max) enters the sum), and
        // +infinity gives inf - inf = NaN like the scalar definition, so plain vector max is exact here.
        float max = float.NegativeInfinity;
        int i = 0;
        if (vectorEnd > 0)
        {
            var m0 = Load(x);
            var m1 = m0;
            for (i = width; i + width <= vectorEnd - width; i += 2 * width)
            {
                m0 = Vector.Max(m0, Load(x + i));
                m1 = Vector.Max(m1, Load(x + i + width));
            }

            for (; i < vectorEnd; i += width) m0 = Vector.Max(m0, Load(x + i));
            max = MaxAcross(Vector.Max(m0, m1));
        }

        for (; i < n; i++) max = MathF.Max(max, x[i]);

        // exp(x - max) into y, summed.
        var maxB = new Vector<float>(max);
        var s0 = Vector<float>.Zero;
        var s1 = Vector<float>.Zero;
        for (i = 0; i + 2 * width <= vectorEnd; i += 2 * width)
        {
            var e0 = KernelMath.Exp(Load(x + i) - maxB);
            var e1 = KernelMath.Exp(Load(x + i + width) - maxB);
            Store(y + i, e0);
            Store(y + i + width, e1);
            s0 += e0;
            s1 += e1;
        }

        for (; i < vectorEnd; i += width)
        {
            var e = KernelMath.Exp(Load(x + i) - maxB);
            Store(y + i, e);
            s0 += e;
        }

        float sum = Vector.Sum(s0 + s1);
        for (; i < n; i++)
        {
            float e = MathF.Exp(x[i] - max);
            y[i] = e;
            sum += e;
        }

        float scale = 1f / sum;
        var scaleV = new Vector<float>(scale);
        for (i = 0; i < vectorEnd; i += width) Store(y + i, Load(y + i) * scaleV);
        for (; i < n; i++) y[i] *= scale;
    }

    private static void LayerNormRow(float* x, float* gamma, float* beta, float epsilon, float* y, int n)
    {
        int width = Vector<float>.Count;
        int vectorEnd = n - n % width;

        // Sum and sum of squares of d = x - shift in one pass; shift = x[0] keeps the variance free of cancellation
        // unless the row's mean is far from its first element compared with its spread.
        float shift = x[0];
        var shiftV = new Vector<float>(shift);
        var s0 = Vector<float>.Zero;
        var s1 = Vector<float>.Zero;
        var q0 = Vector<float>.Zero;
        var q1 = Vector<float>.Zero;
        int i = 0;
        for (; i + 2 * width <= vectorEnd; i += 2 * width)
        {
            var d0 = Load(x + i) - shiftV;
            var d1 = Load(x + i + width) - shiftV;
            s0 += d0;
            s1 += d1;
            q0 += d0 * d0;
            q1 += d1 * d1;
        }

        for (; i < vectorEnd; i += width)
        {
            var d = Load(x + i) - shiftV;
            s0 += d;
            q0 += d * d;
        }

        float sum = Vector.Sum(s0 + s1);
        float squares = Vector.Sum(q0 + q1);
        for (; i < n; i++)
        {
            float d = x[i] - shift;
            sum += d;
            squares += d * d;
        }

        float meanShifted = sum / n;
        float variance = MathF.Max(squares / n - meanShifted * meanShifted, 0f);
        float mean = shift + meanShifted;
        float rstd = 1f / MathF.Sqrt(variance + epsilon);

        var meanV = new Vector<float>(mean);
        var rstdV = new Vector<float>(rstd);
        for (i = 0; i < vectorEnd; i += width) Store(y + i, (Load(x + i) - meanV) * rstdV * Load(gamma + i) + Load(beta + i));
        for (; i < n; i++) y[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
    }
}
