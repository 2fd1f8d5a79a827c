using System;
using Aot.Dsl;
using static Aot.Dsl.Ops;

namespace Samples.Npu;

/// <summary>A pre-LayerNorm transformer encoder block (sequence 128, d_model 256, 4 heads, FFN 1024).</summary>
[Model]
public partial class EncoderBlock
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
        var q = Transpose(Reshape(Linear(h, WQ!, BQ), 1, Seq, Heads, HeadDim), 0, 2, 1, 3);
        var k = Transpose(Reshape(Linear(h, WK!, BK), 1, Seq, Heads, HeadDim), 0, 2, 3, 1);
        var v = Transpose(Reshape(Linear(h, WV!, BV), 1, Seq, Heads, HeadDim), 0, 2, 1, 3);
        var scores = MatMul(q, k) * (1f / MathF.Sqrt(HeadDim));
        var context = MatMul(Softmax(scores, axis: -1), v);
        var merged = Reshape(Transpose(context, 0, 2, 1, 3), 1, Seq, DModel);
        var x1 = x + Linear(merged, WO!, BO);
        var f = Linear(Gelu(Linear(LayerNorm(x1, Ln2W!, Ln2B!), W1!, B1)), W2!, B2);
        return x1 + f;
    }
}

/// <summary>An MLP classifier (784-512-512-10) for the int8 path.</summary>
[Model]
public partial class Classifier
{
    [Weight(512, 784)] public Tensor? W1 { get; set; }
    [Weight(512)] public Tensor? B1 { get; set; }
    [Weight(512, 512)] public Tensor? W2 { get; set; }
    [Weight(512)] public Tensor? B2 { get; set; }
    [Weight(10, 512)] public Tensor? W3 { get; set; }
    [Weight(10)] public Tensor? B3 { get; set; }

    public Tensor Forward([Input(8, 784)] Tensor images) => Linear(Relu(Linear(Relu(Linear(images, W1!, B1)), W2!, B2)), W3!, B3);
}
