using Aot.Dsl;
using Benchmarks.Models;
using static Aot.Tests.Onnx.OnnxAttr;

namespace Benchmarks;

/// <summary>
/// The benchmark models as ONNX graphs (opset 17, IR version 8), built from the same weight tensors as the DSL models.
/// Every graph has one input "x" and one output. Linear layers are Gemm(transB=1) on 2-D activations and
/// MatMul with the transposed weight + Add on 3-D ones (what PyTorch's exporter emits); GELU is the erf form
/// (Div, Erf, Add, Mul, Mul), which ONNX Runtime's optimizer fuses into its Gelu kernel.
/// </summary>
internal static class OnnxExport
{
    public static byte[] MatMul(Tensor b, int m, int k, int n)
    {
        var g = new OnnxGraph("gemm");
        var x = g.Input("x", m, k);
        Output(g, g.Op("MatMul", x, Init(g, "B", b)), m, n);
        return g.ToModel();
    }

    public static byte[] Mlp(int batch, Tensor w1, Tensor b1, Tensor w2, Tensor b2, Tensor w3, Tensor b3)
    {
        var g = new OnnxGraph("mlp");
        var x = g.Input("x", batch, 784);
        var h = g.Op("Relu", Linear2d(g, x, w1, b1, "fc1"));
        h = g.Op("Relu", Linear2d(g, h, w2, b2, "fc2"));
        var y = g.Op("Softmax", Linear2d(g, h, w3, b3, "fc3"), Int("axis", -1));
        Output(g, y, batch, 10);
        return g.ToModel();
    }

    public static byte[] LeNet(LeNet5 m)
    {
        var g = new OnnxGraph("lenet5");
        var x = g.Input("x", 1, 1, 28, 28);
        var h = MaxPool2(g, g.Op("Relu", Conv(g, x, m.C1W!, m.C1B!, "c1", pad: 2)));
        h = MaxPool2(g, g.Op("Relu", Conv(g, h, m.C2W!, m.C2B!, "c2", pad: 0)));
        var f = g.Op("Reshape", h, g.Int64s(1, 400));
        f = g.Op("Relu", Linear2d(g, f, m.F1W!, m.F1B!, "f1"));
        f = g.Op("Relu", Linear2d(g, f, m.F2W!, m.F2B!, "f2"));
        Output(g, Linear2d(g, f, m.F3W!, m.F3B!, "f3"), 1, 10);
        return g.ToModel();
    }

    public static byte[] SmallCnn(SmallCnn m)
    {
        var g = new OnnxGraph("small_cnn");
        var x = g.Input("x", 1, 3, 64, 64);
        var h = g.Op("Relu", Conv(g, x, m.C1W!, m.C1B!, "c1", pad: 1));
        h = MaxPool2(g, g.Op("Relu", Conv(g, h, m.C2W!, m.C2B!, "c2", pad: 1)));
        h = g.Op("Relu", Conv(g, h, m.C3W!, m.C3B!, "c3", pad: 1));
        h = MaxPool2(g, g.Op("Relu", Conv(g, h, m.C4W!, m.C4B!, "c4", pad: 1)));
        var p = g.Op("Flatten", g.Op("GlobalAveragePool", h), Int("axis", 1));
        Output(g, Linear2d(g, p, m.FcW!, m.FcB!, "fc"), 1, 10);
        return g.ToModel();
    }

    public static byte[] Transformer(TransformerBlock m)
    {
        const int s = TransformerBlock.Seq, d = TransformerBlock.DModel, h = TransformerBlock.Heads, dh = TransformerBlock.HeadDim;
        var g = new OnnxGraph("transformer_block");
        var x = g.Input("x", 1, s, d);

        var ln1 = LayerNorm(g, x, m.Ln1W!, m.Ln1B!, "ln1");
        var headShape = g.Int64s(1, s, h, dh);
        string Heads(string t, params long[] perm) => g.Op("Transpose", g.Op("Reshape", t, headShape), List("perm", perm));
        var q = Heads(Linear3d(g, ln1, m.WQ!, m.BQ!, "q"), 0, 2, 1, 3);   // [1, H, S, Dh]
        var k = Heads(Linear3d(g, ln1, m.WK!, m.BK!, "k"), 0, 2, 3, 1);   // [1, H, Dh, S]
        var v = Heads(Linear3d(g, ln1, m.WV!, m.BV!, "v"), 0, 2, 1, 3);   // [1, H, S, Dh]
        var scores = g.Op("Mul", g.Op("MatMul", q, k), g.Scalar(1f / MathF.Sqrt(dh)));
        var context = g.Op("MatMul", g.Op("Softmax", scores, Int("axis", -1)), v);
        var merged = g.Op("Reshape", g.Op("Transpose", context, List("perm", 0, 2, 1, 3)), g.Int64s(1, s, d));
        var x1 = g.Op("Add", x, Linear3d(g, merged, m.WO!, m.BO!, "o"));

        var ln2 = LayerNorm(g, x1, m.Ln2W!, m.Ln2B!, "ln2");
        var f = Linear3d(g, Gelu(g, Linear3d(g, ln2, m.W1!, m.B1!, "fc1")), m.W2!, m.B2!, "fc2");
        Output(g, g.Op("Add", x1, f), 1, s, d);
        return g.ToModel();
    }

    public static byte[] ElementwiseChain(ElementwiseChain m)
    {
        const int r = Models.ElementwiseChain.Rows, c = Models.ElementwiseChain.Cols;
        var g = new OnnxGraph("elementwise_chain");
        var x = g.Input("x", r, c);
        var relu = g.Op("Relu", g.Op("Add", g.Op("Mul", x, Init(g, "a", m.A!)), Init(g, "b", m.B!)));
        var y = g.Op("Add", g.Op("Mul", relu, g.Op("Sigmoid", x)), Init(g, "c", m.C!));
        Output(g, y, r, c);
        return g.ToModel();
    }

    // ---- helpers ------------------------------------------------------------------------------------------

    private static string Init(OnnxGraph g, string name, Tensor t) => g.Initializer(name, t.Floats, t.ShapeArray());

    /// <summary>Declares a node's result as the graph's output (the harness asks the session for its name).</summary>
    private static void Output(OnnxGraph g, string value, params int[] shape) => g.Output(value, shape);

    /// <summary>x[N, in] @ w[out, in]^T + b: ONNX Gemm with transB=1, as PyTorch exports nn.Linear.</summary>
    private static string Linear2d(OnnxGraph g, string x, Tensor w, Tensor b, string name) =>
        g.Op("Gemm", new[] { x, Init(g, name + ".weight", w), Init(g, name + ".bias", b) }, Int("transB", 1));

    /// <summary>x[..., in] @ w^T + b on a rank-3 activation: MatMul with the transposed weight [in, out], then Add.</summary>
    private static string Linear3d(OnnxGraph g, string x, Tensor w, Tensor b, string name)
    {
        int outF = w.Shape[0], inF = w.Shape[1];
        var wt = new float[inF * outF];
        var src = w.Floats;
        for (int o = 0; o < outF; o++)
        {
            for (int i = 0; i < inF; i++) wt[i * outF + o] = src[o * inF + i];
        }

        return g.Op("Add", g.Op("MatMul", x, g.Initializer(name + ".weight_t", wt, inF, outF)), Init(g, name + ".bias", b));
    }

    private static string Conv(OnnxGraph g, string x, Tensor w, Tensor b, string name, int pad)
    {
        int kh = w.Shape[2], kw = w.Shape[3];
        return g.Op("Conv", new[] { x, Init(g, name + ".weight", w), Init(g, name + ".bias", b) },
            List("kernel_shape", kh, kw), List("pads", pad, pad, pad, pad), List("strides", 1, 1));
    }

    private static string MaxPool2(OnnxGraph g, string x) => g.Op("MaxPool", x, List("kernel_shape", 2, 2), List("strides", 2, 2));

    private static string LayerNorm(OnnxGraph g, string x, Tensor gamma, Tensor beta, string name) =>
        g.Op("LayerNormalization", new[] { x, Init(g, name + ".weight", gamma), Init(g, name + ".bias", beta) }, Int("axis", -1), Float("epsilon", 1e-5f));

    /// <summary>0.5 * x * (1 + erf(x / sqrt(2))), in the node order ORT's GeluFusion recognizes.</summary>
    private static string Gelu(OnnxGraph g, string x)
    {
        var erf = g.Op("Erf", g.Op("Div", x, g.Scalar(MathF.Sqrt(2f))));
        return g.Op("Mul", g.Op("Mul", x, g.Op("Add", erf, g.Scalar(1f))), g.Scalar(0.5f));
    }
}
