using System;
using Aot.Dsl;
using static Aot.Dsl.Ops;

namespace GeneratorBenchmarks.Models;

// The generator's large workload, shared as source by the generator benchmark (tests/GeneratorBenchmarks) and the
// incrementality test (tests/Generator.Tests/Frontend/LargeModelIncrementalityTests.cs): both embed this file and
// feed it to the generator; it is never compiled into an assembly of its own.

/// <summary>
/// A 12-layer pre-LayerNorm transformer encoder (d_model 256, 4 heads of 64, FFN 1024, sequence 64): one helper
/// method per layer, called from a for loop over weights stacked per layer ([12, ...], indexed by the layer), about
/// 60 graph ops per layer before optimization.
/// </summary>
[Model]
public partial class TransformerEncoder12
{
    public const int Layers = 12, Seq = 64, DModel = 256, Heads = 4, HeadDim = 64, Ffn = 1024;

    [Weight(Layers, DModel, Name = "layers.ln1.weight")] public Tensor? Ln1Weight { get; set; }
    [Weight(Layers, DModel, Name = "layers.ln1.bias")] public Tensor? Ln1Bias { get; set; }
    [Weight(Layers, DModel, DModel, Name = "layers.attn.q_proj.weight")] public Tensor? WQ { get; set; }
    [Weight(Layers, DModel, Name = "layers.attn.q_proj.bias")] public Tensor? BQ { get; set; }
    [Weight(Layers, DModel, DModel, Name = "layers.attn.k_proj.weight")] public Tensor? WK { get; set; }
    [Weight(Layers, DModel, Name = "layers.attn.k_proj.bias")] public Tensor? BK { get; set; }
    [Weight(Layers, DModel, DModel, Name = "layers.attn.v_proj.weight")] public Tensor? WV { get; set; }
    [Weight(Layers, DModel, Name = "layers.attn.v_proj.bias")] public Tensor? BV { get; set; }
    [Weight(Layers, DModel, DModel, Name = "layers.attn.out_proj.weight")] public Tensor? WO { get; set; }
    [Weight(Layers, DModel, Name = "layers.attn.out_proj.bias")] public Tensor? BO { get; set; }
    [Weight(Layers, DModel, Name = "layers.ln2.weight")] public Tensor? Ln2Weight { get; set; }
    [Weight(Layers, DModel, Name = "layers.ln2.bias")] public Tensor? Ln2Bias { get; set; }
    [Weight(Layers, Ffn, DModel, Name = "layers.fc1.weight")] public Tensor? W1 { get; set; }
    [Weight(Layers, Ffn, Name = "layers.fc1.bias")] public Tensor? B1 { get; set; }
    [Weight(Layers, DModel, Ffn, Name = "layers.fc2.weight")] public Tensor? W2 { get; set; }
    [Weight(Layers, DModel, Name = "layers.fc2.bias")] public Tensor? B2 { get; set; }
    [Weight(DModel, Name = "norm.weight")] public Tensor? NormWeight { get; set; }
    [Weight(DModel, Name = "norm.bias")] public Tensor? NormBias { get; set; }

    public Tensor Forward([Input(Seq, DModel)] Tensor x)
    {
        var h = x;
        for (int layer = 0; layer < Layers; layer++)
        {
            h = EncoderLayer(h, layer);
        }

        return LayerNorm(h, NormWeight!, NormBias!);
    }

    /// <summary>One layer: x + attention(ln1(x)), then + ffn(ln2(.)); its weights are slice <paramref name="i"/> of the stacks.</summary>
    private Tensor EncoderLayer(Tensor x, int i)
    {
        var x1 = x + SelfAttention(LayerNorm(x, Ln1Weight![i], Ln1Bias![i]), i);
        return x1 + FeedForward(LayerNorm(x1, Ln2Weight![i], Ln2Bias![i]), i);
    }

    private Tensor SelfAttention(Tensor h, int i)
    {
        var q = SplitHeads(Linear(h, WQ![i], BQ![i]));
        var k = SplitHeads(Linear(h, WK![i], BK![i]));
        var v = SplitHeads(Linear(h, WV![i], BV![i]));
        var scores = MatMul(q, Transpose(k, 0, 2, 1)) * (1f / MathF.Sqrt(HeadDim));
        var context = MatMul(Softmax(scores, axis: -1), v);
        var merged = Reshape(Transpose(context, 1, 0, 2), Seq, DModel);
        return Linear(merged, WO![i], BO![i]);
    }

    /// <summary>[Seq, DModel] -> [Heads, Seq, HeadDim].</summary>
    private Tensor SplitHeads(Tensor t) => Transpose(Reshape(t, Seq, Heads, HeadDim), 1, 0, 2);

    private Tensor FeedForward(Tensor h, int i) => Linear(Gelu(Linear(h, W1![i], B1![i])), W2![i], B2![i]);
}
