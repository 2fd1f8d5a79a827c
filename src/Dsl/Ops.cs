using System;

namespace Aot.Dsl;

/// <summary>
/// The DSL's operators. Inside a model's <c>Forward</c> method these calls are what the generator compiles;
/// called directly, each runs the eager reference implementation (plain, obviously correct C#), the oracle
/// that every numerical test compares against. All tensors are row-major; image ops use NCHW.
/// Shape errors throw <see cref="ArgumentException"/> with the same wording the compiler's diagnostics use.
/// </summary>
public static partial class Ops
{
    // ---- Linear algebra -------------------------------------------------------------------------------

    /// <summary>numpy matmul: rank-1 operands are promoted (and the added axis removed afterwards); leading
    /// (batch) dimensions broadcast; a[..., m, k] @ b[..., k, n] -> [..., m, n].</summary>
    public static Tensor MatMul(Tensor a, Tensor b) => EagerMatMul(a, b);

    /// <summary>PyTorch's linear layer: x[..., in] @ weight[out, in]^T + bias[out].</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null) => EagerLinear(x, weight, bias);

    /// <summary>ONNX Gemm on 2-D operands: alpha * op(a) @ op(b) + beta * c, op = transpose when the flag is set;
    /// c broadcasts to [m, n].</summary>
    public static Tensor Gemm(Tensor a, Tensor b, Tensor? c = null, float alpha = 1f, float beta = 1f, bool transA = false, bool transB = false) => EagerGemm(a, b, c, alpha, beta, transA, transB);

    // ---- Elementwise binary (numpy broadcasting) ------------------------------------------------------

    public static Tensor Add(Tensor a, Tensor b) => Binary("Add", a, b, static (p, q) => p + q);
    public static Tensor Sub(Tensor a, Tensor b) => Binary("Sub", a, b, static (p, q) => p - q);
    public static Tensor Mul(Tensor a, Tensor b) => Binary("Mul", a, b, static (p, q) => p * q);
    public static Tensor Div(Tensor a, Tensor b) => Binary("Div", a, b, static (p, q) => p / q);
    public static Tensor Max(Tensor a, Tensor b) => Binary("Max", a, b, MathF.Max);
    public static Tensor Min(Tensor a, Tensor b) => Binary("Min", a, b, MathF.Min);

    /// <summary>a ** b elementwise (MathF.Pow semantics).</summary>
    public static Tensor Pow(Tensor a, Tensor b) => Binary("Pow", a, b, MathF.Pow);

    // ---- Comparisons and selection (Float32 masks: 1 where true, 0 where false; numpy broadcasting) -----------

    public static Tensor Equal(Tensor a, Tensor b) => Binary("Equal", a, b, static (p, q) => p == q ? 1f : 0f);
    public static Tensor Greater(Tensor a, Tensor b) => Binary("Greater", a, b, static (p, q) => p > q ? 1f : 0f);
    public static Tensor GreaterOrEqual(Tensor a, Tensor b) => Binary("GreaterOrEqual", a, b, static (p, q) => p >= q ? 1f : 0f);
    public static Tensor Less(Tensor a, Tensor b) => Binary("Less", a, b, static (p, q) => p < q ? 1f : 0f);
    public static Tensor LessOrEqual(Tensor a, Tensor b) => Binary("LessOrEqual", a, b, static (p, q) => p <= q ? 1f : 0f);

    /// <summary>1 - x: the negation of a mask.</summary>
    public static Tensor Not(Tensor x) => Unary("Not", x, static v => 1.0 - v);

    /// <summary>a where condition != 0, b elsewhere (a NaN condition counts as true); all three broadcast together.</summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b) =>
        Broadcasting("Where", new[] { condition, a, b }, new[] { "condition", "first operand", "second operand" }, static v => v[0] != 0f ? v[1] : v[2]);

    // ---- Elementwise unary ----------------------------------------------------------------------------

    public static Tensor Relu(Tensor x) => Unary("Relu", x, static v => Math.Max(v, 0.0));
    public static Tensor Gelu(Tensor x, GeluMode mode = GeluMode.Erf) => Unary("Gelu", x, GeluFunction(mode));
    public static Tensor Sigmoid(Tensor x) => Unary("Sigmoid", x, static v => 1.0 / (1.0 + Math.Exp(-v)));
    public static Tensor Tanh(Tensor x) => Unary("Tanh", x, Math.Tanh);
    public static Tensor Exp(Tensor x) => Unary("Exp", x, Math.Exp);
    public static Tensor Log(Tensor x) => Unary("Log", x, Math.Log);
    public static Tensor Sqrt(Tensor x) => Unary("Sqrt", x, Math.Sqrt);

    /// <summary>1 / sqrt(x).</summary>
    public static Tensor Rsqrt(Tensor x) => Unary("Rsqrt", x, static v => 1.0 / Math.Sqrt(v));
    public static Tensor Neg(Tensor x) => Unary("Neg", x, static v => -v);
    public static Tensor Abs(Tensor x) => Unary("Abs", x, Math.Abs);
    public static Tensor Erf(Tensor x) => Unary("Erf", x, ErfD);

    // ---- Normalization and reductions -----------------------------------------------------------------

    /// <summary>exp(x - max) / sum(exp(x - max)) along <paramref name="axis"/> (negative counts from the end).</summary>
    public static Tensor Softmax(Tensor x, int axis = -1) => EagerSoftmax(x, axis);

    /// <summary>Normalizes over the last gamma.Rank axes: (x - mean) / sqrt(var + eps) * gamma + beta, with the
    /// biased variance (PyTorch's layer_norm). gamma and beta have the shape of those trailing axes.</summary>
    public static Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, float epsilon = 1e-5f) => EagerLayerNorm(x, gamma, beta, epsilon);

    public static Tensor ReduceSum(Tensor x, int axis, bool keepDims = false) => ReduceSum(x, new[] { axis }, keepDims);
    public static Tensor ReduceSum(Tensor x, int[] axes, bool keepDims = false) => Reduce("ReduceSum", x, axes, keepDims, ReduceKind.Sum);
    public static Tensor ReduceMean(Tensor x, int axis, bool keepDims = false) => ReduceMean(x, new[] { axis }, keepDims);
    public static Tensor ReduceMean(Tensor x, int[] axes, bool keepDims = false) => Reduce("ReduceMean", x, axes, keepDims, ReduceKind.Mean);
    public static Tensor ReduceMax(Tensor x, int axis, bool keepDims = false) => ReduceMax(x, new[] { axis }, keepDims);
    public static Tensor ReduceMax(Tensor x, int[] axes, bool keepDims = false) => Reduce("ReduceMax", x, axes, keepDims, ReduceKind.Max);

    // ---- Data movement --------------------------------------------------------------------------------

    /// <summary>Same elements, new shape; one dimension may be -1 (inferred).</summary>
    public static Tensor Reshape(Tensor x, params int[] shape) => EagerReshape(x, shape);

    /// <summary>Permutes axes: output axis i is input axis perm[i]. An empty perm reverses the axes.</summary>
    public static Tensor Transpose(Tensor x, params int[] perm) => EagerTranspose(x, perm);

    /// <summary>Joins tensors along <paramref name="axis"/>; all other dimensions must match.</summary>
    public static Tensor Concat(Tensor[] inputs, int axis) => EagerConcat(inputs, axis);

    /// <summary>Elements start, start+step, ... (before end) along one axis, with Python's rules for negative and
    /// out-of-range start/end (clamped). step must be positive.</summary>
    public static Tensor Slice(Tensor x, int axis, int start, int end, int step = 1) => EagerSlice(x, axis, start, end, step);

    /// <summary>Index <paramref name="index"/> of the first axis, with that axis removed (negative counts from the end).</summary>
    public static Tensor Select(Tensor x, int index) => EagerSelect(x, index);

    /// <summary>Embedding lookup: out = data.shape[:axis] + indices.shape + data.shape[axis+1:]; indices are Int32, or
    /// Float32 holding integers (exact up to 2^24; how integer ONNX inputs are imported); negative ones count from the
    /// end; an index out of range (or a Float32 index that is not an integer) throws.</summary>
    public static Tensor Gather(Tensor data, Tensor indices, int axis = 0) => EagerGather(data, indices, axis);

    // ---- Recurrent ------------------------------------------------------------------------------------------

    /// <summary>ONNX LSTM, forward direction, layout 0: x [seq, batch, input], w [1, 4*hidden, input],
    /// r [1, 4*hidden, hidden], b [1, 8*hidden] (W's biases, then R's), initialH and initialC [1, batch, hidden]
    /// (zeros when absent); gates in the order i, o, f, c with sigmoid, tanh, tanh:
    /// i = sigmoid(x W_i^T + h R_i^T + b_i), likewise o and f, c' = tanh(...), c = f*c + i*c', h = o*tanh(c).
    /// <paramref name="clip"/> &gt; 0 clamps every gate's pre-activation to [-clip, clip] (0: no clipping).
    /// <paramref name="output"/> picks the result: Y [seq, 1, batch, hidden], Y_h or Y_c [1, batch, hidden]; two of
    /// them take two calls, each running the whole recurrence.</summary>
    public static Tensor Lstm(Tensor x, Tensor w, Tensor r, Tensor? b = null, Tensor? initialH = null, Tensor? initialC = null, LstmOutput output = LstmOutput.Sequence, float clip = 0f) =>
        EagerLstm(x, w, r, b, initialH, initialC, output, clip);

    // ---- Convolution and pooling (NCHW) ---------------------------------------------------------------

    /// <summary>x[N, C, H, W] * weight[K, C/groups, R, S] (+ bias[K]) -> [N, K, OH, OW] with
    /// OH = (H + 2*padding - dilation*(R-1) - 1) / stride + 1 (floor), likewise OW.</summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) =>
        Conv2d(x, weight, bias, stride, stride, padding, padding, dilation, dilation, groups);

    /// <summary>Conv2d with a stride, padding (on both sides) and dilation per axis:
    /// OH = (H + 2*padH - dilationH*(R-1) - 1) / strideH + 1 (floor), OW likewise with the W values. The dilations
    /// have no defaults so that a positional call can never be read as the square overload (which takes at most 7).</summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, int strideH, int strideW, int padH, int padW, int dilationH, int dilationW, int groups = 1) =>
        EagerConv2d(x, weight, bias, strideH, strideW, padH, padW, dilationH, dilationW, groups);

    /// <summary>Transposed convolution (the gradient of Conv2d with respect to its input): x[N, C, H, W] with
    /// weight[C, K/groups, R, S] (+ bias[K]) -> [N, K, OH, OW], where input pixel (iy, ix) adds weight * x at output
    /// (iy*stride - padding + r*dilation, ix*stride - padding + s*dilation);
    /// OH = (H - 1)*stride - 2*padding + dilation*(R-1) + 1 + outputPadding, likewise OW. The outputPadding extra
    /// rows and columns at the end get only what reaches them (at least the bias).</summary>
    public static Tensor ConvTranspose2d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int outputPadding = 0, int dilation = 1, int groups = 1) =>
        ConvTranspose2d(x, weight, bias, stride, stride, padding, padding, outputPadding, outputPadding, dilation, dilation, groups);

    /// <summary>ConvTranspose2d with a stride, padding, output padding and dilation per axis:
    /// OH = (H - 1)*strideH - 2*padH + dilationH*(R-1) + 1 + outputPaddingH, OW likewise with the W values. The output
    /// paddings have no defaults so that a positional call can never be read as the square overload (at most 8).</summary>
    public static Tensor ConvTranspose2d(
        Tensor x, Tensor weight, Tensor? bias, int strideH, int strideW, int padH, int padW, int outputPaddingH, int outputPaddingW, int dilationH = 1, int dilationW = 1, int groups = 1) =>
        EagerConvTranspose2d(x, weight, bias, strideH, strideW, padH, padW, outputPaddingH, outputPaddingW, dilationH, dilationW, groups);

    /// <summary>Max over kernel x kernel windows; stride defaults to kernel; padding is -infinity.
    /// OH = (H + 2*padding - kernel) / stride + 1 (floor).</summary>
    public static Tensor MaxPool2d(Tensor x, int kernel, int stride = 0, int padding = 0) => Pool2d("MaxPool2d", x, kernel, kernel, stride, stride, padding, padding, PoolKind.Max);

    /// <summary>Max over kernelH x kernelW windows moved by (strideH, strideW) (0: the kernel size on that axis);
    /// padH rows and padW columns of -infinity on each side, each at most half the kernel on its axis.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernelH, int kernelW, int strideH, int strideW, int padH = 0, int padW = 0) => Pool2d("MaxPool2d", x, kernelH, kernelW, strideH, strideW, padH, padW, PoolKind.Max);

    /// <summary>Mean over kernel x kernel windows; stride defaults to kernel. With countIncludePad the divisor is
    /// kernel*kernel (PyTorch's default), otherwise the number of in-bounds elements.</summary>
    public static Tensor AvgPool2d(Tensor x, int kernel, int stride = 0, int padding = 0, bool countIncludePad = true) => AvgPool2d(x, kernel, kernel, stride, stride, padding, padding, countIncludePad);

    /// <summary>Mean over kernelH x kernelW windows moved by (strideH, strideW) (0: the kernel size on that axis), with
    /// padH rows and padW columns of padding on each side; the divisor as in the square overload.</summary>
    public static Tensor AvgPool2d(Tensor x, int kernelH, int kernelW, int strideH, int strideW, int padH = 0, int padW = 0, bool countIncludePad = true) =>
        Pool2d("AvgPool2d", x, kernelH, kernelW, strideH, strideW, padH, padW, countIncludePad ? PoolKind.AvgIncludePad : PoolKind.AvgExcludePad);

    /// <summary>[N, C, H, W] -> [N, C, 1, 1], the mean over H and W.</summary>
    public static Tensor GlobalAvgPool(Tensor x) => EagerGlobalAvgPool(x);

    /// <summary>[N, C, H, W] -> [N, C, height, width]: each output pixel reads the input at its source coordinate
    /// (<paramref name="coordinates"/>, with the scales height / H and width / W unless given) as the nearest pixel or
    /// bilinearly, ONNX Resize's semantics. A scale given explicitly (ONNX's scales input) may differ from the size
    /// ratio.</summary>
    public static Tensor Resize(Tensor x, int height, int width, ResizeMode mode = ResizeMode.Nearest, ResizeCoordinates coordinates = ResizeCoordinates.HalfPixel,
        ResizeNearest nearest = ResizeNearest.RoundPreferFloor, float scaleHeight = 0f, float scaleWidth = 0f) =>
        EagerResize(x, height, width, mode, coordinates, nearest, scaleHeight, scaleWidth);
}
