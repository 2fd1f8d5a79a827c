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
    public static Tensor MatMul(Tensor a, Tensor b) => throw new NotImplementedException();

    /// <summary>PyTorch's linear layer: x[..., in] @ weight[out, in]^T + bias[out].</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null) => throw new NotImplementedException();

    /// <summary>ONNX Gemm on 2-D operands: alpha * op(a) @ op(b) + beta * c, op = transpose when the flag is set;
    /// c broadcasts to [m, n].</summary>
    public static Tensor Gemm(Tensor a, Tensor b, Tensor? c = null, float alpha = 1f, float beta = 1f, bool transA = false, bool transB = false) => throw new NotImplementedException();

    // ---- Elementwise binary (numpy broadcasting) ------------------------------------------------------

    public static Tensor Add(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor Sub(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor Mul(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor Div(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor Max(Tensor a, Tensor b) => throw new NotImplementedException();
    public static Tensor Min(Tensor a, Tensor b) => throw new NotImplementedException();

    /// <summary>a ** b elementwise (MathF.Pow semantics).</summary>
    public static Tensor Pow(Tensor a, Tensor b) => throw new NotImplementedException();

    // ---- Elementwise unary ----------------------------------------------------------------------------

    public static Tensor Relu(Tensor x) => throw new NotImplementedException();
    public static Tensor Gelu(Tensor x, GeluMode mode = GeluMode.Erf) => throw new NotImplementedException();
    public static Tensor Sigmoid(Tensor x) => throw new NotImplementedException();
    public static Tensor Tanh(Tensor x) => throw new NotImplementedException();
    public static Tensor Exp(Tensor x) => throw new NotImplementedException();
    public static Tensor Log(Tensor x) => throw new NotImplementedException();
    public static Tensor Sqrt(Tensor x) => throw new NotImplementedException();

    /// <summary>1 / sqrt(x).</summary>
    public static Tensor Rsqrt(Tensor x) => throw new NotImplementedException();
    public static Tensor Neg(Tensor x) => throw new NotImplementedException();
    public static Tensor Abs(Tensor x) => throw new NotImplementedException();
    public static Tensor Erf(Tensor x) => throw new NotImplementedException();

    // ---- Normalization and reductions -----------------------------------------------------------------

    /// <summary>exp(x - max) / sum(exp(x - max)) along <paramref name="axis"/> (negative counts from the end).</summary>
    public static Tensor Softmax(Tensor x, int axis = -1) => throw new NotImplementedException();

    /// <summary>Normalizes over the last gamma.Rank axes: (x - mean) / sqrt(var + eps) * gamma + beta, with the
    /// biased variance (PyTorch's layer_norm). gamma and beta have the shape of those trailing axes.</summary>
    public static Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, float epsilon = 1e-5f) => throw new NotImplementedException();

    public static Tensor ReduceSum(Tensor x, int axis, bool keepDims = false) => ReduceSum(x, new[] { axis }, keepDims);
    public static Tensor ReduceSum(Tensor x, int[] axes, bool keepDims = false) => throw new NotImplementedException();
    public static Tensor ReduceMean(Tensor x, int axis, bool keepDims = false) => ReduceMean(x, new[] { axis }, keepDims);
    public static Tensor ReduceMean(Tensor x, int[] axes, bool keepDims = false) => throw new NotImplementedException();
    public static Tensor ReduceMax(Tensor x, int axis, bool keepDims = false) => ReduceMax(x, new[] { axis }, keepDims);
    public static Tensor ReduceMax(Tensor x, int[] axes, bool keepDims = false) => throw new NotImplementedException();

    // ---- Data movement --------------------------------------------------------------------------------

    /// <summary>Same elements, new shape; one dimension may be -1 (inferred).</summary>
    public static Tensor Reshape(Tensor x, params int[] shape) => throw new NotImplementedException();

    /// <summary>Permutes axes: output axis i is input axis perm[i]. An empty perm reverses the axes.</summary>
    public static Tensor Transpose(Tensor x, params int[] perm) => throw new NotImplementedException();

    /// <summary>Joins tensors along <paramref name="axis"/>; all other dimensions must match.</summary>
    public static Tensor Concat(Tensor[] inputs, int axis) => throw new NotImplementedException();

    /// <summary>Elements start, start+step, ... (before end) along one axis, with Python's rules for negative and
    /// out-of-range start/end (clamped). step must be positive.</summary>
    public static Tensor Slice(Tensor x, int axis, int start, int end, int step = 1) => throw new NotImplementedException();

    /// <summary>Index <paramref name="index"/> of the first axis, with that axis removed (negative counts from the end).</summary>
    public static Tensor Select(Tensor x, int index) => throw new NotImplementedException();

    /// <summary>Embedding lookup: out = data.shape[:axis] + indices.shape + data.shape[axis+1:]; indices are Int32,
    /// negative ones count from the end; an index out of range throws.</summary>
    public static Tensor Gather(Tensor data, Tensor indices, int axis = 0) => throw new NotImplementedException();

    // ---- Convolution and pooling (NCHW) ---------------------------------------------------------------

    /// <summary>x[N, C, H, W] * weight[K, C/groups, R, S] (+ bias[K]) -> [N, K, OH, OW] with
    /// OH = (H + 2*padding - dilation*(R-1) - 1) / stride + 1 (floor), likewise OW.</summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1) => throw new NotImplementedException();

    /// <summary>Max over kernel x kernel windows; stride defaults to kernel; padding is -infinity.
    /// OH = (H + 2*padding - kernel) / stride + 1 (floor).</summary>
    public static Tensor MaxPool2d(Tensor x, int kernel, int stride = 0, int padding = 0) => throw new NotImplementedException();

    /// <summary>Mean over kernel x kernel windows; stride defaults to kernel. With countIncludePad the divisor is
    /// kernel*kernel (PyTorch's default), otherwise the number of in-bounds elements.</summary>
    public static Tensor AvgPool2d(Tensor x, int kernel, int stride = 0, int padding = 0, bool countIncludePad = true) => throw new NotImplementedException();

    /// <summary>[N, C, H, W] -> [N, C, 1, 1], the mean over H and W.</summary>
    public static Tensor GlobalAvgPool(Tensor x) => throw new NotImplementedException();
}
