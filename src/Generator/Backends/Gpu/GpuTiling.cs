using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Aot.Generator.Backends.Gpu;

/// <summary>
/// What the GPU backend assumes about the device it generates kernels for. Launch shapes and GEMM tiles are chosen
/// from it at build time and baked into the generated code; the generated constructor checks the two hard limits
/// (threads and shared memory per group) against the real accelerator.
/// </summary>
internal sealed record GpuTarget(
    string Name,
    int WarpSize,
    int MaxThreadsPerGroup,
    int SharedMemoryPerGroup,
    int SharedMemoryPerMultiprocessor,
    int MaxThreadsPerMultiprocessor,
    int RegistersPerMultiprocessor,
    int Multiprocessors,
    int FmaPerClockPerMultiprocessor,
    int L2BytesPerClock,
    int MemoryLatencyCycles)
{
    /// <summary>NVIDIA H100 SXM (sm_90): 132 SMs, 128 FP32 FMA per SM and clock, 48 KiB of static shared memory per
    /// group (228 KiB per SM), 64K registers per SM, roughly 3 KB/clock of L2 bandwidth.</summary>
    public static readonly GpuTarget H100 = new("NVIDIA H100 (sm_90)", 32, 1024, 48 * 1024, 228 * 1024, 2048, 65536, 132, 128, 3072, 600);

    /// <summary>When set, every GEMM uses this tile instead of the cost model's choice (tests run every tile shape on
    /// awkward sizes this way).</summary>
    public GemmTile? ForcedTile { get; init; }

    /// <summary>Elements per thread and iteration of the elementwise and copy kernels' grid-stride loops (more loads in
    /// flight per thread: one resident wave of threads cannot cover the memory latency with one load each).</summary>
    public int ElementwiseUnroll { get; init; } = 4;

    /// <summary>The same for the vectorized elementwise kernels, whose steps are 4 elements each: 2 (8 elements, two
    /// 128-bit loads per operand in flight) measured faster than 4 and 1 on an H200 for the benchmark's chain (0.186 ms
    /// against 0.214 and 0.195), the fewer registers leaving room for more resident threads.</summary>
    public int VectorUnroll { get; init; } = 2;

    /// <summary>Let matrix products read and write through Transposes with strides instead of launching copies (<see cref="MatMulViews"/>).</summary>
    public bool FoldTransposes { get; init; } = true;

    /// <summary>Read the GEMM micro-tile's operands from shared memory 128 bits at a time (tiles with TM and TN multiples of 4).</summary>
    public bool VectorizeGemmShared { get; init; } = true;

    /// <summary>Read GEMM operands from global memory 128 bits at a time where their layout allows it (see the GEMM's
    /// TileLoader); a kernel doing so gets a scalar fallback for callers' views that are not 16-byte aligned.</summary>
    public bool VectorizeGemmLoads { get; init; } = true;

    /// <summary>Softmax and LayerNorm over rows of 33 to 1024 contiguous elements: a warp per row with shuffle
    /// reductions, instead of a group per row with shared-memory tree reductions.</summary>
    public bool WarpRowReductions { get; init; } = true;

    /// <summary>Vectorize elementwise kernels (4 floats per 128-bit load/store) where the shapes allow it.</summary>
    public bool VectorizeElementwise { get; init; } = true;

    /// <summary>Index the GEMM's shared-memory tiles with 64-bit offsets (register plus literal, which PTX folds into
    /// the load) rather than 32-bit ones (recomputed per read, since a 32-bit sum may wrap).</summary>
    public bool SharedIndex64 { get; init; } = true;

    /// <summary>Pad each k row of the shared A and B tiles by 32 / BK words. A slice loaded along k (A row-major, or B
    /// transposed as in a Linear layer's [out, in] weight) is stored by a warp as BK rows of 32 / BK columns; with a row
    /// stride of 32 / BK modulo 32 banks those stores hit 32 different banks instead of piling up on a few.</summary>
    public bool SharedPadding { get; init; } = true;

    /// <summary>The padding <see cref="SharedPadding"/> gives a tile with this BK.</summary>
    public int SharedPad(int bk) => SharedPadding ? System.Math.Max(1, 32 / bk) : 0;

    /// <summary>The largest group any generated kernel launches. 256 threads is where the kernels' shapes top out, and
    /// keeps the model runnable on ILGPU's CPU accelerator created as <c>new CPUDevice(32, 8, 1)</c>.</summary>
    public int GroupSizeLimit => Math.Min(256, MaxThreadsPerGroup);

    /// <summary>Threads per group and group count for a grid-stride loop over <paramref name="n"/> elements: a
    /// 256-thread group (a multiple of the warp below that), and no more groups than the device keeps resident.</summary>
    public (int Groups, int GroupSize) GridStride(long n)
    {
        int group = (int)Math.Min(GroupSizeLimit, Math.Max(WarpSize, (n + WarpSize - 1) / WarpSize * WarpSize));
        long resident = (long)Multiprocessors * (MaxThreadsPerMultiprocessor / group);
        long groups = Math.Max(1, Math.Min((n + group - 1) / group, resident));
        return ((int)groups, group);
    }

    /// <summary>A power-of-two group size for a cooperative reduction over <paramref name="n"/> elements: about four
    /// elements per thread, between one warp and <see cref="GroupSizeLimit"/>.</summary>
    public int ReductionGroup(long n)
    {
        int g = WarpSize;
        while (g < GroupSizeLimit && g * 4L < n) g *= 2;
        return g;
    }
}

/// <summary>
/// One tiling of a GEMM: a group computes a BM x BN block of the output, walking K in steps of BK through two
/// shared-memory buffers (A stored transposed, BK x BM, and B, BK x BN); each of its (BM/TM)(BN/TN) threads
/// accumulates a TM x TN micro-tile in registers, rows tr + i*(BM/TM) and columns tc + j*(BN/TN) so neighbouring
/// threads read neighbouring shared-memory words and write neighbouring output columns.
/// </summary>
internal sealed record GemmTile(int BM, int BN, int BK, int TM, int TN)
{
    public int Threads => BM / TM * (BN / TN);

    /// <summary>Both shared buffers, double-buffered.</summary>
    public int SharedBytes => 2 * BK * (BM + BN) * sizeof(float);

    public int LoadsA => Shapes.CeilDiv(BM * BK, Threads);

    public int LoadsB => Shapes.CeilDiv(BK * BN, Threads);

    /// <summary>Rough registers per thread: accumulators, the operand fragments, prefetch registers and their offsets,
    /// plus addressing and loop state.</summary>
    public int Registers => TM * TN + TM + TN + 2 * (LoadsA + LoadsB) + 24;

    public override string ToString() => $"BM={BM} BN={BN} BK={BK} TM={TM} TN={TN} ({Threads} threads, {SharedBytes} B shared)";
}

/// <summary>The chosen tile and why: the estimate of every candidate considered is kept for the generated comment.</summary>
internal sealed record TileChoice(GemmTile Tile, double Cycles, string Explanation);

/// <summary>
/// Chooses GEMM tiles with a small cost model (see <see cref="Estimate"/>): large problems get 128 x 64 (or 64 x 128)
/// x 16 tiles of 8 x 8 per thread (128 threads), small or skinny ones smaller tiles that keep more multiprocessors
/// busy and waste less on edges.
/// </summary>
internal static class GpuTiling
{
    /// <summary>The shapes considered: register-blocked tiles from 128 x 64 down to 16 x 16, and skinny ones for
    /// matrix-vector-like products (a batch-1 Linear layer has m = 1). The classic SGEMM tile, 128 x 128 x 8 with 256
    /// threads, is not among them: on an H200 it measured slower than 128 x 64 x 16 on every product tried (4096^3:
    /// 3.15 ms against 3.08; the transformer block 1.86 ms against 1.73; docs/results/gpu-h200-2026-11-27c.md).</summary>
    public static IReadOnlyList<GemmTile> Candidates { get; } = new[]
    {
        new GemmTile(128, 64, 16, 8, 8), // first: wins the ties against 64 x 128 (4096^3: 3.08 ms against 3.27)
        new GemmTile(64, 128, 16, 8, 8),
        new GemmTile(128, 64, 8, 8, 4),
        new GemmTile(64, 128, 8, 4, 8),
        new GemmTile(64, 64, 8, 4, 4),
        new GemmTile(64, 64, 16, 8, 8), // BK 16 measured faster than 8 for this 64-thread tile (fewer barriers per FMA)
        new GemmTile(32, 64, 8, 4, 4),
        new GemmTile(64, 32, 8, 4, 4),
        new GemmTile(32, 32, 8, 4, 4),
        new GemmTile(32, 32, 8, 2, 2),
        new GemmTile(16, 16, 16, 2, 2),
        new GemmTile(16, 16, 16, 1, 1),
        new GemmTile(8, 64, 16, 1, 2),
        new GemmTile(64, 8, 16, 2, 1),
        new GemmTile(8, 32, 16, 1, 2),
        new GemmTile(32, 8, 16, 2, 1),
    };

    public static TileChoice Choose(long batch, int m, int n, int k, GpuTarget target)
    {
        if (target.ForcedTile is { } forced)
        {
            return new TileChoice(forced, Estimate(forced, batch, m, n, k, target), $"tile {forced} for batch {batch}, m {m}, n {n}, k {k}: forced by the target description");
        }

        var scored = Candidates
            .Where(t => t.Threads <= target.GroupSizeLimit && t.SharedBytes <= target.SharedMemoryPerGroup)
            .Select(t => (Tile: t, Cycles: Estimate(t, batch, m, n, k, target)))
            .ToList();
        if (scored.Count == 0) throw new InvalidOperationException("no GEMM tile fits the target " + target.Name);

        // Ties (common: the estimate is about FMA throughput and waves, which many tiles reach alike). Over a long K loop
        // (at least LongK steps) the steady state dominates: the tile that loads the fewest operand values per FMA,
        // (BM + BN) / (BM * BN). Over a short one the groups' start and end (first loads, epilogue) weigh more, and
        // more, smaller groups overlap them better: the least padded work, then groups closest to 128 threads, then
        // the fewest operand loads per FMA. Measured on an H200 (docs/results/gpu-h200-2026-11-27b.md, -27c.md): 128 x 64
        // and 64 x 128 with 8 x 8 per thread win for the transformer block's products with K = 64 to 3072 (e.g.
        // 4096 x 768 x 768: 0.143 ms against 0.195 for 64 x 64 x 16 and 0.184 for 128 x 128 x 8, all with BK 8; with
        // BK 16, 0.120), and BK 16 wins over BK 8 on every product measured (half the barriers per FMA).
        bool longK = Shapes.CeilDiv(k, 8) >= LongK;
        var ordered = scored.OrderBy(s => s.Cycles);
        var best = (longK
                ? ordered.ThenBy(s => OperandLoadsPerFma(s.Tile)).ThenBy(s => PaddedWork(s.Tile, batch, m, n, k)).ThenBy(s => s.Tile.Threads)
                : ordered.ThenBy(s => PaddedWork(s.Tile, batch, m, n, k)).ThenBy(s => Math.Abs(s.Tile.Threads - 128)).ThenBy(s => OperandLoadsPerFma(s.Tile)))
            .First();
        var runnersUp = scored.Where(s => s.Tile != best.Tile).OrderBy(s => s.Cycles).Take(2)
            .Select(s => $"{s.Tile.BM}x{s.Tile.BN}x{s.Tile.BK}/{s.Tile.TM}x{s.Tile.TN} ~{Cycles(s.Cycles)}");
        string explanation = $"tile {best.Tile} for batch {batch}, m {m}, n {n}, k {k} on {target.Name}: estimated {Cycles(best.Cycles)} cycles " +
                             $"(next: {string.Join(", ", runnersUp)})";
        return new TileChoice(best.Tile, best.Cycles, explanation);
    }

    /// <summary>
    /// Estimated cycles on the busiest multiprocessor. Groups are spread evenly over the multiprocessors; as many run
    /// at once as threads, registers and shared memory allow (occupancy). Each K step of a wave costs the larger of
    /// (a) its FMAs at the multiprocessor's rate, scaled by the micro-tile's efficiency (shared-memory words loaded
    /// per FMA: TM*TN / (TM + TN) of at least 4 runs at full rate, an 8 x 8 tile is 4, a 1 x 1 tile 0.5) and by
    /// latency hiding (independent FMAs in flight, resident threads times min(TM*TN, 16), must cover the pipeline:
    /// 32 per FMA lane), and (b) the memory latency the one-step prefetch has to cover. The whole problem is also bounded by L2 traffic: every tile streams BM + BN
    /// values per k.
    /// </summary>
    public static double Estimate(GemmTile t, long batch, int m, int n, int k, GpuTarget target)
    {
        long tiles = batch * Shapes.CeilDiv(m, t.BM) * Shapes.CeilDiv(n, t.BN);
        if (tiles == 0) return 0;
        int kSteps = Shapes.CeilDiv(k, t.BK);
        int perSm = new[]
        {
            target.MaxThreadsPerMultiprocessor / t.Threads,
            target.SharedMemoryPerMultiprocessor / t.SharedBytes,
            target.RegistersPerMultiprocessor / (t.Threads * t.Registers),
            32,
        }.Min();
        perSm = Math.Max(perSm, 1);
        long busiest = Shapes.CeilDiv(tiles, target.Multiprocessors);
        long waves = Shapes.CeilDiv(busiest, perSm);
        int resident = (int)Math.Min(perSm, busiest);
        double efficiency = Math.Min(1.0, t.TM * t.TN / (double)(t.TM + t.TN) / 4.0);
        double hiding = Math.Min(1.0, (double)resident * t.Threads * Math.Min(t.TM * t.TN, 16) / (32.0 * target.FmaPerClockPerMultiprocessor));
        double stepFmas = (double)resident * t.Threads * t.TM * t.TN * t.BK;
        double step = Math.Max(stepFmas / (target.FmaPerClockPerMultiprocessor * efficiency * hiding), target.MemoryLatencyCycles);
        double compute = waves * (kSteps * step + target.MemoryLatencyCycles); // + the epilogue's stores
        double l2 = (double)tiles * (t.BM + t.BN) * kSteps * t.BK * sizeof(float) / target.L2BytesPerClock;
        return Math.Max(compute, l2);
    }

    /// <summary>K steps of 8 from which a GEMM counts as long (see <see cref="Choose"/>): K of 2048 and more.</summary>
    public const int LongK = 256;

    /// <summary>Operand values a group loads into shared memory per FMA: (BM + BN) / (BM * BN).</summary>
    private static double OperandLoadsPerFma(GemmTile t) => (double)(t.BM + t.BN) / (t.BM * t.BN);

    private static long PaddedWork(GemmTile t, long batch, int m, int n, int k) =>
        batch * Shapes.CeilDiv(m, t.BM) * t.BM * Shapes.CeilDiv(n, t.BN) * t.BN * (long)Math.Max(1, Shapes.CeilDiv(k, t.BK) * t.BK);

    private static string Cycles(double c) => c.ToString("0", CultureInfo.InvariantCulture);
}
