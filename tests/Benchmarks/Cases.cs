using Aot.Dsl;
using Benchmarks.Models;

namespace Benchmarks;

/// <summary>Runs one compiled model: spans over pre-allocated arrays in, nothing allocated.</summary>
internal delegate void SpanRun(ReadOnlySpan<float> input, Span<float> output);

/// <summary>Our compiled model behind a uniform face (each generated Compiled class is its own type).</summary>
internal sealed class OursRunner(SpanRun run, int threads, IDisposable owner) : IDisposable
{
    public SpanRun Run { get; } = run;

    /// <summary>Threads the compiled instance really uses (its <c>Threads</c> property).</summary>
    public int Threads { get; } = threads;

    public void Dispose() => owner.Dispose();
}

/// <summary>
/// One benchmarked model: the deterministic input, the ONNX export (built from the same weight tensors as the DSL
/// model) and a factory for our compiled instance at a given thread count. FLOPs are counted analytically
/// (2 per multiply-add of matrix products and convolutions; elementwise work, softmax, norms and pooling ignored).
/// </summary>
internal sealed class BenchCase
{
    public required string Name { get; init; }
    public required double Flops { get; init; }

    /// <summary>Compulsory DRAM traffic per run for memory-bound models (STREAM convention: each array read or
    /// written once, no write-allocate); 0 for compute-bound ones.</summary>
    public double Bytes { get; init; }

    /// <summary>Bytes of weights each run reads, for a batch-1 model whose weights exceed L2, so they stream in from L3
    /// every run: the benchmark then measures the fastest read of that many bytes (<see cref="Machine.MeasureRead"/>)
    /// and reports the time it takes as the model's floor; 0 when not reported.</summary>
    public double WeightBytes { get; init; }

    public required float[] Input { get; init; }
    public required int[] InputShape { get; init; }
    public required int[] OutputShape { get; init; }
    public required Func<byte[]> Onnx { get; init; }
    public required Func<int, OursRunner> CreateOurs { get; init; }

    /// <summary>ORT's inputs when they are not just <see cref="Input"/> (several inputs, Int64 ones); null: Input.</summary>
    public IReadOnlyList<OrtFeed>? OrtFeeds { get; init; }

    /// <summary>The ONNX output to compute, for a model with several; null: the only one.</summary>
    public string? OrtOutput { get; init; }

    public int OutputLength => OutputShape.Aggregate(1, (p, d) => p * d);
}

/// <summary>The models of the benchmark with their weights. Seeds are fixed per tensor; scales follow PyTorch's default
/// initialization (uniform in +-1/sqrt(fan_in)), so activations stay O(1) through every layer.</summary>
internal static class Cases
{
    /// <summary>The cases in run order; a case's weights are built only when it runs.</summary>
    public static readonly (string Name, Func<BenchCase> Create)[] All =
    {
        ("gemm512", Gemm512Case),
        ("gemm1024", Gemm1024Case),
        ("mlp_b1", () => MlpCase(1)),
        ("mlp_b64", () => MlpCase(64)),
        ("lenet5", LeNetCase),
        ("small_cnn", SmallCnnCase),
        ("transformer_block", TransformerCase),
        ("elementwise_chain", ElementwiseCase),
#if AOT_PUBLISHED_MODELS
        ("resnet18", PublishedCases.ResNet18),
        ("minilm_l6_s128", PublishedCases.MiniLm),
        ("melspectrogram", PublishedCases.MelSpectrogram),
#endif
    };

    private static Tensor Uniform(int seed, float bound, params int[] shape) => Tensor.Random(seed, -bound, bound, shape);

    /// <summary>A linear/conv weight [out, ...fan_in dims] and its bias [out], both in +-1/sqrt(fan_in).</summary>
    private static (Tensor W, Tensor B) Layer(int seed, params int[] shape)
    {
        int fanIn = shape.Skip(1).Aggregate(1, (p, d) => p * d);
        float bound = 1f / MathF.Sqrt(fanIn);
        return (Uniform(seed, bound, shape), Uniform(seed + 1, bound, shape[0]));
    }

    private static OursRunner Wrap(SpanRun run, int threads, IDisposable owner) => new(run, threads, owner);

    private static BenchCase Gemm512Case()
    {
        const int n = Gemm512.M;
        var model = new Gemm512 { B = Uniform(101, 1f / MathF.Sqrt(n), n, n) };
        var a = Uniform(100, 1f, n, n);
        return new BenchCase
        {
            Name = "gemm512",
            Flops = 2.0 * n * n * n,
            Input = a.Floats.ToArray(),
            InputShape = [n, n],
            OutputShape = [n, n],
            Onnx = () => OnnxExport.MatMul(model.B!, n, n, n),
            CreateOurs = t => { var c = model.Compile(t); return Wrap(c.Run, c.Threads, c); },
        };
    }

    private static BenchCase Gemm1024Case()
    {
        const int n = Gemm1024.M;
        var model = new Gemm1024 { B = Uniform(111, 1f / MathF.Sqrt(n), n, n) };
        var a = Uniform(110, 1f, n, n);
        return new BenchCase
        {
            Name = "gemm1024",
            Flops = 2.0 * n * n * n,
            Input = a.Floats.ToArray(),
            InputShape = [n, n],
            OutputShape = [n, n],
            Onnx = () => OnnxExport.MatMul(model.B!, n, n, n),
            CreateOurs = t => { var c = model.Compile(t); return Wrap(c.Run, c.Threads, c); },
        };
    }

    /// <summary>The MLP's weights (PyTorch layout, [out, in]), shared by mlp_b1, mlp_b64 and the startup measurement.</summary>
    public static (Tensor W1, Tensor B1, Tensor W2, Tensor B2, Tensor W3, Tensor B3) MlpWeights()
    {
        var (w1, b1) = Layer(201, 512, 784);
        var (w2, b2) = Layer(203, 512, 512);
        var (w3, b3) = Layer(205, 10, 512);
        return (w1, b1, w2, b2, w3, b3);
    }

    private static BenchCase MlpCase(int batch)
    {
        var (w1, b1, w2, b2, w3, b3) = MlpWeights();
        var x = Tensor.Random(200, 0f, 1f, batch, 784);
        Func<int, OursRunner> create = batch switch
        {
            1 => t => { var c = new Mlp1 { W1 = w1, B1 = b1, W2 = w2, B2 = b2, W3 = w3, B3 = b3 }.Compile(t); return Wrap(c.Run, c.Threads, c); },
            64 => t => { var c = new Mlp64 { W1 = w1, B1 = b1, W2 = w2, B2 = b2, W3 = w3, B3 = b3 }.Compile(t); return Wrap(c.Run, c.Threads, c); },
            _ => throw new ArgumentOutOfRangeException(nameof(batch)),
        };
        return new BenchCase
        {
            Name = batch == 1 ? "mlp_b1" : "mlp_b64",
            Flops = 2.0 * batch * (784 * 512 + 512 * 512 + 512 * 10),
            WeightBytes = batch == 1 ? sizeof(float) * (784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10) : 0,
            Input = x.Floats.ToArray(),
            InputShape = [batch, 784],
            OutputShape = [batch, 10],
            Onnx = () => OnnxExport.Mlp(batch, w1, b1, w2, b2, w3, b3),
            CreateOurs = create,
        };
    }

    private static BenchCase LeNetCase()
    {
        var (c1w, c1b) = Layer(301, 6, 1, 5, 5);
        var (c2w, c2b) = Layer(303, 16, 6, 5, 5);
        var (f1w, f1b) = Layer(305, 120, 400);
        var (f2w, f2b) = Layer(307, 84, 120);
        var (f3w, f3b) = Layer(309, 10, 84);
        var model = new LeNet5 { C1W = c1w, C1B = c1b, C2W = c2w, C2B = c2b, F1W = f1w, F1B = f1b, F2W = f2w, F2B = f2b, F3W = f3w, F3B = f3b };
        var x = Tensor.Random(300, 0f, 1f, 1, 1, 28, 28);
        // MACs: conv1 6*28*28*(1*25), conv2 16*10*10*(6*25), fc 400*120 + 120*84 + 84*10.
        double macs = 6 * 28 * 28 * 25 + 16 * 10 * 10 * 150 + 400 * 120 + 120 * 84 + 84 * 10;
        return new BenchCase
        {
            Name = "lenet5",
            Flops = 2 * macs,
            Input = x.Floats.ToArray(),
            InputShape = [1, 1, 28, 28],
            OutputShape = [1, 10],
            Onnx = () => OnnxExport.LeNet(model),
            CreateOurs = t => { var c = model.Compile(t); return Wrap(c.Run, c.Threads, c); },
        };
    }

    private static BenchCase SmallCnnCase()
    {
        var (c1w, c1b) = Layer(401, 32, 3, 3, 3);
        var (c2w, c2b) = Layer(403, 32, 32, 3, 3);
        var (c3w, c3b) = Layer(405, 64, 32, 3, 3);
        var (c4w, c4b) = Layer(407, 64, 64, 3, 3);
        var (fw, fb) = Layer(409, 10, 64);
        var model = new SmallCnn { C1W = c1w, C1B = c1b, C2W = c2w, C2B = c2b, C3W = c3w, C3B = c3b, C4W = c4w, C4B = c4b, FcW = fw, FcB = fb };
        var x = Tensor.Random(400, 0f, 1f, 1, 3, 64, 64);
        // MACs: 64x64 maps for conv1 (3->32) and conv2 (32->32), 32x32 for conv3 (32->64) and conv4 (64->64), fc 64*10.
        double macs = 64.0 * 64 * 32 * 3 * 9 + 64.0 * 64 * 32 * 32 * 9 + 32.0 * 32 * 64 * 32 * 9 + 32.0 * 32 * 64 * 64 * 9 + 64 * 10;
        return new BenchCase
        {
            Name = "small_cnn",
            Flops = 2 * macs,
            Input = x.Floats.ToArray(),
            InputShape = [1, 3, 64, 64],
            OutputShape = [1, 10],
            Onnx = () => OnnxExport.SmallCnn(model),
            CreateOurs = t => { var c = model.Compile(t); return Wrap(c.Run, c.Threads, c); },
        };
    }

    private static BenchCase TransformerCase()
    {
        const int s = TransformerBlock.Seq, d = TransformerBlock.DModel, f = TransformerBlock.Ffn, h = TransformerBlock.Heads, dh = TransformerBlock.HeadDim;
        var (wq, bq) = Layer(503, d, d);
        var (wk, bk) = Layer(505, d, d);
        var (wv, bv) = Layer(507, d, d);
        var (wo, bo) = Layer(509, d, d);
        var (w1, b1) = Layer(511, f, d);
        var (w2, b2) = Layer(513, d, f);
        var model = new TransformerBlock
        {
            Ln1W = Tensor.Random(501, 0.5f, 1.5f, d), Ln1B = Uniform(502, 0.1f, d),
            WQ = wq, BQ = bq, WK = wk, BK = bk, WV = wv, BV = bv, WO = wo, BO = bo,
            Ln2W = Tensor.Random(515, 0.5f, 1.5f, d), Ln2B = Uniform(516, 0.1f, d),
            W1 = w1, B1 = b1, W2 = w2, B2 = b2,
        };
        var x = Uniform(500, 1f, 1, s, d);
        // Projections: Q, K, V, O (d x d each) and the FFN (d x f twice) per token; attention: QK^T and PV per head.
        double flops = 2.0 * s * (4.0 * d * d + 2.0 * d * f) + 2 * (2.0 * h * s * s * dh);
        return new BenchCase
        {
            Name = "transformer_block",
            Flops = flops,
            Input = x.Floats.ToArray(),
            InputShape = [1, s, d],
            OutputShape = [1, s, d],
            Onnx = () => OnnxExport.Transformer(model),
            CreateOurs = t => { var c = model.Compile(t); return Wrap(c.Run, c.Threads, c); },
        };
    }

    private static BenchCase ElementwiseCase()
    {
        const int r = ElementwiseChain.Rows, c = ElementwiseChain.Cols;
        var model = new ElementwiseChain { A = Uniform(601, 1f, c), B = Uniform(602, 1f, c), C = Uniform(603, 1f, c) };
        var x = Uniform(600, 2f, r, c);
        return new BenchCase
        {
            Name = "elementwise_chain",
            Flops = 0,
            Bytes = 2.0 * r * c * sizeof(float),   // read x, write y (a, b, c are [1024] vectors that stay in cache)
            Input = x.Floats.ToArray(),
            InputShape = [r, c],
            OutputShape = [r, c],
            Onnx = () => OnnxExport.ElementwiseChain(model),
            CreateOurs = t => { var cm = model.Compile(t); return Wrap(cm.Run, cm.Threads, cm); },
        };
    }
}
