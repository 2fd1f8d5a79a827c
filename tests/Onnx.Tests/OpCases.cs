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
        new("MaxPool_2x2", g => g.Output(g.Op("MaxPool", g.Input("x", 1, 2, 6, 6), List("kernel_shape", 2, 2), List("strides", 2, 2)))),
        new("MaxPool_3x3_stride1_pad1", g => g.Output(g.Op("MaxPool", g.Input("x", 1, 2, 5, 5), List("kernel_shape", 3, 3), List("pads", 1, 1, 1, 1)))),
        new("AveragePool_exclude_pad", g => g.Output(g.Op("AveragePool", g.Input("x", 1, 2, 7, 7), List("kernel_shape", 3, 3), List("strides", 2, 2), List("pads", 1, 1, 1, 1)))),
        new("AveragePool_include_pad", g => g.Output(g.Op("AveragePool", g.Input("x", 1, 2, 7, 7), List("kernel_shape", 3, 3), List("strides", 2, 2), List("pads", 1, 1, 1, 1), Int("count_include_pad", 1)))),
        new("AveragePool_ceil_mode_same_size", g => g.Output(g.Op("AveragePool", g.Input("x", 1, 2, 6, 6), List("kernel_shape", 2, 2), List("strides", 2, 2), Int("ceil_mode", 1)))),
        new("GlobalAveragePool", g => g.Output(g.Op("GlobalAveragePool", g.Input("x", 2, 3, 5, 4)), 2, 3, 1, 1)),

        // Shapes and data movement.
        new("Flatten_default", g => g.Output(g.Op("Flatten", g.Input("x", 2, 3, 4, 5)), 2, 60)),
        new("Flatten_axis2", g => g.Output(g.Op("Flatten", g.Input("x", 2, 3, 4, 5), Int("axis", 2)), 6, 20)),
        new("Reshape_zero_and_minus_one", g => g.Output(g.Op("Reshape", g.Input("x", 2, 3, 4), g.Int64s(0, -1)), 2, 12)),
        new("Transpose_perm", g => g.Output(g.Op("Transpose", g.Input("x", 2, 3, 4), List("perm", 0, 2, 1)), 2, 4, 3)),
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

        // The shape arithmetic exporters emit, folded at import time: Reshape(x, [Shape(x)[0], -1]).
        new("Shape_Gather_Unsqueeze_Concat_Reshape", g =>
        {
            var x = g.Input("x", 2, 3, 4);
            var shape = g.Op("Shape", x);
            var batch = g.Op("Gather", shape, g.Initializer("zero", OnnxTensor.Of(new long[] { 0 })), Int("axis", 0));
            var dims = g.Op("Concat", new[] { g.Op("Unsqueeze", batch, g.Int64s(0)), g.Int64s(-1) }, Int("axis", 0));
            g.Output(g.Op("Relu", g.Op("Reshape", x, dims)), 2, 12);
        }),

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
