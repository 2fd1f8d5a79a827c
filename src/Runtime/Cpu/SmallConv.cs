using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Aot.Runtime.Cpu;

/// <summary>
/// Direct convolution for layers whose whole input fits in L1 (stride 1, no dilation, one group), such as the
/// convolutions of LeNet-sized networks. Building an im2col matrix there costs more than the products themselves,
/// so this kernel reads the input in place instead:
/// <list type="bullet">
/// <item>the input is copied once per call into a zero-bordered scratch plane set, so no tap needs a bounds check;</item>
/// <item>the weights arrive as [C, R, S, K] (a load-time transpose), so one vector load gives a tap's weight for
/// 16 (Vector512) or 8 (Vector256) output channels;</item>
/// <item>a tile of 2 output rows x 4-7 output columns (the width that wastes the fewest columns) keeps one
/// accumulator per pixel in registers; each tap is one weight load and one FMA per pixel with the input
/// broadcast from memory;</item>
/// <item>bias starts the accumulators, ReLU is applied before the tile leaves the registers, and an optional
/// 2 x 2 / stride 2 max pooling reads the two finished rows, so neither the unpooled output nor an activation pass
/// ever goes through memory.</item>
/// </list>
/// The summation order is fixed (bias, then channels, kernel rows and columns in order), whatever the machine's thread
/// count: the kernel runs on the calling thread only, its work being too small to split.
/// </summary>
public static unsafe class SmallConv
{
    /// <summary>Output rows per register tile: two, so a 2 x 2 pooling window is complete in every tile pair.</summary>
    private const int TileRows = 2;

    [ThreadStatic]
    private static float[]? s_workspace;

    /// <summary>
    /// y = [maxpool2x2](act(conv(x, w) + bias)) for one image x [channels, height, width]; <paramref name="weights"/>
    /// is [channels, kernelH, kernelW, k]; outH and outW are the convolution's output size (before pooling). y is
    /// [k, outH, outW], or [k, outH / 2, outW / 2] with <paramref name="maxPool2x2"/> (a trailing odd row or column is
    /// dropped, as a 2 x 2 / stride 2 unpadded pooling does). An empty bias means zero. <paramref name="isa"/> fixes the
    /// vector width as it does for the GEMM (Avx512: 16 channels per vector, then 8; Avx2: 8; Vector128: one channel at
    /// a time; Auto: the widest the JIT or NativeAOT compiler targets).
    /// </summary>
    public static void Forward(
        ReadOnlySpan<float> x, int channels, int height, int width,
        ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, int k, int kernelH, int kernelW,
        int padTop, int padLeft, int outH, int outW, bool relu, bool maxPool2x2, Span<float> y,
        CpuInstructionSet isa = CpuInstructionSet.Auto)
    {
        if (isa != CpuInstructionSet.Auto) CpuFeatures.Require(isa);
        int yH = maxPool2x2 ? outH / 2 : outH, yW = maxPool2x2 ? outW / 2 : outW;
        if (x.Length < (long)channels * height * width) throw new ArgumentException($"x needs {channels * height * width} elements, has {x.Length}", nameof(x));
        if (weights.Length < (long)channels * kernelH * kernelW * k) throw new ArgumentException($"weights need {channels * kernelH * kernelW * k} elements, has {weights.Length}", nameof(weights));
        if (!bias.IsEmpty && bias.Length < k) throw new ArgumentException($"bias needs {k} elements, has {bias.Length}", nameof(bias));
        if (y.Length < (long)k * yH * yW) throw new ArgumentException($"y needs {k * yH * yW} elements, has {y.Length}", nameof(y));
        if (k <= 0 || outH <= 0 || outW <= 0) return;

        int tileCols = TileColumns(outW);
        int paddedOutW = RoundUp(outW, tileCols);
        var g = new Geometry(channels, kernelH, kernelW, k,
            planeH: RoundUp(outH, TileRows) + kernelH - 1, planeW: paddedOutW + kernelW - 1, paddedOutW, outH, outW, relu);
        int planes = channels * g.PlaneH * g.PlaneW;
        int rowsLength = TileRows * paddedOutW * 16;
        var workspace = s_workspace;
        if (workspace is null || workspace.Length < planes + rowsLength) s_workspace = workspace = new float[planes + rowsLength];

        fixed (float* px = x)
        fixed (float* pw = weights)
        fixed (float* pb = bias)
        fixed (float* py = y)
        fixed (float* scratch = workspace)
        {
            float* padded = scratch, rows = scratch + planes;
            new Span<float>(padded, planes).Clear();
            for (int c = 0; c < channels; c++)
            {
                for (int ih = 0; ih < height; ih++)
                {
                    new ReadOnlySpan<float>(px + ((long)c * height + ih) * width, width)
                        .CopyTo(new Span<float>(padded + ((long)c * g.PlaneH + ih + padTop) * g.PlaneW + padLeft, width));
                }
            }

            // Output channels in chunks of one vector: 16 while that many are left (AVX-512), then 8 (AVX2 + FMA,
            // the last chunk loaded under a mask), or one at a time where neither exists.
            bool wide = isa == CpuInstructionSet.Avx512 || (isa == CpuInstructionSet.Auto && Avx512F.IsSupported);
            bool fma = wide || isa == CpuInstructionSet.Avx2 || (isa == CpuInstructionSet.Auto && Fma.IsSupported && Avx2.IsSupported);
            int k0 = 0;
            while (k0 < k)
            {
                int lanes = wide && k - k0 >= 16 ? 16 : fma ? 8 : 1;
                int count = Math.Min(lanes, k - k0);
                for (int oh0 = 0; oh0 < outH; oh0 += TileRows)
                {
                    for (int ow0 = 0; ow0 < outW; ow0 += tileCols)
                    {
                        float* tile = rows + ow0 * lanes;
                        float* input = padded + (long)oh0 * g.PlaneW + ow0;
                        switch (lanes, tileCols)
                        {
                            case (16, 7): Tile512<Cols7>(input, pw + k0, pb, k0, tile, g); break;
                            case (16, 6): Tile512<Cols6>(input, pw + k0, pb, k0, tile, g); break;
                            case (16, 5): Tile512<Cols5>(input, pw + k0, pb, k0, tile, g); break;
                            case (16, _): Tile512<Cols4>(input, pw + k0, pb, k0, tile, g); break;
                            case (8, 7): Tile256<Cols7>(input, pw + k0, pb, k0, count, tile, g); break;
                            case (8, 6): Tile256<Cols6>(input, pw + k0, pb, k0, count, tile, g); break;
                            case (8, 5): Tile256<Cols5>(input, pw + k0, pb, k0, count, tile, g); break;
                            case (8, _): Tile256<Cols4>(input, pw + k0, pb, k0, count, tile, g); break;
                            default: TileScalar(input, pw + k0, pb, k0, tileCols, tile, g); break;
                        }
                    }

                    WriteRows(rows, lanes, count, k0, oh0, maxPool2x2, py, yH, yW, g);
                }

                k0 += count;
            }
        }
    }

    /// <summary>The tile width in 4..7 that pads <paramref name="outW"/> the least (the widest among equals): 4 keeps
    /// 8 accumulators in registers, 7 keeps 14, well within the 16 (AVX2) or 32 (AVX-512) vector registers.</summary>
    private static int TileColumns(int outW)
    {
        int best = 4;
        for (int cols = 5; cols <= 7; cols++)
        {
            if (RoundUp(outW, cols) <= RoundUp(outW, best)) best = cols;
        }

        return best;
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>Sizes shared by the tile kernels: the padded input planes and the row buffer's width.</summary>
    private readonly struct Geometry
    {
        public readonly int Channels, KernelH, KernelW, K, PlaneH, PlaneW, PaddedOutW, OutH, OutW;
        public readonly bool Relu;

        public Geometry(int channels, int kernelH, int kernelW, int k, int planeH, int planeW, int paddedOutW, int outH, int outW, bool relu)
        {
            (Channels, KernelH, KernelW, K, PlaneH, PlaneW, PaddedOutW, OutH, OutW, Relu) = (channels, kernelH, kernelW, k, planeH, planeW, paddedOutW, outH, outW, relu);
        }
    }

    /// <summary>Output columns of a tile: a constant per struct type, so each instantiation keeps only its accumulators.</summary>
    private interface IColumnCount
    {
        static abstract int Count { get; }
    }

    private struct Cols4 : IColumnCount { public static int Count => 4; }

    private struct Cols5 : IColumnCount { public static int Count => 5; }

    private struct Cols6 : IColumnCount { public static int Count => 6; }

    private struct Cols7 : IColumnCount { public static int Count => 7; }

    /// <summary>
    /// 2 x T pixels of 16 output channels from k0: accumulators a (first row) and b (second row) start at the bias;
    /// every tap adds weight * input; the finished pixels (after ReLU) go to the row buffer, pixel-major, 16 floats each.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // as Sgemm's microkernels: no PGO-dependent Tier-1 body
    private static void Tile512<T>(float* input, float* w, float* bias, int k0, float* tile, in Geometry g)
        where T : struct, IColumnCount
    {
        var start = bias is null ? Vector512<float>.Zero : Vector512.Load(bias + k0);
        Vector512<float> a0 = start, a1 = start, a2 = start, a3 = start, a4 = start, a5 = start, a6 = start;
        Vector512<float> b0 = start, b1 = start, b2 = start, b3 = start, b4 = start, b5 = start, b6 = start;
        int planeW = g.PlaneW, k = g.K;
        for (int c = 0; c < g.Channels; c++)
        {
            for (int r = 0; r < g.KernelH; r++)
            {
                float* x0 = input + ((long)c * g.PlaneH + r) * planeW;
                float* x1 = x0 + planeW;
                float* wr = w + (long)(c * g.KernelH + r) * g.KernelW * k;
                for (int s = 0; s < g.KernelW; s++, x0++, x1++, wr += k)
                {
                    var wv = Vector512.Load(wr);
                    a0 = Avx512F.FusedMultiplyAdd(Vector512.Create(x0[0]), wv, a0);
                    a1 = Avx512F.FusedMultiplyAdd(Vector512.Create(x0[1]), wv, a1);
                    a2 = Avx512F.FusedMultiplyAdd(Vector512.Create(x0[2]), wv, a2);
                    a3 = Avx512F.FusedMultiplyAdd(Vector512.Create(x0[3]), wv, a3);
                    if (T.Count > 4) a4 = Avx512F.FusedMultiplyAdd(Vector512.Create(x0[4]), wv, a4);
                    if (T.Count > 5) a5 = Avx512F.FusedMultiplyAdd(Vector512.Create(x0[5]), wv, a5);
                    if (T.Count > 6) a6 = Avx512F.FusedMultiplyAdd(Vector512.Create(x0[6]), wv, a6);
                    b0 = Avx512F.FusedMultiplyAdd(Vector512.Create(x1[0]), wv, b0);
                    b1 = Avx512F.FusedMultiplyAdd(Vector512.Create(x1[1]), wv, b1);
                    b2 = Avx512F.FusedMultiplyAdd(Vector512.Create(x1[2]), wv, b2);
                    b3 = Avx512F.FusedMultiplyAdd(Vector512.Create(x1[3]), wv, b3);
                    if (T.Count > 4) b4 = Avx512F.FusedMultiplyAdd(Vector512.Create(x1[4]), wv, b4);
                    if (T.Count > 5) b5 = Avx512F.FusedMultiplyAdd(Vector512.Create(x1[5]), wv, b5);
                    if (T.Count > 6) b6 = Avx512F.FusedMultiplyAdd(Vector512.Create(x1[6]), wv, b6);
                }
            }
        }

        bool relu = g.Relu;
        float* second = tile + g.PaddedOutW * 16;
        Store512(tile, a0, relu); Store512(tile + 16, a1, relu); Store512(tile + 32, a2, relu); Store512(tile + 48, a3, relu);
        Store512(second, b0, relu); Store512(second + 16, b1, relu); Store512(second + 32, b2, relu); Store512(second + 48, b3, relu);
        if (T.Count > 4) { Store512(tile + 64, a4, relu); Store512(second + 64, b4, relu); }
        if (T.Count > 5) { Store512(tile + 80, a5, relu); Store512(second + 80, b5, relu); }
        if (T.Count > 6) { Store512(tile + 96, a6, relu); Store512(second + 96, b6, relu); }
    }

    /// <summary>ReLU (<see cref="KernelMath.Relu(Vector512{float})"/>: NaN propagates, -0 becomes +0), then the store.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* at, Vector512<float> v, bool relu)
    {
        if (relu) v = KernelMath.Relu(v);
        v.Store(at);
    }

    /// <summary>As <see cref="Tile512{T}"/> for 8 output channels; fewer than 8 (<paramref name="count"/>) load their
    /// weights and bias under a mask, so nothing past the last channel is read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // as Sgemm's microkernels: no PGO-dependent Tier-1 body
    private static void Tile256<T>(float* input, float* w, float* bias, int k0, int count, float* tile, in Geometry g)
        where T : struct, IColumnCount
    {
        var mask = Avx2.CompareGreaterThan(Vector256.Create(count), Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7)).AsSingle();
        bool full = count == 8;
        var start = bias is null ? Vector256<float>.Zero : full ? Vector256.Load(bias + k0) : Avx.MaskLoad(bias + k0, mask);
        Vector256<float> a0 = start, a1 = start, a2 = start, a3 = start, a4 = start, a5 = start, a6 = start;
        Vector256<float> b0 = start, b1 = start, b2 = start, b3 = start, b4 = start, b5 = start, b6 = start;
        int planeW = g.PlaneW, k = g.K;
        for (int c = 0; c < g.Channels; c++)
        {
            for (int r = 0; r < g.KernelH; r++)
            {
                float* x0 = input + ((long)c * g.PlaneH + r) * planeW;
                float* x1 = x0 + planeW;
                float* wr = w + (long)(c * g.KernelH + r) * g.KernelW * k;
                for (int s = 0; s < g.KernelW; s++, x0++, x1++, wr += k)
                {
                    var wv = full ? Vector256.Load(wr) : Avx.MaskLoad(wr, mask);
                    a0 = Fma.MultiplyAdd(Vector256.Create(x0[0]), wv, a0);
                    a1 = Fma.MultiplyAdd(Vector256.Create(x0[1]), wv, a1);
                    a2 = Fma.MultiplyAdd(Vector256.Create(x0[2]), wv, a2);
                    a3 = Fma.MultiplyAdd(Vector256.Create(x0[3]), wv, a3);
                    if (T.Count > 4) a4 = Fma.MultiplyAdd(Vector256.Create(x0[4]), wv, a4);
                    if (T.Count > 5) a5 = Fma.MultiplyAdd(Vector256.Create(x0[5]), wv, a5);
                    if (T.Count > 6) a6 = Fma.MultiplyAdd(Vector256.Create(x0[6]), wv, a6);
                    b0 = Fma.MultiplyAdd(Vector256.Create(x1[0]), wv, b0);
                    b1 = Fma.MultiplyAdd(Vector256.Create(x1[1]), wv, b1);
                    b2 = Fma.MultiplyAdd(Vector256.Create(x1[2]), wv, b2);
                    b3 = Fma.MultiplyAdd(Vector256.Create(x1[3]), wv, b3);
                    if (T.Count > 4) b4 = Fma.MultiplyAdd(Vector256.Create(x1[4]), wv, b4);
                    if (T.Count > 5) b5 = Fma.MultiplyAdd(Vector256.Create(x1[5]), wv, b5);
                    if (T.Count > 6) b6 = Fma.MultiplyAdd(Vector256.Create(x1[6]), wv, b6);
                }
            }
        }

        bool relu = g.Relu;
        float* second = tile + g.PaddedOutW * 8;
        Store256(tile, a0, relu); Store256(tile + 8, a1, relu); Store256(tile + 16, a2, relu); Store256(tile + 24, a3, relu);
        Store256(second, b0, relu); Store256(second + 8, b1, relu); Store256(second + 16, b2, relu); Store256(second + 24, b3, relu);
        if (T.Count > 4) { Store256(tile + 32, a4, relu); Store256(second + 32, b4, relu); }
        if (T.Count > 5) { Store256(tile + 40, a5, relu); Store256(second + 40, b5, relu); }
        if (T.Count > 6) { Store256(tile + 48, a6, relu); Store256(second + 48, b6, relu); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(float* at, Vector256<float> v, bool relu)
    {
        if (relu) v = Avx.Add(Avx.Max(Vector256<float>.Zero, v), Vector256<float>.Zero);
        v.Store(at);
    }

    /// <summary>Machines without FMA: one output channel (k0), the same tile and order in scalar arithmetic.</summary>
    private static void TileScalar(float* input, float* w, float* bias, int k0, int cols, float* tile, in Geometry g)
    {
        float start = bias is null ? 0f : bias[k0];
        for (int i = 0; i < TileRows; i++)
        {
            for (int j = 0; j < cols; j++)
            {
                float sum = start;
                for (int c = 0; c < g.Channels; c++)
                {
                    for (int r = 0; r < g.KernelH; r++)
                    {
                        float* xr = input + ((long)c * g.PlaneH + r + i) * g.PlaneW + j;
                        float* wr = w + (long)(c * g.KernelH + r) * g.KernelW * g.K;
                        for (int s = 0; s < g.KernelW; s++) sum += xr[s] * wr[s * g.K];
                    }
                }

                tile[i * g.PaddedOutW + j] = g.Relu ? MathF.Max(sum, 0f) + 0f : sum;
            }
        }
    }

    /// <summary>Moves the two finished rows (oh0, oh0 + 1) of one channel chunk from the row buffer (pixel-major,
    /// <paramref name="lanes"/> channels per pixel) into y's channel planes, through the 2 x 2 max when pooling
    /// (<see cref="MathF.Max(float, float)"/>, as MaxPool2d computes it).</summary>
    private static void WriteRows(float* rows, int lanes, int count, int k0, int oh0, bool maxPool2x2, float* y, int yH, int yW, in Geometry g)
    {
        float* second = rows + g.PaddedOutW * lanes;
        long plane = (long)yH * yW;
        if (maxPool2x2)
        {
            int ph = oh0 / 2;
            if (ph >= yH) return;
            for (int pw = 0; pw < yW; pw++)
            {
                float* p0 = rows + 2 * pw * lanes, p1 = second + 2 * pw * lanes;
                float* out0 = y + (long)k0 * plane + ph * yW + pw;
                for (int l = 0; l < count; l++)
                {
                    out0[l * plane] = MathF.Max(MathF.Max(p0[l], p0[lanes + l]), MathF.Max(p1[l], p1[lanes + l]));
                }
            }

            return;
        }

        for (int i = 0; i < TileRows && oh0 + i < g.OutH; i++)
        {
            float* row = i == 0 ? rows : second;
            for (int ow = 0; ow < g.OutW; ow++)
            {
                float* out0 = y + (long)k0 * plane + (oh0 + i) * yW + ow;
                for (int l = 0; l < count; l++) out0[l * plane] = row[ow * lanes + l];
            }
        }
    }
}
