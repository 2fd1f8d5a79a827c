using Aot.Dsl;
using static Aot.Dsl.Ops;

namespace GpuBenchmarks.Models;

// The three classes share one body (a model can only call its own methods, so it is repeated); only the sizes differ.
// PyTorch equivalent (tests/gpu/torch_bench.py, class Block):
//   h = ln1(x); q, k, v = q_proj(h), k_proj(h), v_proj(h)  -> [B, S, H, Dh] -> transpose(1, 2)
//   p = softmax(q @ k.transpose(-2, -1) * (1 / sqrt(Dh)), -1); ctx = (p @ v).transpose(1, 2).reshape(B, S, D)
//   x1 = x + out_proj(ctx); return x1 + fc2(gelu(fc1(ln2(x1))))

/// <summary>A pre-LayerNorm transformer encoder block (BERT-base sized layer): batch 8, sequence 512, d_model 768,
/// 12 heads of 64, FFN 3072 with GELU (erf form), fp32. Matrix products: 2 * 4096 tokens * (4*768*768 + 2*768*3072) + 2 * (2*8*12*512*512*64)
/// = 57.98 + 6.44 = 64.42 GFLOP per run.</summary>
[Model]
public partial class TransformerBlock
{
    public const int Batch = 8, Seq = 512, DModel = 768, Heads = 12, HeadDim = 64, Ffn = 3072;

    [Weight(DModel, Name = "ln1.weight")] public Tensor? Ln1Weight { get; set; }
    [Weight(DModel, Name = "ln1.bias")] public Tensor? Ln1Bias { get; set; }
    [Weight(DModel, DModel, Name = "attn.q_proj.weight")] public Tensor? WQ { get; set; }
    [Weight(DModel, Name = "attn.q_proj.bias")] public Tensor? BQ { get; set; }
    [Weight(DModel, DModel, Name = "attn.k_proj.weight")] public Tensor? WK { get; set; }
    [Weight(DModel, Name = "attn.k_proj.bias")] public Tensor? BK { get; set; }
    [Weight(DModel, DModel, Name = "attn.v_proj.weight")] public Tensor? WV { get; set; }
    [Weight(DModel, Name = "attn.v_proj.bias")] public Tensor? BV { get; set; }
    [Weight(DModel, DModel, Name = "attn.out_proj.weight")] public Tensor? WO { get; set; }
    [Weight(DModel, Name = "attn.out_proj.bias")] public Tensor? BO { get; set; }
    [Weight(DModel, Name = "ln2.weight")] public Tensor? Ln2Weight { get; set; }
    [Weight(DModel, Name = "ln2.bias")] public Tensor? Ln2Bias { get; set; }
    [Weight(Ffn, DModel, Name = "fc1.weight")] public Tensor? W1 { get; set; }
    [Weight(Ffn, Name = "fc1.bias")] public Tensor? B1 { get; set; }
    [Weight(DModel, Ffn, Name = "fc2.weight")] public Tensor? W2 { get; set; }
    [Weight(DModel, Name = "fc2.bias")] public Tensor? B2 { get; set; }

    public Tensor Forward([Input(Batch, Seq, DModel)] Tensor x)
    {
        // Attention: [B, S, D] -> per-head [B, H, S, Dh].
        var h = LayerNorm(x, Ln1Weight!, Ln1Bias!);
        var q = Transpose(Reshape(Linear(h, WQ!, BQ), Batch, Seq, Heads, HeadDim), 0, 2, 1, 3);
        var k = Transpose(Reshape(Linear(h, WK!, BK), Batch, Seq, Heads, HeadDim), 0, 2, 1, 3);
        var v = Transpose(Reshape(Linear(h, WV!, BV), Batch, Seq, Heads, HeadDim), 0, 2, 1, 3);
        var scores = MatMul(q, Transpose(k, 0, 1, 3, 2)) * (1f / MathF.Sqrt(HeadDim));
        var context = MatMul(Softmax(scores, axis: -1), v);
        var merged = Reshape(Transpose(context, 0, 2, 1, 3), Batch, Seq, DModel);
        var x1 = x + Linear(merged, WO!, BO);

        // Feed-forward.
        var f = Linear(Gelu(Linear(LayerNorm(x1, Ln2Weight!, Ln2Bias!), W1!, B1)), W2!, B2);
        return x1 + f;
    }
}

/// <summary>The large block's layer at batch 1 (same sequence and widths): run on the CPU with the large block's weights,
/// it checks batch element 0 of the GPU result (batch elements are independent).</summary>
[Model]
public partial class TransformerBlockCheck
{
    public const int Batch = 1, Seq = 512, DModel = 768, Heads = 12, HeadDim = 64, Ffn = 3072;

    [Weight(DModel, Name = "ln1.weight")] public Tensor? Ln1Weight { get; set; }
    [Weight(DModel, Name = "ln1.bias")] public Tensor? Ln1Bias { get; set; }
    [Weight(DModel, DModel, Name = "attn.q_proj.weight")] public Tensor? WQ { get; set; }
    [Weight(DModel, Name = "attn.q_proj.bias")] public Tensor? BQ { get; set; }
    [Weight(DModel, DModel, Name = "attn.k_proj.weight")] public Tensor? WK { get; set; }
    [Weight(DModel, Name = "attn.k_proj.bias")] public Tensor? BK { get; set; }
    [Weight(DModel, DModel, Name = "attn.v_proj.weight")] public Tensor? WV { get; set; }
    [Weight(DModel, Name = "attn.v_proj.bias")] public Tensor? BV { get; set; }
    [Weight(DModel, DModel, Name = "attn.out_proj.weight")] public Tensor? WO { get; set; }
    [Weight(DModel, Name = "attn.out_proj.bias")] public Tensor? BO { get; set; }
    [Weight(DModel, Name = "ln2.weight")] public Tensor? Ln2Weight { get; set; }
    [Weight(DModel, Name = "ln2.bias")] public Tensor? Ln2Bias { get; set; }
    [Weight(Ffn, DModel, Name = "fc1.weight")] public Tensor? W1 { get; set; }
    [Weight(Ffn, Name = "fc1.bias")] public Tensor? B1 { get; set; }
    [Weight(DModel, Ffn, Name = "fc2.weight")] public Tensor? W2 { get; set; }
    [Weight(DModel, Name = "fc2.bias")] public Tensor? B2 { get; set; }

    public Tensor Forward([Input(Batch, Seq, DModel)] Tensor x)
    {
        // Attention: [B, S, D] -> per-head [B, H, S, Dh].
        var h = LayerNorm(x, Ln1Weight!, Ln1Bias!);
        var q = Transpose(Reshape(Linear(h, WQ!, BQ), Batch, Seq, Heads, HeadDim), 0, 2, 1, 3);
        var k = Transpose(Reshape(Linear(h, WK!, BK), Batch, Seq, Heads, HeadDim), 0, 2, 1, 3);
        var v = Transpose(Reshape(Linear(h, WV!, BV), Batch, Seq, Heads, HeadDim), 0, 2, 1, 3);
        var scores = MatMul(q, Transpose(k, 0, 1, 3, 2)) * (1f / MathF.Sqrt(HeadDim));
        var context = MatMul(Softmax(scores, axis: -1), v);
        var merged = Reshape(Transpose(context, 0, 2, 1, 3), Batch, Seq, DModel);
        var x1 = x + Linear(merged, WO!, BO);

        // Feed-forward.
        var f = Linear(Gelu(Linear(LayerNorm(x1, Ln2Weight!, Ln2Bias!), W1!, B1)), W2!, B2);
        return x1 + f;
    }
}

/// <summary>The same block at batch 1, sequence 16, d_model 64, 4 heads of 16, FFN 128 (CPU smoke mode, small check).</summary>
[Model]
public partial class TransformerBlockSmall
{
    public const int Batch = 1, Seq = 16, DModel = 64, Heads = 4, HeadDim = 16, Ffn = 128;

    [Weight(DModel, Name = "ln1.weight")] public Tensor? Ln1Weight { get; set; }
    [Weight(DModel, Name = "ln1.bias")] public Tensor? Ln1Bias { get; set; }
    [Weight(DModel, DModel, Name = "attn.q_proj.weight")] public Tensor? WQ { get; set; }
    [Weight(DModel, Name = "attn.q_proj.bias")] public Tensor? BQ { get; set; }
    [Weight(DModel, DModel, Name = "attn.k_proj.weight")] public Tensor? WK { get; set; }
    [Weight(DModel, Name = "attn.k_proj.bias")] public Tensor? BK { get; set; }
    [Weight(DModel, DModel, Name = "attn.v_proj.weight")] public Tensor? WV { get; set; }
    [Weight(DModel, Name = "attn.v_proj.bias")] public Tensor? BV { get; set; }
    [Weight(DModel, DModel, Name = "attn.out_proj.weight")] public Tensor? WO { get; set; }
    [Weight(DModel, Name = "attn.out_proj.bias")] public Tensor? BO { get; set; }
    [Weight(DModel, Name = "ln2.weight")] public Tensor? Ln2Weight { get; set; }
    [Weight(DModel, Name = "ln2.bias")] public Tensor? Ln2Bias { get; set; }
    [Weight(Ffn, DModel, Name = "fc1.weight")] public Tensor? W1 { get; set; }
    [Weight(Ffn, Name = "fc1.bias")] public Tensor? B1 { get; set; }
    [Weight(DModel, Ffn, Name = "fc2.weight")] public Tensor? W2 { get; set; }
    [Weight(DModel, Name = "fc2.bias")] public Tensor? B2 { get; set; }

    public Tensor Forward([Input(Batch, Seq, DModel)] Tensor x)
    {
        // Attention: [B, S, D] -> per-head [B, H, S, Dh].
        var h = LayerNorm(x, Ln1Weight!, Ln1Bias!);
        var q = Transpose(Reshape(Linear(h, WQ!, BQ), Batch, Seq, Heads, HeadDim), 0, 2, 1, 3);
        var k = Transpose(Reshape(Linear(h, WK!, BK), Batch, Seq, Heads, HeadDim), 0, 2, 1, 3);
        var v = Transpose(Reshape(Linear(h, WV!, BV), Batch, Seq, Heads, HeadDim), 0, 2, 1, 3);
        var scores = MatMul(q, Transpose(k, 0, 1, 3, 2)) * (1f / MathF.Sqrt(HeadDim));
        var context = MatMul(Softmax(scores, axis: -1), v);
        var merged = Reshape(Transpose(context, 0, 2, 1, 3), Batch, Seq, DModel);
        var x1 = x + Linear(merged, WO!, BO);

        // Feed-forward.
        var f = Linear(Gelu(Linear(LayerNorm(x1, Ln2Weight!, Ln2Bias!), W1!, B1)), W2!, B2);
        return x1 + f;
    }
}
