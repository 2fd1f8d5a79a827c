using Aot.Dsl;
using static Aot.Dsl.Ops;

// The benchmarked models, written in the DSL. Each one is exported to ONNX by OnnxExport.cs with the very same
// weight tensors (Cases.cs creates them with Tensor.Random and fixed seeds), so both engines compute the same function.
// Linear weights use PyTorch's [out, in] layout (ONNX: Gemm transB=1, or MatMul with the transposed initializer).

namespace Benchmarks.Models;

/// <summary>C = A @ B, 512 x 512 x 512: A is the input, B a weight. 2*M*N*K = 268.4 MFLOP.</summary>
[Model]
public partial class Gemm512
{
    public const int M = 512, K = 512, N = 512;

    [Weight(K, N)] public Tensor? B { get; set; }

    public Tensor Forward([Input(M, K)] Tensor a) => MatMul(a, B!);
}

/// <summary>C = A @ B, 1024 x 1024 x 1024. 2*M*N*K = 2.147 GFLOP.</summary>
[Model]
public partial class Gemm1024
{
    public const int M = 1024, K = 1024, N = 1024;

    [Weight(K, N)] public Tensor? B { get; set; }

    public Tensor Forward([Input(M, K)] Tensor a) => MatMul(a, B!);
}

/// <summary>MLP 784-512-512-10, ReLU, softmax over the classes, batch 1.</summary>
[Model]
public partial class Mlp1
{
    public const int Batch = 1;

    [Weight(512, 784)] public Tensor? W1 { get; set; }
    [Weight(512)] public Tensor? B1 { get; set; }
    [Weight(512, 512)] public Tensor? W2 { get; set; }
    [Weight(512)] public Tensor? B2 { get; set; }
    [Weight(10, 512)] public Tensor? W3 { get; set; }
    [Weight(10)] public Tensor? B3 { get; set; }

    public Tensor Forward([Input(Batch, 784)] Tensor x)
    {
        var h = Relu(Linear(x, W1!, B1));
        h = Relu(Linear(h, W2!, B2));
        return Softmax(Linear(h, W3!, B3), axis: -1);
    }
}

/// <summary>The same MLP at batch 64.</summary>
[Model]
public partial class Mlp64
{
    public const int Batch = 64;

    [Weight(512, 784)] public Tensor? W1 { get; set; }
    [Weight(512)] public Tensor? B1 { get; set; }
    [Weight(512, 512)] public Tensor? W2 { get; set; }
    [Weight(512)] public Tensor? B2 { get; set; }
    [Weight(10, 512)] public Tensor? W3 { get; set; }
    [Weight(10)] public Tensor? B3 { get; set; }

    public Tensor Forward([Input(Batch, 784)] Tensor x)
    {
        var h = Relu(Linear(x, W1!, B1));
        h = Relu(Linear(h, W2!, B2));
        return Softmax(Linear(h, W3!, B3), axis: -1);
    }
}

/// <summary>LeNet-5 on 1x1x28x28: conv5x5(6, pad 2), relu, maxpool 2, conv5x5(16), relu, maxpool 2, flatten(400),
/// fc 120, relu, fc 84, relu, fc 10 (logits).</summary>
[Model]
public partial class LeNet5
{
    [Weight(6, 1, 5, 5)] public Tensor? C1W { get; set; }
    [Weight(6)] public Tensor? C1B { get; set; }
    [Weight(16, 6, 5, 5)] public Tensor? C2W { get; set; }
    [Weight(16)] public Tensor? C2B { get; set; }
    [Weight(120, 400)] public Tensor? F1W { get; set; }
    [Weight(120)] public Tensor? F1B { get; set; }
    [Weight(84, 120)] public Tensor? F2W { get; set; }
    [Weight(84)] public Tensor? F2B { get; set; }
    [Weight(10, 84)] public Tensor? F3W { get; set; }
    [Weight(10)] public Tensor? F3B { get; set; }

    public Tensor Forward([Input(1, 1, 28, 28)] Tensor x)
    {
        var h = MaxPool2d(Relu(Conv2d(x, C1W!, C1B, padding: 2)), 2);   // [1, 6, 14, 14]
        h = MaxPool2d(Relu(Conv2d(h, C2W!, C2B)), 2);                   // [1, 16, 5, 5]
        var f = Reshape(h, 1, 400);
        f = Relu(Linear(f, F1W!, F1B));
        f = Relu(Linear(f, F2W!, F2B));
        return Linear(f, F3W!, F3B);
    }
}

/// <summary>A small CNN on 1x3x64x64: conv3x3 pad 1 32, relu, conv 32, relu, maxpool 2, conv 64, relu, conv 64, relu,
/// maxpool 2, global average pool, fc 10 (logits).</summary>
[Model]
public partial class SmallCnn
{
    [Weight(32, 3, 3, 3)] public Tensor? C1W { get; set; }
    [Weight(32)] public Tensor? C1B { get; set; }
    [Weight(32, 32, 3, 3)] public Tensor? C2W { get; set; }
    [Weight(32)] public Tensor? C2B { get; set; }
    [Weight(64, 32, 3, 3)] public Tensor? C3W { get; set; }
    [Weight(64)] public Tensor? C3B { get; set; }
    [Weight(64, 64, 3, 3)] public Tensor? C4W { get; set; }
    [Weight(64)] public Tensor? C4B { get; set; }
    [Weight(10, 64)] public Tensor? FcW { get; set; }
    [Weight(10)] public Tensor? FcB { get; set; }

    public Tensor Forward([Input(1, 3, 64, 64)] Tensor x)
    {
        var h = Relu(Conv2d(x, C1W!, C1B, padding: 1));
        h = MaxPool2d(Relu(Conv2d(h, C2W!, C2B, padding: 1)), 2);   // [1, 32, 32, 32]
        h = Relu(Conv2d(h, C3W!, C3B, padding: 1));
        h = MaxPool2d(Relu(Conv2d(h, C4W!, C4B, padding: 1)), 2);   // [1, 64, 16, 16]
        var g = Reshape(GlobalAvgPool(h), 1, 64);
        return Linear(g, FcW!, FcB);
    }
}

/// <summary>A pre-LayerNorm transformer encoder block: batch 1, sequence 128, d_model 256, 4 heads of 64, FFN 1024 with
/// GELU (erf form), residuals around attention and the FFN.</summary>
[Model]
public partial class TransformerBlock
{
    public const int Seq = 128, DModel = 256, Heads = 4, HeadDim = 64, Ffn = 1024;

    [Weight(DModel)] public Tensor? Ln1W { get; set; }
    [Weight(DModel)] public Tensor? Ln1B { get; set; }
    [Weight(DModel, DModel)] public Tensor? WQ { get; set; }
    [Weight(DModel)] public Tensor? BQ { get; set; }
    [Weight(DModel, DModel)] public Tensor? WK { get; set; }
    [Weight(DModel)] public Tensor? BK { get; set; }
    [Weight(DModel, DModel)] public Tensor? WV { get; set; }
    [Weight(DModel)] public Tensor? BV { get; set; }
    [Weight(DModel, DModel)] public Tensor? WO { get; set; }
    [Weight(DModel)] public Tensor? BO { get; set; }
    [Weight(DModel)] public Tensor? Ln2W { get; set; }
    [Weight(DModel)] public Tensor? Ln2B { get; set; }
    [Weight(Ffn, DModel)] public Tensor? W1 { get; set; }
    [Weight(Ffn)] public Tensor? B1 { get; set; }
    [Weight(DModel, Ffn)] public Tensor? W2 { get; set; }
    [Weight(DModel)] public Tensor? B2 { get; set; }

    public Tensor Forward([Input(1, Seq, DModel)] Tensor x)
    {
        var h = LayerNorm(x, Ln1W!, Ln1B!);
        var q = Transpose(Reshape(Linear(h, WQ!, BQ), 1, Seq, Heads, HeadDim), 0, 2, 1, 3);   // [1, H, S, Dh]
        var k = Transpose(Reshape(Linear(h, WK!, BK), 1, Seq, Heads, HeadDim), 0, 2, 3, 1);   // [1, H, Dh, S]
        var v = Transpose(Reshape(Linear(h, WV!, BV), 1, Seq, Heads, HeadDim), 0, 2, 1, 3);   // [1, H, S, Dh]
        var scores = MatMul(q, k) * (1f / MathF.Sqrt(HeadDim));
        var context = MatMul(Softmax(scores, axis: -1), v);
        var merged = Reshape(Transpose(context, 0, 2, 1, 3), 1, Seq, DModel);
        var x1 = x + Linear(merged, WO!, BO);
        var f = Linear(Gelu(Linear(LayerNorm(x1, Ln2W!, Ln2B!), W1!, B1)), W2!, B2);
        return x1 + f;
    }
}

/// <summary>y = relu(x * a + b) * sigmoid(x) + c over x [4096, 1024]; a, b and c are [1024] weights broadcast over the
/// rows (they stay in L1/L2), so the compulsory DRAM traffic is x read once and y written once: 2 * 16 MiB per run.</summary>
[Model]
public partial class ElementwiseChain
{
    public const int Rows = 4096, Cols = 1024;

    [Weight(Cols)] public Tensor? A { get; set; }
    [Weight(Cols)] public Tensor? B { get; set; }
    [Weight(Cols)] public Tensor? C { get; set; }

    public Tensor Forward([Input(Rows, Cols)] Tensor x) => Relu(x * A! + B!) * Sigmoid(x) + C!;
}
