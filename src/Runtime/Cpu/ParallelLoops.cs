using System;

namespace Aot.Runtime.Cpu;

/// <summary>
/// The body of a generated elementwise kernel over units [first, last) of its iteration space (rows of the
/// outermost loop, or elements of a single flat row). Operands a kernel does not have are empty spans.
/// Generated code passes a non-capturing lambda, which the C# compiler caches in a static field, so a call allocates
/// nothing.
/// </summary>
public delegate void ElementwiseRange(
    ReadOnlySpan<float> x0, ReadOnlySpan<float> x1, ReadOnlySpan<float> x2, ReadOnlySpan<float> x3,
    ReadOnlySpan<float> x4, ReadOnlySpan<float> x5, Span<float> y, int first, int last);

/// <summary>
/// Runs generated loop bodies over a split iteration space on a <see cref="WorkerPool"/>: the spans are pinned for
/// the call (also when one thread runs it), and each task rebuilds them from the pointers on its own thread (generated code has no pointers).
/// Nothing is allocated per call. Split points are multiples of <c>align</c> units, so a flat row split into chunks
/// runs the same vector and scalar-tail instructions on every element as the unsplit row (the same bytes whatever
/// the thread count).
/// </summary>
public static unsafe class ParallelLoops
{
    /// <summary>Below this many output elements a loop is not worth waking other threads for.</summary>
    public const int MinElements = 1 << 15;

    /// <summary>
    /// Calls <paramref name="body"/> over [0, <paramref name="units"/>), split into chunks between the pool's threads
    /// when there is a pool and <paramref name="elements"/> (the output's size) is at least <see cref="MinElements"/>,
    /// as one call otherwise.
    /// </summary>
    public static void Elementwise(
        WorkerPool? pool, int units, int align, long elements, ElementwiseRange body,
        ReadOnlySpan<float> x0, ReadOnlySpan<float> x1, ReadOnlySpan<float> x2, ReadOnlySpan<float> x3,
        ReadOnlySpan<float> x4, ReadOnlySpan<float> x5, Span<float> y)
    {
        if (units <= 0) return;
        align = Math.Max(1, align);
        int chunks = (units + align - 1) / align;
        int tasks = pool is null || elements < MinElements ? 1 : Math.Min(chunks, pool.Threads * 2);
        fixed (float* p0 = x0)
        fixed (float* p1 = x1)
        fixed (float* p2 = x2)
        fixed (float* p3 = x3)
        fixed (float* p4 = x4)
        fixed (float* p5 = x5)
        fixed (float* py = y)
        {
            // Pinned on every path: bodies may write y with non-temporal stores, which take its address.
            if (tasks <= 1)
            {
                body(x0, x1, x2, x3, x4, x5, y, 0, units);
                return;
            }

            var job = s_job ??= new ElementwiseJob();
            job.Set(tasks, units, align, body, p0, x0.Length, p1, x1.Length, p2, x2.Length, p3, x3.Length, p4, x4.Length, p5, x5.Length, py, y.Length);
            try
            {
                pool!.Run(job, tasks);
            }
            finally
            {
                job.Clear();
            }
        }
    }

    [ThreadStatic]
    private static ElementwiseJob? s_job;

    private sealed class ElementwiseJob : IParallelJob
    {
        private int _tasks, _units, _align;
        private ElementwiseRange? _body;
        private float* _p0, _p1, _p2, _p3, _p4, _p5, _py;
        private int _n0, _n1, _n2, _n3, _n4, _n5, _ny;

        public void Set(int tasks, int units, int align, ElementwiseRange body,
            float* p0, int n0, float* p1, int n1, float* p2, int n2, float* p3, int n3, float* p4, int n4, float* p5, int n5, float* py, int ny)
        {
            (_tasks, _units, _align, _body) = (tasks, units, align, body);
            _p0 = p0;
            _p1 = p1;
            _p2 = p2;
            _p3 = p3;
            _p4 = p4;
            _p5 = p5;
            _py = py;
            (_n0, _n1, _n2, _n3, _n4, _n5, _ny) = (n0, n1, n2, n3, n4, n5, ny);
        }

        public void Clear() => _body = null;

        public void Execute(int task)
        {
            int chunks = (_units + _align - 1) / _align;
            var (firstChunk, lastChunk) = WorkerPool.Share(chunks, task, _tasks);
            int first = firstChunk * _align;
            int last = Math.Min(_units, lastChunk * _align);
            if (first >= last) return;
            _body!(
                new ReadOnlySpan<float>(_p0, _n0), new ReadOnlySpan<float>(_p1, _n1), new ReadOnlySpan<float>(_p2, _n2),
                new ReadOnlySpan<float>(_p3, _n3), new ReadOnlySpan<float>(_p4, _n4), new ReadOnlySpan<float>(_p5, _n5),
                new Span<float>(_py, _ny), first, last);
        }
    }
}
