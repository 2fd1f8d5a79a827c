using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Aot.Runtime.Cpu;

/// <summary>Pooling kernels for the common shapes, called by generated code (the general case stays generated loops).</summary>
public static unsafe class PoolKernels
{
    /// <summary>
    /// 2 x 2 max pooling with stride 2 and no padding over <paramref name="planes"/> planes of height x width
    /// (outH = height / 2, outW = width / 2, a trailing odd row or column ignored), with the semantics of
    /// <see cref="MathF.Max(float, float)"/> (NaN propagates). With AVX2: the vertical max of two input rows, 16 columns
    /// at a time, then the max of adjacent pairs by even/odd shuffles.
    /// </summary>
    public static void MaxPool2x2(ReadOnlySpan<float> x, int planes, int height, int width, Span<float> y, WorkerPool? pool = null)
    {
        int outH = height / 2, outW = width / 2;
        if (x.Length < (long)planes * height * width) throw new ArgumentException($"x needs {planes * height * width} elements, has {x.Length}", nameof(x));
        if (y.Length < (long)planes * outH * outW) throw new ArgumentException($"y needs {planes * outH * outW} elements, has {y.Length}", nameof(y));
        fixed (float* px = x)
        fixed (float* py = y)
        {
            // Split by output rows (every plane), as the convolutions around it split by rows: each thread reads
            // mostly what it wrote (see WorkerPool).
            int tasks = pool is null || (long)planes * height * width < ParallelMinElements ? 1 : Math.Min(outH, pool.Threads);
            if (tasks <= 1)
            {
                MaxPool2x2Rows(px, py, planes, 0, outH, height, width);
                return;
            }

            var job = s_maxPoolJob ??= new MaxPoolJob();
            job.Set(tasks, px, py, planes, height, width);
            pool!.Run(job, tasks);
        }
    }

    /// <summary>Elements of input from which a pooling is split between threads.</summary>
    private const long ParallelMinElements = 1 << 15;

    [ThreadStatic]
    private static MaxPoolJob? s_maxPoolJob;

    /// <summary>One parallel call's arguments, reused; the caller holds the pointers fixed until it returns.</summary>
    private sealed class MaxPoolJob : IParallelJob
    {
        private int _tasks, _planes, _height, _width;
        private float* _x, _y;

        public void Set(int tasks, float* x, float* y, int planes, int height, int width)
        {
            (_tasks, _planes, _height, _width) = (tasks, planes, height, width);
            _x = x;
            _y = y;
        }

        public void Execute(int task)
        {
            var (first, last) = WorkerPool.Share(_height / 2, task, _tasks);
            MaxPool2x2Rows(_x, _y, _planes, first, last, _height, _width);
        }
    }

    /// <summary>Output rows [first, last) of every plane of <see cref="MaxPool2x2"/>.</summary>
    private static void MaxPool2x2Rows(float* px, float* py, int planes, int first, int last, int height, int width)
    {
        int outH = height / 2, outW = width / 2;
        for (int plane = 0; plane < planes; plane++)
        {
            for (int oy = first; oy < last; oy++)
            {
                float* r0 = px + ((long)plane * height + 2 * oy) * width;
                float* r1 = r0 + width;
                float* o = py + ((long)plane * outH + oy) * outW;
                int ox = 0;
                if (Avx2.IsSupported)
                {
                    for (; ox + 8 <= outW; ox += 8)
                    {
                        var a = Max(Avx.LoadVector256(r0 + 2 * ox), Avx.LoadVector256(r1 + 2 * ox));
                        var b = Max(Avx.LoadVector256(r0 + 2 * ox + 8), Avx.LoadVector256(r1 + 2 * ox + 8));
                        // Within each 128-bit lane: evens [a0 a2 b0 b2], odds [a1 a3 b1 b3]; their max is outputs
                        // [0 1 4 5 | 2 3 6 7], put in order by a 64-bit permute.
                        var pairs = Max(Avx.Shuffle(a, b, 0b10_00_10_00), Avx.Shuffle(a, b, 0b11_01_11_01));
                        Avx.Store(o + ox, Avx2.Permute4x64(pairs.AsDouble(), 0b11_01_10_00).AsSingle());
                    }
                }

                for (; ox < outW; ox++)
                {
                    o[ox] = MathF.Max(MathF.Max(r0[2 * ox], r0[2 * ox + 1]), MathF.Max(r1[2 * ox], r1[2 * ox + 1]));
                }
            }
        }
    }

    /// <summary>Lane-wise <see cref="MathF.Max(float, float)"/>: NaN when either is NaN, +0 over -0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Max(Vector256<float> a, Vector256<float> b)
    {
        var max = Avx.Max(a, b); // b when either is NaN or both are zeros
        max = Avx.BlendVariable(max, a, Avx.CompareUnordered(a, a)); // a NaN propagates too
        return Avx.BlendVariable(max, Avx.And(a, b), Avx.And(Avx.CompareEqual(a, b), Avx.CompareEqual(a, Vector256<float>.Zero))); // +0 over -0
    }
}
