using Aot.Dsl;
using GpuBenchmarks.Models;
using ILGPU.Runtime;

namespace GpuBenchmarks;

/// <summary>Builds the three workloads at either size: deterministic weights and inputs (Tensor.Random with fixed
/// seeds), the GPU compilation, and the correctness checks (CPU-compiled model and eager reference on the small
/// sizes; host double-precision samples, a full host recomputation or a batch-1 CPU run on the large ones).</summary>
internal static class Workloads
{
    public static IEnumerable<Func<Workload>> All(bool small, Options options)
    {
        if (options.Runs("gemm")) yield return () => small ? GemmSmallWorkload() : GemmLargeWorkload();
        if (options.Runs("elementwise")) yield return () => small ? ChainSmallWorkload() : ChainLargeWorkload();
        if (options.Runs("transformer")) yield return () => small ? BlockSmallWorkload() : BlockLargeWorkload();
    }

    // ---- GEMM --------------------------------------------------------------------------------------------

    private static Workload GemmSmallWorkload()
    {
        var model = new GemmSmall { B = Tensor.Random(102, -1f, 1f, GemmSmall.K, GemmSmall.N) };
        var a = Tensor.Random(101, -1f, 1f, GemmSmall.M, GemmSmall.K);
        var w = new Workload
        {
            Name = "gemm", Group = "gemm",
            Description = $"C = A @ B fp32, {GemmSmall.M}x{GemmSmall.K} @ {GemmSmall.K}x{GemmSmall.N}",
            Flops = 2L * GemmSmall.M * GemmSmall.N * GemmSmall.K,
            Input = a.Floats.ToArray(), OutputLength = GemmSmall.M * GemmSmall.N,
            CompileForGpu = acc =>
            {
                var g = model.CompileForGpu(acc);
                return new GpuModel(g, (x, y) => g.Run(x, y), (x, y) => g.Run(x, y), g.Synchronize, (x, y) => g.ProfileLaunches(x, y), g.GetType());
            },
        };
        AddSmallChecks(w, model.Compile().Run, input => model.Forward(Tensor.FromArray(input, GemmSmall.M, GemmSmall.K)), atol: 1e-4, rtol: 1e-4);
        return w;
    }

    private static Workload GemmLargeWorkload()
    {
        const int M = Gemm4096.M, K = Gemm4096.K, N = Gemm4096.N;
        var b = Tensor.Random(202, -1f, 1f, K, N);
        var model = new Gemm4096 { B = b };
        var a = Tensor.Random(201, -1f, 1f, M, K);
        var w = new Workload
        {
            Name = "gemm", Group = "gemm",
            Description = $"C = A @ B fp32, {M}x{K} @ {K}x{N}",
            Flops = 2L * M * N * K,
            Input = a.Floats.ToArray(), OutputLength = M * N,
            CompileForGpu = acc =>
            {
                var g = model.CompileForGpu(acc);
                return new GpuModel(g, (x, y) => g.Run(x, y), (x, y) => g.Run(x, y), g.Synchronize, (x, y) => g.ProfileLaunches(x, y), g.GetType());
            },
        };

        // 64 sampled elements (corners, edges and pseudo-random ones), each a 4096-term dot product in double.
        // fp32 accumulation error grows ~ sqrt(K) * eps * sum|a*b|; the tolerance is 1e-4 * sum|a*b|, loose for any
        // summation order yet far below the O(1) error of a wrong index or a missed tile.
        float[] bData = b.Floats.ToArray();
        w.Checks.Add((input, output) =>
        {
            var rng = new Random(7);
            var points = new List<(int I, int J)> { (0, 0), (0, N - 1), (M - 1, 0), (M - 1, N - 1), (M / 2, N / 2), (127, 128), (128, 127), (M - 65, 63) };
            while (points.Count < 64) points.Add((rng.Next(M), rng.Next(N)));
            double maxAbs = 0, maxRel = 0;
            long worst = -1;
            bool ok = true;
            foreach (var (i, j) in points)
            {
                double sum = 0, sumAbs = 0;
                for (int k = 0; k < K; k++)
                {
                    double p = (double)input[(long)i * K + k] * bData[(long)k * N + j];
                    sum += p;
                    sumAbs += Math.Abs(p);
                }

                double got = output[(long)i * N + j];
                double diff = Math.Abs(got - sum);
                double tolerance = 1e-4 * sumAbs + 1e-6;
                if (!(diff <= tolerance)) ok = false;
                if (!(diff <= maxAbs))
                {
                    maxAbs = diff;
                    worst = (long)i * N + j;
                }

                maxRel = Math.Max(maxRel, diff / Math.Max(sumAbs, 1e-6));
            }

            return new CheckResult("vs host double, 64 sampled elements", points.Count, maxAbs, maxRel, worst, 0, 1e-4, ok,
                "rtol is relative to sum|a*b| of each dot product");
        });
        return w;
    }

    // ---- Elementwise chain ---------------------------------------------------------------------------------

    private static Workload ChainSmallWorkload()
    {
        const int R = ElementwiseChainSmall.Rows, C = ElementwiseChainSmall.Cols;
        var model = new ElementwiseChainSmall
        {
            A = Tensor.Random(302, -1f, 1f, C), B = Tensor.Random(303, -1f, 1f, C), C = Tensor.Random(304, -1f, 1f, C),
        };
        var x = Tensor.Random(301, -4f, 4f, R, C);
        var w = new Workload
        {
            Name = "elementwise", Group = "elementwise",
            Description = $"y = relu(x*a+b)*sigmoid(x)+c, x[{R},{C}], a,b,c[{C}]",
            Flops = 0,
            Bytes = ChainBytes(R, C),
            BytesNote = "x read once + y written once + a, b, c read once",
            Input = x.Floats.ToArray(), OutputLength = R * C,
            CompileForGpu = acc =>
            {
                var g = model.CompileForGpu(acc);
                return new GpuModel(g, (x, y) => g.Run(x, y), (x, y) => g.Run(x, y), g.Synchronize, (x, y) => g.ProfileLaunches(x, y), g.GetType());
            },
        };
        AddSmallChecks(w, model.Compile().Run, input => model.Forward(Tensor.FromArray(input, R, C)), atol: 1e-5, rtol: 1e-4);
        return w;
    }

    private static Workload ChainLargeWorkload()
    {
        const int R = ElementwiseChain.Rows, C = ElementwiseChain.Cols;
        var a = Tensor.Random(402, -1f, 1f, C);
        var b = Tensor.Random(403, -1f, 1f, C);
        var c = Tensor.Random(404, -1f, 1f, C);
        var model = new ElementwiseChain { A = a, B = b, C = c };
        var x = Tensor.Random(401, -4f, 4f, R, C);
        var w = new Workload
        {
            Name = "elementwise", Group = "elementwise",
            Description = $"y = relu(x*a+b)*sigmoid(x)+c, x[{R},{C}] (64M floats), a,b,c[{C}]",
            Bytes = ChainBytes(R, C),
            BytesNote = "x read once + y written once (2 x 256 MiB) + a, b, c read once (3 x 4 KiB)",
            Input = x.Floats.ToArray(), OutputLength = R * C,
            CompileForGpu = acc =>
            {
                var g = model.CompileForGpu(acc);
                return new GpuModel(g, (x, y) => g.Run(x, y), (x, y) => g.Run(x, y), g.Synchronize, (x, y) => g.ProfileLaunches(x, y), g.GetType());
            },
        };

        // Every element, recomputed on the host in double.
        float[] av = a.Floats.ToArray(), bv = b.Floats.ToArray(), cv = c.Floats.ToArray();
        w.Checks.Add((input, output) =>
        {
            var expected = new float[input.Length];
            Parallel.For(0, R, r =>
            {
                for (int j = 0; j < C; j++)
                {
                    long i = (long)r * C + j;
                    double xi = input[i];
                    double t = Math.Max(xi * av[j] + bv[j], 0.0);
                    expected[i] = (float)(t * (1.0 / (1.0 + Math.Exp(-xi))) + cv[j]);
                }
            });
            return Compare.Arrays("vs host double, all elements", output, expected, atol: 1e-5, rtol: 1e-4);
        });
        return w;
    }

    private static long ChainBytes(int rows, int cols) => 4L * (2L * rows * cols + 3L * cols);

    // ---- Transformer block ---------------------------------------------------------------------------------

    private static Workload BlockSmallWorkload()
    {
        var model = new TransformerBlockSmall();
        InitBlock(seed: 500, TransformerBlockSmall.DModel, TransformerBlockSmall.Ffn, model);
        var x = Tensor.Random(599, -1f, 1f, TransformerBlockSmall.Batch, TransformerBlockSmall.Seq, TransformerBlockSmall.DModel);
        var w = new Workload
        {
            Name = "transformer_block", Group = "transformer",
            Description = BlockDescription(TransformerBlockSmall.Batch, TransformerBlockSmall.Seq, TransformerBlockSmall.DModel, TransformerBlockSmall.Heads, TransformerBlockSmall.Ffn),
            Flops = BlockFlops(TransformerBlockSmall.Batch, TransformerBlockSmall.Seq, TransformerBlockSmall.DModel, TransformerBlockSmall.Heads, TransformerBlockSmall.Ffn),
            Input = x.Floats.ToArray(), OutputLength = x.Length,
            CompileForGpu = acc =>
            {
                var g = model.CompileForGpu(acc);
                return new GpuModel(g, (x, y) => g.Run(x, y), (x, y) => g.Run(x, y), g.Synchronize, (x, y) => g.ProfileLaunches(x, y), g.GetType());
            },
        };
        AddSmallChecks(w, model.Compile().Run,
            input => model.Forward(Tensor.FromArray(input, TransformerBlockSmall.Batch, TransformerBlockSmall.Seq, TransformerBlockSmall.DModel)),
            atol: 1e-4, rtol: 1e-3);
        return w;
    }

    private static Workload BlockLargeWorkload()
    {
        const int Bt = TransformerBlock.Batch, S = TransformerBlock.Seq, D = TransformerBlock.DModel;
        var model = new TransformerBlock();
        InitBlock(seed: 600, D, TransformerBlock.Ffn, model);
        var x = Tensor.Random(699, -1f, 1f, Bt, S, D);
        var w = new Workload
        {
            Name = "transformer_block", Group = "transformer",
            Description = BlockDescription(Bt, S, D, TransformerBlock.Heads, TransformerBlock.Ffn),
            Flops = BlockFlops(Bt, S, D, TransformerBlock.Heads, TransformerBlock.Ffn),
            Input = x.Floats.ToArray(), OutputLength = x.Length,
            CompileForGpu = acc =>
            {
                var g = model.CompileForGpu(acc);
                return new GpuModel(g, (x, y) => g.Run(x, y), (x, y) => g.Run(x, y), g.Synchronize, (x, y) => g.ProfileLaunches(x, y), g.GetType());
            },
        };

        // Batch elements are independent: the batch-1 model with the same weights, compiled for the CPU, gives batch
        // element 0 (512 x 768 outputs through every op at full sequence length and width).
        w.Checks.Add((input, output) =>
        {
            var check = new TransformerBlockCheck();
            CopyBlockWeights(model, check);
            int n = S * D;
            var expected = new float[n];
            check.Compile().Run(input.AsSpan(0, n), expected);
            return Compare.Arrays("vs CPU-compiled batch-1 block on batch element 0", output.AsSpan(0, n), expected, atol: 1e-3, rtol: 1e-3,
                note: $"{n} of {output.Length} elements");
        });
        return w;
    }

    private static void CopyBlockWeights(IBlockWeights from, IBlockWeights to)
    {
        (to.Ln1Weight, to.Ln1Bias, to.Ln2Weight, to.Ln2Bias) = (from.Ln1Weight, from.Ln1Bias, from.Ln2Weight, from.Ln2Bias);
        (to.WQ, to.BQ, to.WK, to.BK, to.WV, to.BV, to.WO, to.BO) = (from.WQ, from.BQ, from.WK, from.BK, from.WV, from.BV, from.WO, from.BO);
        (to.W1, to.B1, to.W2, to.B2) = (from.W1, from.B1, from.W2, from.B2);
    }

    private static string BlockDescription(int batch, int seq, int d, int heads, int ffn) =>
        $"pre-LN encoder block fp32: batch {batch}, seq {seq}, d_model {d}, {heads} heads of {d / heads}, FFN {ffn}, GELU(erf)";

    /// <summary>Matrix-product FLOPs: four d x d projections and the two FFN layers on every token, plus Q K^T and P V.</summary>
    public static long BlockFlops(int batch, int seq, int d, int heads, int ffn)
    {
        long tokens = (long)batch * seq;
        long linear = 2L * tokens * (4L * d * d + 2L * d * ffn);
        long attention = 2L * (2L * batch * heads * seq * seq * (d / heads));
        return linear + attention;
    }

    /// <summary>PyTorch-like initialization (uniform +-1/sqrt(fan_in) for projections and biases, LayerNorm gamma
    /// around 1 and beta around 0) so activations keep a realistic scale through the block.</summary>
    private static void InitBlock(int seed, int d, int ffn, IBlockWeights model)
    {
        float sd = 1f / MathF.Sqrt(d), sf = 1f / MathF.Sqrt(ffn);
        model.Ln1Weight = Tensor.Random(seed + 1, 0.8f, 1.2f, d);
        model.Ln1Bias = Tensor.Random(seed + 2, -0.1f, 0.1f, d);
        model.WQ = Tensor.Random(seed + 3, -sd, sd, d, d);
        model.BQ = Tensor.Random(seed + 4, -sd, sd, d);
        model.WK = Tensor.Random(seed + 5, -sd, sd, d, d);
        model.BK = Tensor.Random(seed + 6, -sd, sd, d);
        model.WV = Tensor.Random(seed + 7, -sd, sd, d, d);
        model.BV = Tensor.Random(seed + 8, -sd, sd, d);
        model.WO = Tensor.Random(seed + 9, -sd, sd, d, d);
        model.BO = Tensor.Random(seed + 10, -sd, sd, d);
        model.Ln2Weight = Tensor.Random(seed + 11, 0.8f, 1.2f, d);
        model.Ln2Bias = Tensor.Random(seed + 12, -0.1f, 0.1f, d);
        model.W1 = Tensor.Random(seed + 13, -sd, sd, ffn, d);
        model.B1 = Tensor.Random(seed + 14, -sd, sd, ffn);
        model.W2 = Tensor.Random(seed + 15, -sf, sf, d, ffn);
        model.B2 = Tensor.Random(seed + 16, -sf, sf, d);
    }

    // ---- Small-size checks -----------------------------------------------------------------------------------

    private delegate void SpanRun(ReadOnlySpan<float> input, Span<float> output);

    private static void AddSmallChecks(Workload w, SpanRun cpuCompiled, Func<float[], Tensor> eager, double atol, double rtol)
    {
        w.Checks.Add((input, output) =>
        {
            var expected = new float[w.OutputLength];
            cpuCompiled(input, expected);
            return Compare.Arrays("vs CPU-compiled model", output, expected, atol, rtol);
        });
        w.Checks.Add((input, output) => Compare.Arrays("vs eager reference (Ops)", output, eager(input).Floats, atol, rtol));
    }
}
