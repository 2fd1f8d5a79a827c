using Aot.Dsl;
using Aot.Tests.Onnx;
using static Aot.Tests.Onnx.OnnxAttr;

namespace Onnx.Tests;

/// <summary>The operator cases compared with ONNX Runtime: every supported op and attribute form of this slice.</summary>
internal static class OpCases
{
    private static int _seed = 100;

    private static float[] Rand(params int[] shape) => Aot.Dsl.Tensor.Random(_seed++, -1f, 1f, shape).Floats.ToArray();

    private static string W(OnnxGraph g, string name, params int[] shape) => g.Initializer(name, Rand(shape), shape);

    /// <summary>A weight with values in [0.5, 1.5] (BatchNormalization variances and scales).</summary>
    private static string Positive(OnnxGraph g, string name, params int[] shape) => g.Initializer(name, Rand(shape).Select(v => 1f + v / 2f).ToArray(), shape);

    /// <summary>Conv -> BatchNormalization with constant statistics.</summary>
    private static string ConvBn(OnnxGraph g, string x, int channels, int outChannels, bool bias, string prefix = "")
    {
        var inputs = new List<string> { x, W(g, prefix + "conv.weight", outChannels, channels, 3, 3) };
        if (bias) inputs.Add(W(g, prefix + "conv.bias", outChannels));
        var conv = g.Op("Conv", inputs.ToArray(), List("pads", 1, 1, 1, 1));
        return g.Op("BatchNormalization", new[] { conv, Positive(g, prefix + "bn.weight", outChannels), W(g, prefix + "bn.bias", outChannels), W(g, prefix + "bn.running_mean", outChannels), Positive(g, prefix + "bn.running_var", outChannels) }, Float("epsilon", 1e-3f));
    }

    /// <summary>Split's outputs, concatenated in reverse order (one graph output).</summary>
    private static void SplitCase(OnnxGraph g, string x, int parts, int axis, string? sizes, params OnnxAttr[] attrs)
    {
        var outputs = Enumerable.Range(0, parts).Select(i => $"part{i}").ToArray();
        g.Node("Split", sizes is null ? new[] { x } : new[] { x, sizes }, outputs, attrs);
        g.Output(g.Op("Concat", outputs.Reverse().ToArray(), Int("axis", axis)));
    }

    private static OnnxCase Unary(string op, float low = -2f, float high = 2f) => new(op, g =>
    {
        var x = g.Input("x", 2, 5);
        g.Output(g.Op(op, x), 2, 5);
    }, low: low, high: high);

    private static OnnxCase Binary(string name, string op, int[] a, int[]? constB, int[]? inputB, float low = -1f, float high = 1f) => new(name, g =>
    {
        var x = g.Input("x", a);
        var y = constB is not null ? W(g, "b.weight", constB) : g.Input("y", inputB!);
        g.Output(g.Op(op, x, y));
    }, low: low, high: high);

    /// <summary>y = If(mean(x) >= 0) then relu(x * w + c) (w a branch initializer, c a branch Constant) else x - v (v an
    /// outer initializer, [3] broadcast to [2, 3]).</summary>
    private static OnnxCase IfOnTheMean(string name, float low, float high) => new(name, g =>
    {
        var x = g.Input("x", 2, 3);
        var condition = g.Op("GreaterOrEqual", g.Op("ReduceMean", x, Int("keepdims", 0)), g.Scalar(0f));
        var v = W(g, "v", 3);
        var then = new OnnxGraph("then", "t_");
        var c = then.Op("Constant", Array.Empty<string>(), Tensor("value", OnnxTensor.Of(new[] { 0.25f }, 1)));
        then.Output(then.Op("Relu", then.Op("Add", then.Op("Mul", x, then.Initializer("t_w", Rand(2, 3), 2, 3)), c)));
        var otherwise = new OnnxGraph("else", "e_");
        otherwise.Output(otherwise.Op("Sub", x, v));
        g.Node("If", new[] { condition }, new[] { "y" }, Graph("then_branch", then), Graph("else_branch", otherwise));
        g.Output("y", 2, 3);
    }, opset: 13, low: low, high: high);

    /// <summary>Nested If: if mean(x) > 0 then (if max(x) > 0.5 then 2x else x + 1, an inner branch reading a value of
    /// the outer branch and one of the graph) else x * -row.</summary>
    private static OnnxCase IfNested(string name, float low, float high) => new(name, g =>
    {
        var x = g.Input("x", 2, 3);
        var condition = g.Op("Greater", g.Op("ReduceMean", x, Int("keepdims", 0)), g.Scalar(0f));
        var then = new OnnxGraph("then", "t_");
        var twice = then.Op("Mul", x, then.Scalar(2f));
        var inner = then.Op("Greater", then.Op("ReduceMax", x, Int("keepdims", 0)), then.Scalar(0.5f));
        var innerThen = new OnnxGraph("then_then", "tt_");
        innerThen.Output(innerThen.Op("Identity", twice));
        var innerElse = new OnnxGraph("then_else", "te_");
        innerElse.Output(innerElse.Op("Add", x, innerElse.Scalar(1f)));
        then.Node("If", new[] { inner }, new[] { "t_y" }, Graph("then_branch", innerThen), Graph("else_branch", innerElse));
        then.Output("t_y");
        var otherwise = new OnnxGraph("else", "e_");
        otherwise.Output(otherwise.Op("Mul", x, otherwise.Op("Neg", W(g, "row", 3))));
        g.Node("If", new[] { condition }, new[] { "y" }, Graph("then_branch", then), Graph("else_branch", otherwise));
        g.Output("y", 2, 3);
    }, opset: 13, low: low, high: high);

    /// <summary>Resize of x [1, 2, 5, 7] with constant scales or sizes in the input layout of <paramref name="opset"/>
    /// (10: x, scales; 11: x, empty roi, scales or an empty one, sizes; 13 on: absent roi and scales by "").</summary>
    private static OnnxCase ResizeCase(string name, int opset, float[]? scales, long[]? sizes, params OnnxAttr[] attrs) => new(name, g =>
    {
        var x = g.Input("x", 1, 2, 5, 7);
        var empty = opset == 11 ? g.Initializer("empty", Array.Empty<float>(), 0) : "";
        string Scales() => scales is null ? empty : g.Initializer("scales", scales, scales.Length);
        var inputs = opset == 10 ? new[] { x, Scales() } : sizes is null ? new[] { x, empty, Scales() } : new[] { x, empty, Scales(), g.Op("Identity", g.Int64s(sizes)) };
        g.Output(g.Op("Resize", inputs, attrs));
    }, opset: opset);

    /// <summary>
    /// One LSTM node (W, R, B initializers; initial_h and initial_c graph inputs) with the outputs in
    /// <paramref name="outputs"/> (0 Y, 1 Y_h, 2 Y_c) named and the others left out; several are combined into the one
    /// graph output by Add (Y + Y_h + Y_c broadcast, or Y_h + Y_c). sequence_lens is an int32 initializer.
    /// </summary>
    private static OnnxCase LstmCase(string name, int seq, int batch, int input, int hidden, bool bias, bool initial, int[] outputs, int opset,
        int layout = 0, long[]? lengths = null, params OnnxAttr[] extra)
    {
        int seed = _seed;
        _seed += 3;
        // ONNX Runtime has no layout 1: its reference is layout 0 between Transposes (same inputs, same weights).
        return new(name, g => LstmGraph(g, seed, seq, batch, input, hidden, bias, initial, outputs, layout, lengths, extra, reference: false), opset: opset,
            reference: layout == 0 ? null : g => LstmGraph(g, seed, seq, batch, input, hidden, bias, initial, outputs, layout, lengths, extra, reference: true));
    }

    private static void LstmGraph(OnnxGraph g, int seed, int seq, int batch, int input, int hidden, bool bias, bool initial, int[] outputs,
        int layout, long[]? lengths, OnnxAttr[] extra, bool reference)
    {
        string Weight(string name, params int[] shape) => g.Initializer(name, Aot.Dsl.Tensor.Random(seed++, -1f, 1f, shape).Floats, shape);
        string ToLayout0(string v) => reference ? g.Op("Transpose", v, List("perm", 1, 0, 2)) : v;
        var x = g.Input("x", layout == 0 ? new[] { seq, batch, input } : new[] { batch, seq, input });
        var state = layout == 0 ? new[] { 1, batch, hidden } : new[] { batch, 1, hidden };
        var inputs = new List<string> { ToLayout0(x), Weight("lstm.w", 1, 4 * hidden, input), Weight("lstm.r", 1, 4 * hidden, hidden) };
        inputs.Add(bias ? Weight("lstm.b", 1, 8 * hidden) : "");
        inputs.Add(lengths is null ? "" : g.Initializer("lstm.lengths", OnnxTensor.Of(lengths, lengths.Length) with { Int32 = true }));
        if (initial) inputs.AddRange(new[] { ToLayout0(g.Input("h0", state)), ToLayout0(g.Input("c0", state)) });
        while (inputs[^1].Length == 0) inputs.RemoveAt(inputs.Count - 1);
        var names = new[] { "y", "y_h", "y_c" };
        var nodeOutputs = Enumerable.Range(0, outputs.Max() + 1).Select(i => outputs.Contains(i) ? (reference ? "ref_" : "") + names[i] : "").ToArray();
        var attrs = new List<OnnxAttr> { Int("hidden_size", hidden) };
        if (layout != 0 && !reference) attrs.Add(Int("layout", layout));
        attrs.AddRange(extra);
        g.Node("LSTM", inputs.ToArray(), nodeOutputs, attrs.ToArray());
        foreach (int i in reference ? outputs : Array.Empty<int>())
        {
            g.Node("Transpose", new[] { "ref_" + names[i] }, new[] { names[i] }, i == 0 ? List("perm", 2, 0, 1, 3) : List("perm", 1, 0, 2));
        }
        // Layout 1's Y [batch, seq, 1, hidden] meets Y_h/Y_c [batch, 1, hidden] unsqueezed at axis 1.
        string Term(int i) => layout == 1 && i > 0 && outputs.Contains(0) ? g.Op("Unsqueeze", names[i], g.Int64s(1)) : names[i];
        var result = outputs.Select(Term).Aggregate((a, b) => g.Op("Add", a, b));
        var y = layout == 0 ? new[] { seq, 1, batch, hidden } : new[] { batch, seq, 1, hidden };
        g.Output(result, outputs.Contains(0) ? y : state);
    }

    public static readonly OnnxCase[] All =
    {
        // Elementwise, with numpy broadcasting, constant and run-time operands.
        Binary("Add_bias", "Add", new[] { 2, 3, 4 }, new[] { 4 }, null),
        Binary("Add_two_inputs_broadcast", "Add", new[] { 2, 3, 4 }, null, new[] { 3, 1 }),
        Binary("Sub_two_inputs", "Sub", new[] { 2, 3 }, null, new[] { 1, 3 }),
        Binary("Mul_const", "Mul", new[] { 2, 3, 4 }, new[] { 3, 1 }, null),
        Binary("Div_const", "Div", new[] { 4, 5 }, new[] { 5 }, null),
        Binary("Pow_input", "Pow", new[] { 3, 4 }, null, new[] { 4 }, low: 0.5f, high: 1.5f),
        Binary("Max_two_inputs", "Max", new[] { 3, 4 }, null, new[] { 3, 4 }),
        Binary("Min_two_inputs", "Min", new[] { 3, 4 }, null, new[] { 4 }),
        new("Mul_scalar_literal", g =>
        {
            var x = g.Input("x", 2, 3);
            g.Output(g.Op("Mul", x, g.Scalar(0.25f)), 2, 3);
        }),
        Unary("Relu"), Unary("Sigmoid"), Unary("Tanh"), Unary("Exp"), Unary("Neg"), Unary("Abs"), Unary("Erf"),
        Unary("Log", 0.1f, 3f), Unary("Sqrt", 0.1f, 3f),

        // Softmax: opset 13+ one axis; before 13 the trailing axes flattened.
        new("Softmax_default_axis", g => g.Output(g.Op("Softmax", g.Input("x", 2, 5)), 2, 5)),
        new("Softmax_axis1_opset13", g => g.Output(g.Op("Softmax", g.Input("x", 2, 3, 4), Int("axis", 1)), 2, 3, 4), opset: 13),
        new("Softmax_axis1_opset11_coerced", g => g.Output(g.Op("Softmax", g.Input("x", 2, 3, 4), Int("axis", 1)), 2, 3, 4), opset: 11),
        new("Softmax_default_opset9", g => g.Output(g.Op("Softmax", g.Input("x", 2, 3, 4)), 2, 3, 4), opset: 9),

        // MatMul and Gemm.
        new("MatMul_weight", g => g.Output(g.Op("MatMul", g.Input("x", 2, 3, 4), W(g, "w", 4, 5)), 2, 3, 5)),
        new("MatMul_batched_inputs", g => g.Output(g.Op("MatMul", g.Input("a", 2, 3, 4), g.Input("b", 2, 4, 5)), 2, 3, 5)),
        new("MatMul_vector", g => g.Output(g.Op("MatMul", g.Input("x", 3, 4), W(g, "v", 4)), 3)),
        new("Gemm_transB_bias", g => g.Output(g.Op("Gemm", new[] { g.Input("x", 2, 6), W(g, "fc.weight", 5, 6), W(g, "fc.bias", 5) }, Int("transB", 1)), 2, 5)),
        new("Gemm_alpha_beta_rowbias", g => g.Output(g.Op("Gemm", new[] { g.Input("x", 3, 4), W(g, "b", 4, 2), W(g, "c", 1, 2) }, Float("alpha", 0.5f), Float("beta", 2f)), 3, 2)),
        new("Gemm_transA_no_bias", g => g.Output(g.Op("Gemm", new[] { g.Input("x", 4, 3), W(g, "b", 4, 2) }, Int("transA", 1)), 3, 2)),
        new("Gemm_float_data_initializer", g =>
        {
            var w = g.Initializer("w", OnnxTensor.Of(Rand(3, 4), 3, 4) with { Typed = true });
            g.Output(g.Op("Gemm", new[] { g.Input("x", 2, 4), w }, Int("transB", 1)), 2, 3);
        }),

        // Convolution and pooling.
        new("Conv_3x3_pad1_bias", g => g.Output(g.Op("Conv", new[] { g.Input("x", 1, 3, 8, 8), W(g, "conv.weight", 4, 3, 3, 3), W(g, "conv.bias", 4) }, List("pads", 1, 1, 1, 1), List("kernel_shape", 3, 3)), 1, 4, 8, 8)),
        new("Conv_stride2_dilation2_groups2", g => g.Output(g.Op("Conv", new[] { g.Input("x", 2, 4, 9, 9), W(g, "w", 6, 2, 3, 3) }, List("strides", 2, 2), List("dilations", 2, 2), Int("group", 2)))),
        new("Conv_depthwise_same_upper", g => g.Output(g.Op("Conv", new[] { g.Input("x", 1, 3, 7, 7), W(g, "w", 3, 1, 3, 3) }, Int("group", 3), Str("auto_pad", "SAME_UPPER")))),
        new("Conv_1x1_valid", g => g.Output(g.Op("Conv", new[] { g.Input("x", 1, 4, 5, 5), W(g, "w", 2, 4, 1, 1) }, Str("auto_pad", "VALID")))),
        new("Conv_asymmetric_pads", g => g.Output(g.Op("Conv", new[] { g.Input("x", 1, 2, 6, 6), W(g, "w", 3, 2, 3, 3), W(g, "b", 3) }, List("pads", 0, 1, 1, 2)), 1, 3, 5, 7)),
        new("Conv_same_upper_stride2_asymmetric", g => g.Output(g.Op("Conv", new[] { g.Input("x", 1, 2, 8, 8), W(g, "w", 3, 2, 3, 3) }, List("strides", 2, 2), Str("auto_pad", "SAME_UPPER")), 1, 3, 4, 4)),
        new("Conv_same_lower_stride2_asymmetric", g => g.Output(g.Op("Conv", new[] { g.Input("x", 1, 2, 8, 8), W(g, "w", 3, 2, 3, 3) }, List("strides", 2, 2), Str("auto_pad", "SAME_LOWER")), 1, 3, 4, 4)),
        new("Conv_kernel_3x1_pads", g => g.Output(g.Op("Conv", new[] { g.Input("x", 1, 3, 6, 5), W(g, "w", 4, 3, 3, 1), W(g, "b", 4) }, List("kernel_shape", 3, 1), List("pads", 1, 0, 1, 0)), 1, 4, 6, 5)),
        new("Conv_kernel_1x3_pads_0_1_0_1", g => g.Output(g.Op("Conv", new[] { g.Input("x", 1, 3, 6, 5), W(g, "w", 4, 3, 1, 3), W(g, "b", 4) }, List("kernel_shape", 1, 3), List("pads", 0, 1, 0, 1)), 1, 4, 6, 5)),
        new("Conv_strides_2_1", g => g.Output(g.Op("Conv", new[] { g.Input("x", 1, 3, 9, 8), W(g, "w", 4, 3, 3, 3), W(g, "b", 4) }, List("strides", 2, 1), List("pads", 1, 1, 1, 1)), 1, 4, 5, 8)),
        new("Conv_dilations_1_2", g => g.Output(g.Op("Conv", new[] { g.Input("x", 1, 3, 8, 9), W(g, "w", 4, 3, 3, 3) }, List("dilations", 1, 2)), 1, 4, 6, 5)),
        new("Conv_strides_1_3_dilations_2_1_group2", g => g.Output(g.Op("Conv", new[] { g.Input("x", 2, 4, 9, 10), W(g, "w", 6, 2, 3, 2), W(g, "b", 6) }, List("strides", 1, 3), List("dilations", 2, 1), List("pads", 1, 0, 1, 0), Int("group", 2)), 2, 6, 7, 3)),
        new("Conv_strides_2_1_same_upper", g => g.Output(g.Op("Conv", new[] { g.Input("x", 1, 2, 8, 7), W(g, "w", 3, 2, 3, 3) }, List("strides", 2, 1), Str("auto_pad", "SAME_UPPER")), 1, 3, 4, 7)),
        new("Conv_strides_1_2_same_lower", g => g.Output(g.Op("Conv", new[] { g.Input("x", 1, 2, 7, 8), W(g, "w", 3, 2, 3, 3) }, List("strides", 1, 2), Str("auto_pad", "SAME_LOWER")), 1, 3, 7, 4)),
        new("Conv_kernel_3x1_stride2_same_upper", g => g.Output(g.Op("Conv", new[] { g.Input("x", 1, 2, 7, 6), W(g, "w", 3, 2, 3, 1) }, List("strides", 2, 2), Str("auto_pad", "SAME_UPPER")), 1, 3, 4, 3)),
        new("Conv1d_pads_stride_bias", g => g.Output(g.Op("Conv", new[] { g.Input("x", 2, 3, 10), W(g, "w", 4, 3, 3), W(g, "b", 4) }, List("pads", 1, 2), List("strides", 2)), 2, 4, 6)),
        new("Conv1d_depthwise_dilated_asymmetric", g => g.Output(g.Op("Conv", new[] { g.Input("x", 1, 4, 9), W(g, "w", 4, 1, 3) }, Int("group", 4), List("dilations", 2), List("pads", 2, 1)), 1, 4, 8)),
        new("Conv1d_same_upper_stride2", g => g.Output(g.Op("Conv", new[] { g.Input("x", 1, 2, 8), W(g, "w", 3, 2, 3) }, List("strides", 2), Str("auto_pad", "SAME_UPPER")), 1, 3, 4)),
        new("Conv1d_BatchNorm_folded", g =>
        {
            var conv = g.Op("Conv", new[] { g.Input("x", 1, 3, 8), W(g, "conv.weight", 4, 3, 3) }, List("pads", 1, 1));
            g.Output(g.Op("BatchNormalization", new[] { conv, Positive(g, "bn.weight", 4), W(g, "bn.bias", 4), W(g, "bn.running_mean", 4), Positive(g, "bn.running_var", 4) }), 1, 4, 8);
        }),
        new("ConvTranspose_stride2_pad1_output_padding1_bias", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 1, 3, 5, 5), W(g, "w", 3, 4, 3, 3), W(g, "b", 4) }, List("strides", 2, 2), List("pads", 1, 1, 1, 1), List("output_padding", 1, 1), List("kernel_shape", 3, 3)), 1, 4, 10, 10)),
        new("ConvTranspose_dilation2_group2", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 2, 4, 4, 5), W(g, "w", 4, 3, 3, 3), W(g, "b", 6) }, List("dilations", 2, 2), Int("group", 2)), 2, 6, 8, 9)),
        new("ConvTranspose_depthwise_stride2", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 1, 3, 4, 4), W(g, "w", 3, 1, 2, 2) }, List("strides", 2, 2), Int("group", 3)), 1, 3, 8, 8)),
        new("ConvTranspose_asymmetric_pads_rectangular_kernel", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 1, 2, 5, 4), W(g, "w", 2, 3, 3, 2) }, List("strides", 2, 2), List("pads", 0, 1, 2, 0)), 1, 3, 9, 7)),
        new("ConvTranspose_1x1_stride2", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 1, 3, 3, 3), W(g, "w", 3, 2, 1, 1), W(g, "b", 2) }, List("strides", 2, 2)), 1, 2, 5, 5)),
        new("ConvTranspose_output_padding_dilation", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 1, 2, 4, 3), W(g, "w", 2, 2, 3, 3) }, List("strides", 3, 3), List("dilations", 2, 2), List("pads", 1, 2, 1, 2), List("output_padding", 2, 1)), 1, 2, 14, 8)),
        new("ConvTranspose_strides_2_1", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 1, 3, 4, 5), W(g, "w", 3, 2, 3, 3), W(g, "b", 2) }, List("strides", 2, 1), List("pads", 1, 1, 1, 1)), 1, 2, 7, 5)),
        new("ConvTranspose_dilations_2_1", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 1, 2, 4, 4), W(g, "w", 2, 3, 3, 3) }, List("dilations", 2, 1)), 1, 3, 8, 6)),
        new("ConvTranspose_strides_1_2_dilations_2_1_output_padding", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 1, 4, 3, 4), W(g, "w", 4, 1, 2, 3), W(g, "b", 2) }, List("strides", 1, 2), List("dilations", 2, 1), List("output_padding", 0, 1), Int("group", 2)), 1, 2, 5, 10)),
        new("ConvTranspose_strides_2_1_same_upper", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 1, 2, 4, 5), W(g, "w", 2, 2, 3, 3) }, List("strides", 2, 1), Str("auto_pad", "SAME_UPPER")), 1, 2, 8, 5)),
        new("ConvTranspose_same_upper_stride2_odd", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 1, 2, 4, 5), W(g, "w", 2, 2, 3, 3), W(g, "b", 2) }, List("strides", 2, 2), Str("auto_pad", "SAME_UPPER")), 1, 2, 8, 10)),
        new("ConvTranspose_same_lower_stride2_odd", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 1, 2, 4, 5), W(g, "w", 2, 2, 3, 3), W(g, "b", 2) }, List("strides", 2, 2), Str("auto_pad", "SAME_LOWER")), 1, 2, 8, 10)),
        new("ConvTranspose_output_shape", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 1, 2, 3, 4), W(g, "w", 2, 3, 3, 3), W(g, "b", 3) }, List("strides", 2, 2), List("output_shape", 6, 8)), 1, 3, 6, 8)),
        new("ConvTranspose_valid", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 1, 2, 3, 3), W(g, "w", 2, 2, 2, 3) }, Str("auto_pad", "VALID"), List("strides", 2, 2)), 1, 2, 6, 7)),
        new("ConvTranspose1d_stride2_pads", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 1, 3, 7), W(g, "w", 3, 2, 4), W(g, "b", 2) }, List("strides", 2), List("pads", 1, 2)), 1, 2, 13)),
        new("ConvTranspose1d_depthwise_output_padding", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 2, 4, 5), W(g, "w", 4, 1, 3) }, Int("group", 4), List("strides", 3), List("pads", 1, 0), List("output_padding", 2)), 2, 4, 16)),
        new("ConvTranspose1d_output_shape", g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 1, 2, 6), W(g, "w", 2, 2, 4) }, List("strides", 2), List("output_shape", 11)), 1, 2, 11)),
        new("MaxPool_2x2", g => g.Output(g.Op("MaxPool", g.Input("x", 1, 2, 6, 6), List("kernel_shape", 2, 2), List("strides", 2, 2)))),
        new("MaxPool_3x3_stride1_pad1", g => g.Output(g.Op("MaxPool", g.Input("x", 1, 2, 5, 5), List("kernel_shape", 3, 3), List("pads", 1, 1, 1, 1)))),
        new("AveragePool_exclude_pad", g => g.Output(g.Op("AveragePool", g.Input("x", 1, 2, 7, 7), List("kernel_shape", 3, 3), List("strides", 2, 2), List("pads", 1, 1, 1, 1)))),
        new("AveragePool_include_pad", g => g.Output(g.Op("AveragePool", g.Input("x", 1, 2, 7, 7), List("kernel_shape", 3, 3), List("strides", 2, 2), List("pads", 1, 1, 1, 1), Int("count_include_pad", 1)))),
        new("AveragePool_ceil_mode_same_size", g => g.Output(g.Op("AveragePool", g.Input("x", 1, 2, 6, 6), List("kernel_shape", 2, 2), List("strides", 2, 2), Int("ceil_mode", 1)))),
        new("MaxPool_ceil_mode_partial_window_pads", g => g.Output(g.Op("MaxPool", g.Input("x", 1, 2, 6, 6), List("kernel_shape", 3, 3), List("strides", 2, 2), List("pads", 1, 1, 1, 1), Int("ceil_mode", 1)), 1, 2, 4, 4)),
        new("MaxPool_ceil_mode_window_in_padding_dropped", g => g.Output(g.Op("MaxPool", g.Input("x", 1, 2, 5, 5), List("kernel_shape", 2, 2), List("strides", 2, 2), List("pads", 1, 1, 1, 1), Int("ceil_mode", 1)))),
        new("MaxPool_ceil_mode_squeezenet", g => g.Output(g.Op("MaxPool", g.Input("x", 1, 2, 8, 8), List("kernel_shape", 3, 3), List("strides", 2, 2), Int("ceil_mode", 1)), 1, 2, 4, 4)),
        new("MaxPool_asymmetric_pads", g => g.Output(g.Op("MaxPool", g.Input("x", 1, 2, 6, 6), List("kernel_shape", 3, 3), List("strides", 2, 2), List("pads", 0, 0, 1, 1)), 1, 2, 3, 3), low: -3f, high: -1f),
        new("MaxPool_same_upper", g => g.Output(g.Op("MaxPool", g.Input("x", 1, 2, 6, 6), List("kernel_shape", 2, 2), List("strides", 1, 1), Str("auto_pad", "SAME_UPPER")), 1, 2, 6, 6), low: -3f, high: -1f),
        new("AveragePool_include_pad_asymmetric", g => g.Output(g.Op("AveragePool", g.Input("x", 1, 2, 6, 6), List("kernel_shape", 3, 3), List("pads", 1, 0, 2, 1), Int("count_include_pad", 1)), 1, 2, 7, 5)),
        new("MaxPool_rectangular_1x2_stride_1x2", g => g.Output(g.Op("MaxPool", g.Input("x", 1, 3, 5, 8), List("kernel_shape", 1, 2), List("strides", 1, 2)), 1, 3, 5, 4)),
        new("MaxPool_rectangular_3x2_stride_2x1_pads", g => g.Output(g.Op("MaxPool", g.Input("x", 2, 2, 7, 6), List("kernel_shape", 3, 2), List("strides", 2, 1), List("pads", 1, 0, 1, 1)), 2, 2, 4, 6), low: -3f, high: -1f),
        new("AveragePool_rectangular_exclude_pad", g => g.Output(g.Op("AveragePool", g.Input("x", 1, 2, 7, 9), List("kernel_shape", 2, 3), List("strides", 1, 2), List("pads", 1, 1, 1, 1)), 1, 2, 8, 5)),
        new("AveragePool_rectangular_include_pad_asymmetric", g => g.Output(g.Op("AveragePool", g.Input("x", 1, 2, 6, 7), List("kernel_shape", 2, 3), List("strides", 1, 2), List("pads", 0, 2, 1, 0), Int("count_include_pad", 1)), 1, 2, 6, 4)),
        new("MaxPool_rectangular_same_upper", g => g.Output(g.Op("MaxPool", g.Input("x", 1, 2, 5, 7), List("kernel_shape", 2, 3), List("strides", 2, 3), Str("auto_pad", "SAME_UPPER")), 1, 2, 3, 3), low: -3f, high: -1f),
        new("MaxPool1d_stride2_ceil", g => g.Output(g.Op("MaxPool", g.Input("x", 2, 3, 9), List("kernel_shape", 2), List("strides", 2), Int("ceil_mode", 1)), 2, 3, 5)),
        new("AveragePool1d_exclude_pad", g => g.Output(g.Op("AveragePool", g.Input("x", 1, 4, 10), List("kernel_shape", 3), List("strides", 2), List("pads", 1, 1)), 1, 4, 5)),
        new("AveragePool1d_include_pad_asymmetric", g => g.Output(g.Op("AveragePool", g.Input("x", 1, 2, 8), List("kernel_shape", 3), List("pads", 2, 0), Int("count_include_pad", 1)), 1, 2, 8)),
        new("GlobalAveragePool", g => g.Output(g.Op("GlobalAveragePool", g.Input("x", 2, 3, 5, 4)), 2, 3, 1, 1)),

        // Shapes and data movement.
        new("Flatten_default", g => g.Output(g.Op("Flatten", g.Input("x", 2, 3, 4, 5)), 2, 60)),
        new("Flatten_axis2", g => g.Output(g.Op("Flatten", g.Input("x", 2, 3, 4, 5), Int("axis", 2)), 6, 20)),
        new("Reshape_zero_and_minus_one", g => g.Output(g.Op("Reshape", g.Input("x", 2, 3, 4), g.Int64s(0, -1)), 2, 12)),
        new("Transpose_perm", g => g.Output(g.Op("Transpose", g.Input("x", 2, 3, 4), List("perm", 0, 2, 1)), 2, 4, 3)),
        new("Transpose_5d", g => g.Output(g.Op("Transpose", g.Input("x", 2, 3, 4, 2, 3), List("perm", 0, 3, 1, 4, 2)), 2, 2, 3, 3, 4)),
        new("Transpose_of_weight_folded", g => g.Output(g.Op("MatMul", g.Input("x", 2, 4), g.Op("Transpose", W(g, "fc.weight", 3, 4))), 2, 3)),
        new("Transpose_of_weight_3d_folded", g => g.Output(g.Op("Add", g.Input("x", 4, 2, 3), g.Op("Transpose", W(g, "t", 2, 3, 4), List("perm", 2, 0, 1))), 4, 2, 3)),
        new("Transpose_default_reverses", g => g.Output(g.Op("Transpose", g.Input("x", 2, 3, 4)), 4, 3, 2)),
        new("Concat_inputs_and_weight", g => g.Output(g.Op("Concat", new[] { g.Input("a", 2, 3), g.Input("b", 2, 1), W(g, "c", 2, 2) }, Int("axis", 1)), 2, 6)),
        new("Unsqueeze_Squeeze_opset13", g =>
        {
            var u = g.Op("Unsqueeze", g.Input("x", 3, 4), g.Int64s(0));
            g.Output(g.Op("Squeeze", g.Op("Relu", u), g.Int64s(0)), 3, 4);
        }, opset: 13),
        new("Unsqueeze_attribute_opset11", g => g.Output(g.Op("Unsqueeze", g.Input("x", 3, 4), List("axes", 1)), 3, 1, 4), opset: 11),
        new("Gather_constant_index", g => g.Output(g.Op("Gather", g.Input("x", 2, 3, 4), g.Initializer("i", OnnxTensor.Of(new long[] { -1 })), Int("axis", 1)), 2, 4)),
        new("Identity_Dropout", g => g.Output(g.Op("Dropout", g.Op("Identity", g.Input("x", 2, 3))), 2, 3)),
        new("Constant_tensor_and_float", g =>
        {
            var c = g.Op("Constant", Array.Empty<string>(), Tensor("value", OnnxTensor.Of(Rand(3), 3)));
            var s = g.Op("Constant", Array.Empty<string>(), Float("value_float", 1.5f));
            g.Output(g.Op("Mul", g.Op("Add", g.Input("x", 2, 3), c), s), 2, 3);
        }),
        new("Cast_to_float_is_identity", g => g.Output(g.Op("Cast", g.Input("x", 2, 3), Int("to", 1)), 2, 3)),

        // Int64 graph inputs (Float32 holding integers): Gather with run-time indices (embedding lookups), Cast to float.
        new("Gather_int64_input_indices_1d", g => g.Output(g.Op("Gather", W(g, "emb.weight", 10, 6), g.Int64Input("ids", 7)), 7, 6), low: -10, high: 9),
        new("Gather_int64_input_indices_2d", g => g.Output(g.Op("Gather", W(g, "emb.weight", 10, 6), g.Int64Input("ids", 2, 3)), 2, 3, 6), low: -10, high: 9),
        new("Gather_int64_input_indices_axis1_runtime_data", g =>
            g.Output(g.Op("Gather", new[] { g.Input("x", 3, 5), g.Int64Input("ids", 2, 2) }, Int("axis", 1)), 3, 2, 2), low: -5, high: 4),
        new("Gather_int64_reshaped_cast_int32_indices", g =>
        {
            // ids [1, 6] -> Reshape [2, 3] -> Cast Int32 -> Gather; plus a second lookup summed in (token types).
            var ids = g.Op("Cast", g.Op("Reshape", g.Int64Input("ids", 1, 6), g.Int64s(2, 3)), Int("to", 6));
            var words = g.Op("Gather", W(g, "word_embeddings", 12, 4), ids);
            var types = g.Op("Gather", W(g, "type_embeddings", 12, 4), g.Op("Unsqueeze", g.Int64Input("types", 3), g.Int64s(0)));
            g.Output(g.Op("Add", words, types), 2, 3, 4);
        }, low: 0, high: 11),
        new("Cast_int64_attention_mask_to_float", g =>
        {
            // BERT's extended attention mask: (1 - float(mask[:, None, None, :])) * -10000, added to the scores.
            var mask = g.Op("Unsqueeze", g.Op("Unsqueeze", g.Int64Input("mask", 1, 5), g.Int64s(1)), g.Int64s(2));
            var bias = g.Op("Mul", g.Op("Sub", g.Scalar(1f), g.Op("Cast", mask, Int("to", 1))), g.Scalar(-10000f));
            g.Output(g.Op("Softmax", g.Op("Add", W(g, "scores", 1, 2, 5, 5), bias), Int("axis", -1)), 1, 2, 5, 5);
        }, low: 0, high: 1),

        // The shape arithmetic exporters emit, folded at import time: Reshape(x, [Shape(x)[0], -1]).
        new("Shape_Gather_Unsqueeze_Concat_Reshape", g =>
        {
            var x = g.Input("x", 2, 3, 4);
            var shape = g.Op("Shape", x);
            var batch = g.Op("Gather", shape, g.Initializer("zero", OnnxTensor.Of(new long[] { 0 })), Int("axis", 0));
            var dims = g.Op("Concat", new[] { g.Op("Unsqueeze", batch, g.Int64s(0)), g.Int64s(-1) }, Int("axis", 0));
            g.Output(g.Op("Relu", g.Op("Reshape", x, dims)), 2, 12);
        }),

        // Activations written as DSL compositions.
        new("Clip_attributes_opset7", g => g.Output(g.Op("Clip", g.Input("x", 2, 5), Float("min", -0.5f), Float("max", 0.6f)), 2, 5), opset: 7, low: -2f, high: 2f),
        new("Clip_attribute_max_only_opset9", g => g.Output(g.Op("Clip", g.Input("x", 2, 5), Float("max", 0.3f)), 2, 5), opset: 9),
        new("Clip_inputs_opset13", g => g.Output(g.Op("Clip", new[] { g.Input("x", 2, 5), g.Scalar(-0.5f), g.Scalar(0.6f) }), 2, 5), opset: 13),
        new("Clip_min_input_only_opset11", g => g.Output(g.Op("Clip", new[] { g.Input("x", 2, 5), g.Scalar(0f) }), 2, 5), opset: 11),
        new("Clip_max_input_only_opset13", g => g.Output(g.Op("Relu", g.Op("Clip", new[] { g.Input("x", 2, 5), "", g.Scalar(0.25f) })), 2, 5), opset: 13),
        new("Clip_no_bounds_opset13", g => g.Output(g.Op("Relu", g.Op("Clip", g.Input("x", 2, 5))), 2, 5), opset: 13),
        new("LeakyRelu_default", g => g.Output(g.Op("LeakyRelu", g.Input("x", 2, 5)), 2, 5)),
        new("LeakyRelu_alpha", g => g.Output(g.Op("LeakyRelu", g.Input("x", 2, 5), Float("alpha", 0.2f)), 2, 5)),
        new("LeakyRelu_alpha_above_one", g => g.Output(g.Op("LeakyRelu", g.Input("x", 2, 5), Float("alpha", 2.5f)), 2, 5)),
        new("PRelu_channel_slope", g => g.Output(g.Op("PRelu", g.Input("x", 1, 3, 4, 4), W(g, "prelu.weight", 3, 1, 1)), 1, 3, 4, 4)),
        new("HardSigmoid_default", g => g.Output(g.Op("HardSigmoid", g.Input("x", 2, 5)), 2, 5), low: -4f, high: 4f),
        new("HardSigmoid_alpha_beta", g => g.Output(g.Op("HardSigmoid", g.Input("x", 2, 5), Float("alpha", 0.5f), Float("beta", 0.4f)), 2, 5), low: -3f, high: 3f),
        new("HardSwish_opset14", g => g.Output(g.Op("HardSwish", g.Input("x", 2, 5)), 2, 5), opset: 14, low: -4f, high: 4f),
        new("Elu_default", g => g.Output(g.Op("Elu", g.Input("x", 2, 5)), 2, 5), low: -3f, high: 3f),
        new("Elu_alpha", g => g.Output(g.Op("Elu", g.Input("x", 2, 5), Float("alpha", 0.5f)), 2, 5), low: -3f, high: 3f),

        new("Softplus", g => g.Output(g.Op("Softplus", g.Input("x", 2, 5)), 2, 5), low: -6f, high: 6f),
        new("Selu_default", g => g.Output(g.Op("Selu", g.Input("x", 2, 5)), 2, 5), low: -3f, high: 3f),
        new("Selu_alpha_gamma", g => g.Output(g.Op("Selu", g.Input("x", 2, 5), Float("alpha", 1.5f), Float("gamma", 2f)), 2, 5), low: -3f, high: 3f),
        new("Celu_alpha_opset12", g => g.Output(g.Op("Celu", g.Input("x", 2, 5), Float("alpha", 2f)), 2, 5), opset: 12, low: -3f, high: 3f),
        new("Mish_opset18", g => g.Output(g.Op("Mish", g.Input("x", 2, 5)), 2, 5), opset: 18, low: -4f, high: 4f),
        new("Reciprocal", g => g.Output(g.Op("Reciprocal", g.Input("x", 2, 5)), 2, 5), low: 0.5f, high: 2f),
        new("InstanceNormalization", g => g.Output(g.Op("InstanceNormalization", new[] { g.Input("x", 2, 3, 4, 5), W(g, "in.weight", 3), W(g, "in.bias", 3) }, Float("epsilon", 1e-3f)), 2, 3, 4, 5)),
        new("InstanceNormalization_1d", g => g.Output(g.Op("InstanceNormalization", new[] { g.Input("x", 2, 3, 6), W(g, "in.weight", 3), W(g, "in.bias", 3) }), 2, 3, 6)),
        new("Softsign", g => g.Output(g.Op("Softsign", g.Input("x", 2, 5)), 2, 5), low: -3f, high: 3f),
        new("Gelu_opset20", g => g.Output(g.Op("Gelu", g.Input("x", 2, 5)), 2, 5), opset: 20, low: -3f, high: 3f),
        new("Gelu_tanh_opset20", g => g.Output(g.Op("Gelu", g.Input("x", 2, 5), Str("approximate", "tanh")), 2, 5), opset: 20, low: -3f, high: 3f),
        new("Sum_three_inputs_broadcast", g => g.Output(g.Op("Sum", new[] { g.Input("a", 2, 3), g.Input("b", 3), W(g, "c", 2, 1) }), 2, 3)),
        new("Mean_three_inputs", g => g.Output(g.Op("Mean", new[] { g.Input("a", 2, 3), g.Input("b", 2, 3), g.Input("c", 1, 3) }), 2, 3)),
        new("Max_three_inputs", g => g.Output(g.Op("Max", new[] { g.Input("a", 2, 3), g.Input("b", 2, 3), g.Scalar(0.1f) }), 2, 3), opset: 13),
        new("Min_one_input", g => g.Output(g.Op("Relu", g.Op("Min", new[] { g.Input("a", 2, 3) })), 2, 3)),
        new("LogSoftmax_default_opset13", g => g.Output(g.Op("LogSoftmax", g.Input("x", 2, 5)), 2, 5), opset: 13, low: -5f, high: 5f),
        new("LogSoftmax_axis1_opset13", g => g.Output(g.Op("LogSoftmax", g.Input("x", 2, 3, 4), Int("axis", 1)), 2, 3, 4), opset: 13),
        new("LogSoftmax_axis1_opset11_coerced", g => g.Output(g.Op("LogSoftmax", g.Input("x", 2, 3, 4), Int("axis", 1)), 2, 3, 4), opset: 11),
        new("LayerNormalization_opset17", g => g.Output(g.Op("LayerNormalization", new[] { g.Input("x", 2, 3, 8), W(g, "ln.weight", 8), W(g, "ln.bias", 8) }), 2, 3, 8), opset: 17),
        new("LayerNormalization_two_axes_no_bias", g => g.Output(g.Op("LayerNormalization", new[] { g.Input("x", 2, 3, 4), W(g, "ln.weight", 3, 4) }, Int("axis", -2), Float("epsilon", 1e-3f)), 2, 3, 4), opset: 17),
        new("LayerNorm_decomposed_opset13", g =>
        {
            var x = g.Input("x", 2, 3, 8);
            var mean = g.Op("ReduceMean", x, List("axes", -1));
            var centered = g.Op("Sub", x, mean);
            var variance = g.Op("ReduceMean", g.Op("Pow", centered, g.Scalar(2f)), List("axes", -1));
            var normalized = g.Op("Div", centered, g.Op("Sqrt", g.Op("Add", variance, g.Scalar(1e-5f))));
            g.Output(g.Op("Add", g.Op("Mul", normalized, W(g, "ln.weight", 8)), W(g, "ln.bias", 8)), 2, 3, 8);
        }, opset: 13),

        // BatchNormalization: folded into the Conv before it when that Conv has no other reader, else Mul/Add.
        new("BatchNorm_folded_into_conv_bias", g => g.Output(g.Op("Relu", ConvBn(g, g.Input("x", 1, 3, 6, 6), 3, 4, bias: true)), 1, 4, 6, 6)),
        new("BatchNorm_folded_into_conv_no_bias_opset7", g => g.Output(ConvBn(g, g.Input("x", 2, 2, 5, 5), 2, 3, bias: false), 2, 3, 5, 5), opset: 7),
        new("BatchNorm_conv_has_other_reader", g =>
        {
            var conv = g.Op("Conv", new[] { g.Input("x", 1, 2, 5, 5), W(g, "conv.weight", 3, 2, 1, 1) });
            var bn = g.Op("BatchNormalization", new[] { conv, Positive(g, "bn.weight", 3), W(g, "bn.bias", 3), W(g, "bn.running_mean", 3), Positive(g, "bn.running_var", 3) });
            g.Output(g.Op("Add", bn, conv), 1, 3, 5, 5);
        }),
        new("BatchNorm_folded_into_gemm_transB", g =>
        {
            var fc = g.Op("Gemm", new[] { g.Input("x", 3, 5), W(g, "fc.weight", 4, 5), W(g, "fc.bias", 4) }, Int("transB", 1), Float("beta", 0.5f));
            g.Output(g.Op("BatchNormalization", new[] { fc, Positive(g, "bn.weight", 4), W(g, "bn.bias", 4), W(g, "bn.running_mean", 4), Positive(g, "bn.running_var", 4) }), 3, 4);
        }),
        new("BatchNorm_folded_into_gemm_no_bias", g =>
        {
            var fc = g.Op("Gemm", new[] { g.Input("x", 3, 5), W(g, "fc.weight", 5, 4) }, Float("alpha", 2f));
            g.Output(g.Op("BatchNormalization", new[] { fc, Positive(g, "bn.weight", 4), W(g, "bn.bias", 4), W(g, "bn.running_mean", 4), Positive(g, "bn.running_var", 4) }), 3, 4);
        }),
        new("BatchNorm_standalone_nchw_opset15", g => g.Output(g.Op("BatchNormalization", new[] { g.Input("x", 2, 3, 4, 5), Positive(g, "s", 3), W(g, "b", 3), W(g, "m", 3), Positive(g, "v", 3) }, Float("epsilon", 1e-4f), Float("momentum", 0.9f)), 2, 3, 4, 5), opset: 15),
        new("BatchNorm_1d_nc_opset9", g => g.Output(g.Op("BatchNormalization", new[] { g.Input("x", 4, 3), Positive(g, "s", 3), W(g, "b", 3), W(g, "m", 3), Positive(g, "v", 3) }), 4, 3), opset: 9),
        new("BatchNorm_spatial_attribute_opset7", g => g.Output(g.Op("BatchNormalization", new[] { g.Input("x", 2, 3, 5), Positive(g, "s", 3), W(g, "b", 3), W(g, "m", 3), Positive(g, "v", 3) }, Int("spatial", 1)), 2, 3, 5), opset: 7),

        // Reductions: axes as attribute (ReduceSum < 13, the others < 18) or input, keepdims, noop_with_empty_axes.
        new("ReduceMean_axes_attribute_keepdims", g => g.Output(g.Op("ReduceMean", g.Input("x", 2, 3, 4, 5), List("axes", 2, 3)), 2, 3, 1, 1), opset: 13),
        new("ReduceMean_axes_input_opset18", g => g.Output(g.Op("ReduceMean", new[] { g.Input("x", 2, 3, 4), g.Int64s(-1) }, Int("keepdims", 0)), 2, 3), opset: 18),
        new("ReduceMax_axes_attribute_opset11", g => g.Output(g.Op("ReduceMax", g.Input("x", 2, 3, 4), List("axes", 1), Int("keepdims", 0)), 2, 4), opset: 11),
        new("ReduceMax_all_axes_opset18", g => g.Output(g.Op("ReduceMax", g.Input("x", 2, 3, 4)), 1, 1, 1), opset: 18),
        new("ReduceSum_axes_attribute_opset11", g => g.Output(g.Op("ReduceSum", g.Input("x", 2, 3, 4), List("axes", 0, 2)), 1, 3, 1), opset: 11),
        new("ReduceSum_axes_input_opset13", g => g.Output(g.Op("ReduceSum", new[] { g.Input("x", 2, 3, 4), g.Int64s(1) }, Int("keepdims", 0)), 2, 4), opset: 13),
        new("ReduceSum_noop_empty_axes_opset13", g => g.Output(g.Op("Relu", g.Op("ReduceSum", g.Input("x", 2, 3), Int("noop_with_empty_axes", 1))), 2, 3), opset: 13),
        new("ReduceMin_axes_input_opset18", g => g.Output(g.Op("ReduceMin", new[] { g.Input("x", 2, 3, 4), g.Int64s(0, -1) }), 1, 3, 1), opset: 18),
        new("ReduceSumSquare_opset13", g => g.Output(g.Op("ReduceSumSquare", g.Input("x", 2, 3, 4), List("axes", 2), Int("keepdims", 0)), 2, 3), opset: 13),
        new("ReduceL2_opset13", g => g.Output(g.Op("ReduceL2", g.Input("x", 2, 3, 4), List("axes", 1)), 2, 1, 4), opset: 13),

        // Slice (attributes before opset 10, inputs from 10) and Split (attribute, input, num_outputs).
        new("Slice_attributes_opset9", g => g.Output(g.Op("Slice", g.Input("x", 3, 4, 5), List("starts", 1), List("ends", 3), List("axes", 1)), 3, 2, 5), opset: 9),
        new("Slice_attributes_no_axes_opset9", g => g.Output(g.Op("Slice", g.Input("x", 3, 4), List("starts", 1, -3), List("ends", 1000, -1)), 2, 2), opset: 9),
        new("Slice_inputs_negative_indices", g => g.Output(g.Op("Slice", new[] { g.Input("x", 3, 6), g.Int64s(-4), g.Int64s(-1), g.Int64s(-1) }), 3, 3), opset: 13),
        new("Slice_inputs_steps_two_axes", g => g.Output(g.Op("Slice", new[] { g.Input("x", 3, 6, 8), g.Int64s(0, 1), g.Int64s(5, long.MaxValue), g.Int64s(1, 2), g.Int64s(2, 3) }), 3, 3, 3), opset: 13),
        new("Slice_inputs_no_axes_opset10", g => g.Output(g.Op("Slice", new[] { g.Input("x", 4, 5), g.Int64s(1, 0), g.Int64s(long.MaxValue, 2) }), 3, 2), opset: 10),
        new("Slice_of_shape_folded", g =>
        {
            var x = g.Input("x", 2, 3, 4);
            var tail = g.Op("Slice", new[] { g.Op("Shape", x), g.Int64s(-1), g.Int64s(long.MaxValue) });
            g.Output(g.Op("Reshape", x, g.Op("Concat", new[] { g.Int64s(-1), tail }, Int("axis", 0))), 6, 4);
        }, opset: 13),
        new("Slice_negative_step_on_shape_folded", g =>
        {
            var x = g.Input("x", 2, 3, 4);
            var reversed = g.Op("Slice", new[] { g.Op("Shape", x), g.Int64s(-1), g.Int64s(long.MinValue), g.Int64s(0), g.Int64s(-1) });
            g.Output(g.Op("Reshape", x, reversed), 4, 3, 2);
        }, opset: 13),
        new("Split_equal_opset11", g => SplitCase(g, g.Input("x", 2, 6), 3, 1, null, Int("axis", 1)), opset: 11),
        new("Split_sizes_attribute_opset11", g => SplitCase(g, g.Input("x", 6, 2), 3, 0, null, List("split", 1, 2, 3)), opset: 11),
        new("Split_sizes_input_opset13", g => SplitCase(g, g.Input("x", 3, 6), 2, -1, g.Int64s(4, 2), Int("axis", -1)), opset: 13),
        new("Split_num_outputs_uneven_opset18", g => SplitCase(g, g.Input("x", 2, 7), 3, 1, null, Int("axis", 1), Int("num_outputs", 3)), opset: 18),
        new("Split_unused_output", g =>
        {
            g.Node("Split", new[] { g.Input("x", 4, 3) }, new[] { "a", "b" });
            g.Output(g.Op("Relu", "b"), 2, 3);
        }),

        // Pad: attributes before opset 11, inputs (pads, constant_value, axes from 18); constant/reflect/edge/wrap, negative pads.
        new("Pad_constant_attributes_opset7", g => g.Output(g.Op("Pad", g.Input("x", 1, 2, 3, 3), List("pads", 0, 0, 1, 2, 0, 0, 2, 1), Float("value", 0.5f)), 1, 2, 6, 6), opset: 7),
        new("Pad_reflect_opset13", g => g.Output(g.Op("Pad", new[] { g.Input("x", 1, 2, 4, 5), g.Int64s(0, 0, 1, 2, 0, 0, 2, 1) }, Str("mode", "reflect")), 1, 2, 7, 8), opset: 13),
        new("Pad_edge_opset11", g => g.Output(g.Op("Pad", new[] { g.Input("x", 3, 4), g.Int64s(0, 1, 2, 2) }, Str("mode", "edge")), 5, 7), opset: 11),
        new("Pad_constant_value_input_opset13", g => g.Output(g.Op("Pad", new[] { g.Input("x", 2, 3), g.Int64s(1, 0, 0, 2), g.Scalar(-1f) }), 3, 5), opset: 13),
        new("Pad_negative_crops_opset13", g => g.Output(g.Op("Pad", new[] { g.Input("x", 3, 5), g.Int64s(0, -1, 0, 2) }), 3, 6), opset: 13),
        new("Pad_axes_wrap_opset19", g => g.Output(g.Op("Pad", new[] { g.Input("x", 2, 5), g.Int64s(2, 1), "", g.Int64s(-1) }, Str("mode", "wrap")), 2, 8), opset: 19),

        // Comparisons, Not, Where, ConstantOfShape, Expand: evaluated on the constants of shape arithmetic.
        new("Where_Equal_on_shape_folded", g =>
        {
            var x = g.Input("x", 2, 3, 4);
            var s = g.Op("Slice", new[] { g.Op("Shape", x), g.Int64s(0), g.Int64s(2) });
            var c = g.Int64s(0, -1);
            g.Output(g.Op("Reshape", x, g.Op("Where", new[] { g.Op("Equal", c, g.Int64s(0)), s, c })), 2, 12);
        }, opset: 13),
        new("Greater_Less_Not_Where_folded", g =>
        {
            var x = g.Input("x", 2, 3, 4);
            var s = g.Op("Slice", new[] { g.Op("Shape", x), g.Int64s(0), g.Int64s(2) });
            var a = g.Op("Where", new[] { g.Op("Not", g.Op("Greater", s, g.Int64s(2))), g.Int64s(-1), s }); // [-1, 3]
            var b = g.Op("Where", new[] { g.Op("Less", a, g.Int64s(0)), g.Int64s(-1), a });
            var c = g.Op("Where", new[] { g.Op("GreaterOrEqual", b, g.Int64s(0)), b, g.Int64s(-1) });
            var d = g.Op("Where", new[] { g.Op("LessOrEqual", c, g.Int64s(-1)), c, c });
            g.Output(g.Op("Reshape", x, d), 8, 3);
        }, opset: 13),
        new("ConstantOfShape_Expand_folded", g =>
        {
            var x = g.Input("x", 2, 3);
            var ones = g.Op("ConstantOfShape", g.Op("Shape", x), Tensor("value", OnnxTensor.Of(new[] { 0.5f }, 1)));
            var row = g.Op("Expand", W(g, "row", 3), g.Int64s(2, 3));
            g.Output(g.Op("Add", g.Op("Mul", x, ones), row), 2, 3);
        }, opset: 13),
        new("Where_constant_condition_picks_input", g =>
        {
            var cond = g.Op("Cast", g.Int64s(1), Int("to", 9));
            g.Output(g.Op("Where", new[] { cond, g.Input("x", 2, 3), g.Input("y", 2, 3) }), 2, 3);
        }, opset: 13),

        // Comparisons, Not, And, Or, Xor, Where and Cast to and from bool on run-time tensors: Float32 masks.
        new("Equal_Greater_runtime_cast_to_float", g =>
        {
            var x = g.Input("x", 2, 3, 4);
            var eq = g.Op("Cast", g.Op("Equal", g.Op("Relu", x), g.Scalar(0f)), Int("to", 1));
            var gt = g.Op("Cast", g.Op("Greater", x, g.Input("y", 3, 1)), Int("to", 1));
            g.Output(g.Op("Add", eq, g.Op("Mul", gt, g.Scalar(2f))), 2, 3, 4);
        }, opset: 13),
        new("GreaterOrEqual_Less_LessOrEqual_runtime", g =>
        {
            var x = g.Input("x", 3, 5);
            var relu = g.Op("Relu", x);
            var ge = g.Op("Cast", g.Op("GreaterOrEqual", x, relu), Int("to", 1));
            var lt = g.Op("Cast", g.Op("Less", x, W(g, "limit", 5)), Int("to", 1));
            var le = g.Op("Cast", g.Op("LessOrEqual", relu, g.Scalar(0.25f)), Int("to", 1));
            g.Output(g.Op("Add", g.Op("Add", ge, g.Op("Mul", lt, g.Scalar(2f))), g.Op("Mul", le, g.Scalar(4f))), 3, 5);
        }, opset: 13),
        new("Not_And_Or_Xor_runtime_and_constant", g =>
        {
            var x = g.Input("x", 2, 4);
            var positive = g.Op("Greater", x, g.Scalar(0f));
            var small = g.Op("Less", x, g.Scalar(0.5f));
            var pattern = g.Op("Cast", g.Int64s(1, 0, 1, 1), Int("to", 9)); // a constant bool
            var and = g.Op("And", positive, small);
            var or = g.Op("Or", g.Op("Not", positive), pattern);
            var xor = g.Op("Xor", and, or);
            var sum = g.Op("Add", g.Op("Cast", and, Int("to", 1)), g.Op("Mul", g.Op("Cast", or, Int("to", 1)), g.Scalar(2f)));
            g.Output(g.Op("Add", sum, g.Op("Mul", g.Op("Cast", xor, Int("to", 1)), g.Scalar(4f))), 2, 4);
        }, opset: 13),
        new("Where_runtime_condition_broadcast", g =>
        {
            var x = g.Input("x", 2, 3, 4);
            var condition = g.Op("Greater", g.Input("c", 3, 1), g.Scalar(0f));
            g.Output(g.Op("Where", new[] { condition, x, g.Op("Mul", x, g.Scalar(0.1f)) }), 2, 3, 4);
        }, opset: 13),
        new("Where_runtime_condition_constant_operands", g =>
        {
            var x = g.Input("x", 3, 4);
            g.Output(g.Op("Where", new[] { g.Op("LessOrEqual", x, g.Scalar(0f)), g.Scalar(-1f), W(g, "row", 4) }), 3, 4);
        }, opset: 13),
        new("Where_mixed_constant_condition", g =>
        {
            var condition = g.Op("Cast", g.Int64s(1, 0, 0, 1), Int("to", 9));
            g.Output(g.Op("Where", new[] { condition, g.Input("x", 3, 4), g.Input("y", 3, 1) }), 3, 4);
        }, opset: 13),
        new("Cast_to_bool_and_back_runtime", g =>
        {
            var x = g.Input("x", 2, 5);
            var nonzero = g.Op("Cast", g.Op("Relu", x), Int("to", 9));
            var back = g.Op("Cast", nonzero, Int("to", 1));
            g.Output(g.Op("Add", back, g.Op("Where", new[] { nonzero, x, g.Scalar(3f) })), 2, 5);
        }, opset: 13),

        // If: a condition computed at run time (both branches computed, Where selects), in each direction; nested; and a
        // constant condition (only the taken branch is imported: the other has an op the importer does not know).
        IfOnTheMean("If_runtime_condition_takes_then", low: -0.3f, high: 1f),
        IfOnTheMean("If_runtime_condition_takes_else", low: -1f, high: 0.3f),
        IfNested("If_nested_then_then", low: 0.2f, high: 1f),
        IfNested("If_nested_then_else", low: -0.1f, high: 0.3f),
        IfNested("If_nested_else", low: -1f, high: -0.1f),
        new("If_constant_condition_imports_the_taken_branch", g =>
        {
            var x = g.Input("x", 2, 3);
            var rows = g.Op("Gather", g.Op("Shape", x), g.Int64s(0), Int("axis", 0));
            var condition = g.Op("Equal", rows, g.Int64s(2));
            var then = new OnnxGraph("then", "t_");
            then.Output(then.Op("Mul", x, then.Scalar(3f)));
            var otherwise = new OnnxGraph("else", "e_");
            otherwise.Output(otherwise.Op("Round", x));
            g.Node("If", new[] { condition }, new[] { "y" }, Graph("then_branch", then), Graph("else_branch", otherwise));
            g.Output("y", 2, 3);
        }, opset: 13),

        // Resize (every mode, coordinate transformation and rounding; scales and sizes; opsets 10 to 19) and Upsample.
        ResizeCase("Resize_nearest_opset10_enlarge", 10, new[] { 1f, 1f, 2f, 1.5f }, null),
        ResizeCase("Resize_nearest_opset10_shrink", 10, new[] { 1f, 1f, 0.6f, 0.5f }, null),
        ResizeCase("Resize_linear_opset10", 10, new[] { 1f, 1f, 2f, 1.5f }, null, Str("mode", "linear")),
        ResizeCase("Resize_nearest_half_pixel_opset11", 11, new[] { 1f, 1f, 1.7f, 2f }, null),
        ResizeCase("Resize_linear_half_pixel_sizes_opset11", 11, null, new long[] { 1, 2, 8, 3 }, Str("mode", "linear")),
        ResizeCase("Resize_linear_align_corners_opset13", 13, null, new long[] { 1, 2, 9, 12 }, Str("mode", "linear"), Str("coordinate_transformation_mode", "align_corners")),
        ResizeCase("Resize_linear_pytorch_half_pixel_opset13", 13, null, new long[] { 1, 2, 1, 10 }, Str("mode", "linear"), Str("coordinate_transformation_mode", "pytorch_half_pixel")),
        ResizeCase("Resize_linear_asymmetric_scales_opset13", 13, new[] { 1f, 1f, 2.5f, 0.75f }, null, Str("mode", "linear"), Str("coordinate_transformation_mode", "asymmetric")),
        ResizeCase("Resize_nearest_asymmetric_floor_opset13", 13, new[] { 1f, 1f, 3f, 2f }, null, Str("coordinate_transformation_mode", "asymmetric"), Str("nearest_mode", "floor")),
        ResizeCase("Resize_nearest_tf_half_pixel_ceil_opset13", 13, null, new long[] { 1, 2, 3, 11 }, Str("coordinate_transformation_mode", "tf_half_pixel_for_nn"), Str("nearest_mode", "ceil")),
        ResizeCase("Resize_nearest_align_corners_prefer_ceil_opset13", 13, null, new long[] { 1, 2, 9, 13 }, Str("coordinate_transformation_mode", "align_corners"), Str("nearest_mode", "round_prefer_ceil")),
        ResizeCase("Resize_nearest_pytorch_half_pixel_prefer_floor_opset18", 18, new[] { 1f, 1f, 0.6f, 2f }, null, Str("coordinate_transformation_mode", "pytorch_half_pixel")),
        ResizeCase("Resize_linear_axes_opset18", 18, new[] { 2f, 3f }, null, Str("mode", "linear"), List("axes", 2, 3)),
        ResizeCase("Resize_nearest_sizes_prefer_ceil_opset19", 19, null, new long[] { 1, 2, 10, 21 }, Str("nearest_mode", "round_prefer_ceil")),
        ResizeCase("Resize_linear_half_pixel_symmetric_opset19", 19, new[] { 1f, 1f, 1.7f, 0.6f }, null, Str("mode", "linear"), Str("coordinate_transformation_mode", "half_pixel_symmetric")),
        ResizeCase("Resize_nearest_half_pixel_symmetric_opset19", 19, new[] { 1f, 1f, 2.3f, 1.5f }, null, Str("coordinate_transformation_mode", "half_pixel_symmetric")),
        new("Upsample_nearest_attribute_opset7", g => g.Output(g.Op("Upsample", g.Input("x", 1, 2, 3, 4), FloatList("scales", 1f, 1f, 2f, 3f))), opset: 7),
        new("Upsample_linear_input_opset9", g => g.Output(g.Op("Upsample", new[] { g.Input("x", 1, 2, 3, 4), g.Initializer("scales", new[] { 1f, 1f, 2f, 2.5f }, 4) }, Str("mode", "linear"))), opset: 9),
        // LSTM: each output alone and together (each a DSL call of its own), with and without B and initial states,
        // batch > 1, opsets 7 and 14, layout 1, constant full-length sequence_lens, clip, the default activations spelled out.
        LstmCase("LSTM_Y_opset7", 5, 1, 3, 4, bias: false, initial: false, new[] { 0 }, 7),
        LstmCase("LSTM_Y_bias_initial_batch3_opset14", 4, 3, 5, 6, bias: true, initial: true, new[] { 0 }, 14),
        LstmCase("LSTM_Yh_bias_opset7", 6, 2, 4, 3, bias: true, initial: false, new[] { 1 }, 7),
        LstmCase("LSTM_Yh_initial_opset14", 3, 2, 4, 5, bias: false, initial: true, new[] { 1 }, 14),
        LstmCase("LSTM_Yc_opset7", 4, 1, 3, 4, bias: false, initial: false, new[] { 2 }, 7),
        LstmCase("LSTM_Yc_bias_initial_batch2_opset14", 5, 2, 6, 8, bias: true, initial: true, new[] { 2 }, 14),
        LstmCase("LSTM_Y_Yh_Yc_batch2_opset14", 4, 2, 3, 5, bias: true, initial: true, new[] { 0, 1, 2 }, 14),
        LstmCase("LSTM_Yh_Yc_opset7", 3, 3, 4, 4, bias: true, initial: false, new[] { 1, 2 }, 7),
        LstmCase("LSTM_layout1_all_outputs_opset14", 4, 3, 5, 6, bias: true, initial: true, new[] { 0, 1, 2 }, 14, layout: 1),
        LstmCase("LSTM_sequence_lens_full_clip_activations_opset14", 5, 2, 3, 4, bias: true, initial: false, new[] { 0 }, 14, lengths: new long[] { 5, 5 },
            extra: new[] { Float("clip", 0.4f), StrList("activations", "Sigmoid", "Tanh", "Tanh"), Str("direction", "forward") }),

        // Small whole models.
        new("Mlp_Gemm_Relu_Gemm_Softmax", g =>
        {
            var h = g.Op("Relu", g.Op("Gemm", new[] { g.Input("input", 2, 8), W(g, "fc1.weight", 16, 8), W(g, "fc1.bias", 16) }, Int("transB", 1)));
            g.Output(g.Op("Softmax", g.Op("Gemm", new[] { h, W(g, "fc2.weight", 4, 16), W(g, "fc2.bias", 4) }, Int("transB", 1)), Int("axis", 1)), 2, 4);
        }, opset: 11),
        new("Cnn_Conv_Relu_MaxPool_Conv_GlobalPool_Flatten_Gemm", g =>
        {
            var c1 = g.Op("Relu", g.Op("Conv", new[] { g.Input("image", 1, 3, 12, 12), W(g, "conv1.weight", 8, 3, 3, 3), W(g, "conv1.bias", 8) }, List("pads", 1, 1, 1, 1)));
            var p = g.Op("MaxPool", c1, List("kernel_shape", 2, 2), List("strides", 2, 2));
            var c2 = g.Op("Relu", g.Op("Conv", new[] { p, W(g, "conv2.weight", 16, 8, 3, 3) }, List("strides", 2, 2), List("pads", 1, 1, 1, 1)));
            var f = g.Op("Flatten", g.Op("GlobalAveragePool", c2));
            g.Output(g.Op("Gemm", new[] { f, W(g, "fc.weight", 10, 16), W(g, "fc.bias", 10) }, Int("transB", 1)), 1, 10);
        }),
    };
}
