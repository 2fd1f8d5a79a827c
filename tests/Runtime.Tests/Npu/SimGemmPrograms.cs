using Aot.Npu;
using Aot.Runtime.Npu;
using static Runtime.Tests.Npu.SimProgramBuilder;

namespace Runtime.Tests.Npu;

/// <summary>Hand-written GEMM programs for the simulator tests, written and loaded as binaries (writer -> loader).</summary>
internal static class SimGemmPrograms
{
    /// <summary>
    /// A simple (unpipelined) C[M][N] = A[M][K] x B[K][N]: A (INPUT) and B (CONST, or B^T with
    /// <paramref name="transposeB"/>) loaded whole, one weight block per (n block, k block), every matmul over all M rows,
    /// results moved out of the accumulator as 32-bit words (int32 / fp32) to OUTPUT. M x ceil(N/32) &lt;= 1024.
    /// </summary>
    public static NpuProgram Small(NpuDType dtype, int m, int k, int n, byte[] b, bool transposeB)
    {
        int es = dtype == NpuDType.Int8 ? 1 : 2;
        const int aLocal = 0, bLocal = 0x40000, cLocal = 0x60000;
        int pitchB = (transposeB ? k : n) * es;
        int cPitch = (n * 4 + 127) / 128 * 128;
        int nBlocks = (n + 31) / 32, kBlocks = (k + 31) / 32;
        var p = new SimProgramBuilder { InputBytes = m * k * es, OutputBytes = m * n * 4, Constants = b };
        p.Add(Load(0, Region.Input, 0, k * es, aLocal, k * es, m, k * es).WithSignal(0));
        p.Add(Load(1, Region.Const, 0, pitchB, bLocal, pitchB, transposeB ? n : k, pitchB).WithSignal(0));
        for (int nb = 0; nb < nBlocks; nb++)
        {
            int n0 = nb * 32, cols = Math.Min(32, n - n0);
            for (int kb = 0; kb < kBlocks; kb++)
            {
                int k0 = kb * 32, rows = Math.Min(32, k - k0);
                long w = transposeB ? bLocal + (long)n0 * pitchB + k0 * es : bLocal + (long)k0 * pitchB + n0 * es;
                var lw = Instruction.LoadWeights(dtype, (uint)w, (uint)pitchB, rows, cols, transposeB);
                p.Add(nb == 0 && kb == 0 ? lw.WithWait(0, 2) : lw);
                var mm = Instruction.Matmul(dtype, (uint)(aLocal + k0 * es), (uint)(k * es), m, rows, nb * m, 1, accumulate: kb > 0, swapWeights: true);
                p.Add(nb == nBlocks - 1 && kb == kBlocks - 1 ? mm.WithSignal(1) : mm);
            }
        }

        for (int nb = 0; nb < nBlocks; nb++)
        {
            var mov = Instruction.Vector(Opcode.VMove, 0, m, 1, (uint)(cLocal + nb * 128), cPitch,
                (uint)(NpuTarget.AccumulatorBase + nb * m * 128), 128);
            if (nb == 0) mov = mov.WithWait(1, 1);
            p.Add(nb == nBlocks - 1 ? mov.WithSignal(2) : mov);
        }

        p.Add(Store(2, Region.Output, 0, n * 4, cLocal, cPitch, m, n * 4).WithWait(2, 1));
        return p.BuildLoaded();
    }

    // Semaphores of the pipelined GEMM.
    private const int SemAFull = 0, SemBFull = 1, SemBFree = 2, SemAccFull = 3, SemConverted = 4, SemStored = 5;

    /// <summary>
    /// The well-pipelined 512 x 512 x 512 fp16 GEMM (A in INPUT, B in CONST, both row-major; C fp16 in OUTPUT).
    /// <list type="bullet">
    /// <item>Output tiles of 128 x 128 (16 tiles: 4 row panels x 4 column tiles), each 16 k-steps of 4 weight blocks;
    /// every weight block serves one MXU_MM of m = 128 rows, so the array is busy 512 of every 512 cycles and the
    /// next block's MXU_LW (32 cycles) hides under the current matmul.</item>
    /// <item>A row panel (128 x 512, 128 KiB, k-chunk major) stays in the scratchpad for its 4 column tiles; two panel
    /// buffers (banks 0-1, 2-3): the next panel streams in during the previous panel's last three tiles. The first
    /// panel is loaded up front; the first matmul waits for its first half (chunks in bank 0) so the DMA never writes
    /// a bank the MXU is reading.</item>
    /// <item>B streams as 8 KiB k-chunks (32 x 128) through a ring of 8 slots in bank 4, four steps ahead, with
    /// credits (slot full / slot free).</item>
    /// <item>Two accumulator buffers (rows 0-511, 512-1023): while the MXU fills one, the VPU converts the other to
    /// fp16 (one V_CVT per tile) into one of two staging buffers (banks 5, 6), stored by DMA2 in four pieces.</item>
    /// </list>
    /// DRAM traffic: A 0.5 MiB once, B 2 MiB (once per row panel), C 0.5 MiB: 3 MiB, 96k port cycles against 131k MXU
    /// cycles. <paramref name="b"/>: B as fp16 bits, 512 x 512 row-major (CONST).
    /// </summary>
    public static NpuProgram PipelinedGemm512(byte[] b)
    {
        const int size = 512, tile = 128, steps = size / 32, tilesPerRow = size / tile;
        const uint aBuf0 = 0x00000, aBuf1 = 0x20000, bRing = 0x40000, cBuf0 = 0x50000, cBuf1 = 0x60000;
        const int ringSlots = 8, lookahead = 4;
        const int chunk = tile * 32 * 2; // 8 KiB
        var p = new SimProgramBuilder { InputBytes = size * size * 2, OutputBytes = size * size * 2, Constants = b };
        int tiles = tilesPerRow * tilesPerRow, totalSteps = tiles * steps;

        Instruction AChunk(int panel, int kb)
        {
            uint local = (panel % 2 == 0 ? aBuf0 : aBuf1) + (uint)(kb * chunk);
            var ld = Load(0, Region.Input, (long)panel * tile * size * 2 + kb * 64, size * 2, local, 64, tile, 64).WithSignal(SemAFull);
            // The first chunk into a panel buffer waits until the panel that used it (two panels back) is finished,
            // i.e. its last tile converted; later chunks follow it in DMA0's queue.
            return kb == 0 && panel >= 2 ? ld.WithWait(SemConverted, (uint)(4 * panel - 4)) : ld;
        }

        Instruction BChunk(int g)
        {
            int t = g / steps, kb = g % steps, nj = t % tilesPerRow;
            var ld = Load(1, Region.Const, (long)kb * 32 * size * 2 + nj * tile * 2, size * 2, bRing + (uint)(g % ringSlots * chunk), tile * 2, 32, tile * 2)
                .WithSignal(SemBFull);
            return g >= ringSlots ? ld.WithWait(SemBFree, (uint)(g - ringSlots + 1)) : ld;
        }

        // A chunk loads by the step before which they are emitted.
        var aAt = new Dictionary<int, List<(int Panel, int Kb)>>();
        for (int panel = 1; panel < tilesPerRow; panel++)
        {
            for (int kb = 0; kb < steps; kb++)
            {
                int at = 64 * panel - 48 + 3 * kb;
                if (!aAt.TryGetValue(at, out var list)) aAt[at] = list = new();
                list.Add((panel, kb));
            }
        }

        for (int kb = 0; kb < steps; kb++) p.Add(AChunk(0, kb));
        for (int g = 0; g < lookahead; g++) p.Add(BChunk(g));

        for (int t = 0; t < tiles; t++)
        {
            int mi = t / tilesPerRow, nj = t % tilesPerRow;
            uint aBuf = mi % 2 == 0 ? aBuf0 : aBuf1;
            int accBase = t % 2 * 512;
            for (int kb = 0; kb < steps; kb++)
            {
                int g = t * steps + kb;
                if (g + lookahead < totalSteps) p.Add(BChunk(g + lookahead));
                if (aAt.TryGetValue(g, out var loads))
                {
                    foreach (var (panel, k) in loads) p.Add(AChunk(panel, k));
                }

                // The accumulator buffer is free once the tile that used it two tiles ago was converted.
                if (kb == 0 && t >= 2) p.Add(Instruction.QueuedWait(Unit.Mxu, SemConverted, (uint)(t - 1)));
                for (int j = 0; j < 4; j++)
                {
                    var lw = Instruction.LoadWeights(NpuDType.Float16, bRing + (uint)(g % ringSlots * chunk + j * 64), tile * 2, 32, 32);
                    if (j == 0) lw = lw.WithWait(SemBFull, (uint)(g + 1));
                    if (j == 3) lw = lw.WithSignal(SemBFree);
                    p.Add(lw);
                    var mm = Instruction.Matmul(NpuDType.Float16, aBuf + (uint)(kb * chunk), 64, tile, 32, accBase + j, 4, accumulate: kb > 0, swapWeights: true);
                    if (j == 0 && nj == 0) mm = mm.WithWait(SemAFull, (uint)(16 * mi + Math.Max(kb + 1, 8)));
                    if (kb == steps - 1 && j == 3) mm = mm.WithSignal(SemAccFull);
                    p.Add(mm);
                }
            }

            // Epilogue: fp32 accumulators -> fp16 staging (the buffer is free once tile t-2's four stores are done),
            // then four stores.
            uint cBuf = t % 2 == 0 ? cBuf0 : cBuf1;
            if (t >= 2) p.Add(Instruction.QueuedWait(Unit.Vpu, SemStored, (uint)(4 * (t - 1))));
            p.Add(Instruction.Vector(Opcode.VConvert, (byte)NpuDType.Float16, tile, 4, cBuf, tile * 2,
                    (uint)(NpuTarget.AccumulatorBase + accBase * 128), 4 * 128, imm: Instruction.BitsOf(1f), aux: (byte)NpuDType.Float32)
                .WithWait(SemAccFull, (uint)(t + 1)).WithSignal(SemConverted));
            for (int q = 0; q < 4; q++)
            {
                var st = Store(2, Region.Output, ((long)(mi * tile + q * 32) * size + nj * tile) * 2, size * 2, cBuf + (uint)(q * 32 * tile * 2), tile * 2, 32, tile * 2)
                    .WithSignal(SemStored);
                p.Add(q == 0 ? st.WithWait(SemConverted, (uint)(t + 1)) : st);
            }
        }

        return p.BuildLoaded();
    }

    /// <summary>
    /// The naive 512^3 fp16 GEMM of the spec's table: 32 x 32 output tiles, and for every k step a 32 x 32 tile of A
    /// and of B loaded from DRAM (4 KiB for 32 K MACs: 1 MAC per byte, far below the ridge of 32). Pipelined as well
    /// as it can be (rings of 8 tiles, loads 4 steps ahead, double-buffered accumulators and output), it is bound by
    /// the DRAM port: about 540k cycles (A and B 8 MiB each, C 0.5 MiB), MXU utilization about 25%.
    /// 17k instructions: a test of simulation speed too.
    /// </summary>
    public static NpuProgram NaiveGemm512(byte[] b)
    {
        const int size = 512, t32 = 32, steps = size / t32, tilesPerRow = size / t32, slots = 8, lookahead = 4;
        const uint aRing = 0x00000, bRing = 0x10000, cBuf = 0x20000;
        const int SemAF = 0, SemAE = 1, SemBF = 2, SemBE = 3, SemCvt = 4, SemCE = 5;
        var p = new SimProgramBuilder { InputBytes = size * size * 2, OutputBytes = size * size * 2, Constants = b };
        int tiles = tilesPerRow * tilesPerRow, total = tiles * steps;

        void Loads(int g)
        {
            int t = g / steps, kb = g % steps, mi = t / tilesPerRow, nj = t % tilesPerRow;
            var a = Load(0, Region.Input, ((long)mi * t32 * size + kb * t32) * 2, size * 2, aRing + (uint)(g % slots * 2048), 64, t32, 64).WithSignal(SemAF);
            var w = Load(1, Region.Const, ((long)kb * t32 * size + nj * t32) * 2, size * 2, bRing + (uint)(g % slots * 2048), 64, t32, 64).WithSignal(SemBF);
            p.Add(g >= slots ? a.WithWait(SemAE, (uint)(g - slots + 1)) : a);
            p.Add(g >= slots ? w.WithWait(SemBE, (uint)(g - slots + 1)) : w);
        }

        for (int g = 0; g < lookahead; g++) Loads(g);
        for (int t = 0; t < tiles; t++)
        {
            int mi = t / tilesPerRow, nj = t % tilesPerRow;
            for (int kb = 0; kb < steps; kb++)
            {
                int g = t * steps + kb;
                if (g + lookahead < total) Loads(g + lookahead);
                if (kb == 0 && t >= 2) p.Add(Instruction.QueuedWait(Unit.Mxu, SemCvt, (uint)(t - 1)));
                p.Add(Instruction.LoadWeights(NpuDType.Float16, bRing + (uint)(g % slots * 2048), 64, 32, 32).WithWait(SemBF, (uint)(g + 1)).WithSignal(SemBE));
                p.Add(Instruction.Matmul(NpuDType.Float16, aRing + (uint)(g % slots * 2048), 64, t32, 32, t % 2 * t32, 1, accumulate: kb > 0, swapWeights: true)
                    .WithWait(SemAF, (uint)(g + 1)).WithSignal(SemAE));
            }

            if (t >= 2) p.Add(Instruction.QueuedWait(Unit.Vpu, SemCE, (uint)(t - 1)));
            uint c = cBuf + (uint)(t % 2 * 2048);
            p.Add(Instruction.Vector(Opcode.VConvert, (byte)NpuDType.Float16, t32, 1, c, 64, (uint)(NpuTarget.AccumulatorBase + t % 2 * t32 * 128), 128,
                    imm: Instruction.BitsOf(1f), aux: (byte)NpuDType.Float32)
                .WithWait(SemAE, (uint)(steps * (t + 1))).WithSignal(SemCvt));
            p.Add(Store(2, Region.Output, ((long)mi * t32 * size + nj * t32) * 2, size * 2, c, 64, t32, 64).WithWait(SemCvt, (uint)(t + 1)).WithSignal(SemCE));
        }

        return p.BuildLoaded();
    }

    /// <summary>The documented fp16 semantics, emulated: per 32-wide k block, products exact in fp32 summed in k order
    /// from 0, the block sum added to the running fp32 accumulator; the result rounded to fp16.</summary>
    public static ushort[] EmulateFp16Gemm(ushort[] a, ushort[] b, int m, int k, int n)
    {
        var af = Array.ConvertAll(a, SimCheck.FromHalfBits);
        var bf = Array.ConvertAll(b, SimCheck.FromHalfBits);
        var c = new ushort[m * n];
        var acc = new float[n];
        var s = new float[n];
        for (int i = 0; i < m; i++)
        {
            for (int k0 = 0; k0 < k; k0 += 32)
            {
                Array.Clear(s);
                for (int kk = k0; kk < Math.Min(k, k0 + 32); kk++)
                {
                    float x = af[i * k + kk];
                    for (int j = 0; j < n; j++) s[j] += x * bf[kk * n + j];
                }

                for (int j = 0; j < n; j++) acc[j] = k0 == 0 ? s[j] : acc[j] + s[j];
            }

            for (int j = 0; j < n; j++) c[i * n + j] = SimCheck.HalfBits(acc[j]);
        }

        return c;
    }
}
