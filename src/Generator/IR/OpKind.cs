namespace Aot.Generator.IR;

/// <summary>
/// Every operation the IR knows. The frontend lowers DSL calls onto these (Linear becomes Gemm, indexing a
/// tensor becomes Slice + Reshape); shape rules live in <see cref="ShapeInference"/>, attribute names in
/// <see cref="AttrNames"/>.
/// </summary>
internal enum OpKind
{
    /// <summary>A scalar float constant; attr value.</summary>
    Constant,

    // Linear algebra
    MatMul,

    /// <summary>2-D alpha*op(A)@op(B) + beta*C; attrs alpha, beta, transA, transB; C optional (third input).</summary>
    Gemm,

    // Elementwise binary with numpy broadcasting
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    Pow,

    // Comparisons with numpy broadcasting: Float32 masks, 1 where true, 0 where false
    Equal,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,

    // Elementwise unary
    Relu,

    /// <summary>attr mode: 0 erf, 1 tanh.</summary>
    Gelu,
    Sigmoid,
    Tanh,
    Exp,
    Log,
    Sqrt,
    Rsqrt,
    Neg,
    Abs,
    Erf,

    /// <summary>1 - x: the negation of a mask.</summary>
    Not,

    /// <summary>Inputs condition, a, b (numpy broadcasting of all three): a where condition != 0, else b.</summary>
    Where,

    // Normalization and reductions
    /// <summary>attr axis (non-negative).</summary>
    Softmax,

    /// <summary>inputs x, gamma, beta; attrs axis (first normalized axis), epsilon.</summary>
    LayerNorm,

    /// <summary>attrs axes (sorted, non-negative), keepdims.</summary>
    ReduceSum,
    ReduceMean,
    ReduceMax,

    // Data movement
    /// <summary>attr shape (fully resolved, no -1).</summary>
    Reshape,

    /// <summary>attr perm.</summary>
    Transpose,

    /// <summary>attr axis (non-negative); any number of inputs.</summary>
    Concat,

    /// <summary>attrs axis, start, end, step, already normalized to 0 &lt;= start, end &lt;= dim, step &gt; 0.</summary>
    Slice,

    /// <summary>inputs data, indices (Int32, or Float32 holding integers: integer ONNX inputs); attr axis.</summary>
    Gather,

    // Convolution and pooling, NCHW
    /// <summary>inputs x, w, optional bias; attrs strides [h,w], pads [top,left,bottom,right], dilations [h,w], group.</summary>
    Conv2d,

    /// <summary>Transposed convolution: inputs x [N, C, H, W], w [C, K/group, R, S], optional bias [K]; attrs strides [h,w],
    /// pads [top,left,bottom,right], output_padding [h,w], dilations [h,w], group. OH = (H-1)*stride - top - bottom +
    /// dilation*(R-1) + 1 + output_padding; input pixel ih reaches output ih*stride - top + r*dilation.</summary>
    ConvTranspose2d,

    /// <summary>attrs kernel [h,w], strides [h,w], pads [top,left,bottom,right].</summary>
    MaxPool2d,

    /// <summary>attrs kernel, strides, pads, count_include_pad.</summary>
    AvgPool2d,
    GlobalAvgPool,

    /// <summary>[N, C, H, W] -> [N, C, shape[0], shape[1]]; attrs shape, mode (0 nearest, 1 linear), coordinates and
    /// nearest (ResizeMath's mode numbers), scale_h, scale_w (the coordinate scales).</summary>
    Resize,
    // Recurrent
    /// <summary>ONNX LSTM, forward, layout 0: inputs x [seq, batch, input], w [1, 4H, input], r [1, 4H, H], then the
    /// optional b [1, 8H], initial h and initial c [1, batch, H] that attr optional says are present (see
    /// <see cref="LstmOperands"/>); attrs output (Dsl.LstmOutput: 0 Y [seq, 1, batch, H], 1 Y_h, 2 Y_c [1, batch, H]),
    /// clip (0: none). With attr n (= 4H; set by PackGemmWeights on the CPU) w and r are PackB results: W^T [input, 4H]
    /// and R^T [H, 4H] in GEMM panels.</summary>
    Lstm,

    /// <summary>A CPU layout op: B [k, n] (or [n, k] with attr transB) repacked into the GEMM microkernel's panels,
    /// a flat [GemmLayout.PackedLength(k, n)]. Made by PackGemmWeights, evaluated once at load time.</summary>
    PackB,

    /// <summary>Gemm whose B operand comes from <see cref="PackB"/>: inputs A [m, k], packed B, optional C;
    /// attrs alpha, beta, n.</summary>
    PackedGemm,

    /// <summary>A CPU op: <see cref="Conv2d"/> (same inputs and attributes) run as implicit GEMM on the matrix-product
    /// microkernel, weights [K/group, C/group*R*S] times the input's im2col matrix, read tile by tile, never stored.</summary>
    ConvGemm,

    /// <summary>A CPU op: a stride-1, undilated, single-group convolution small enough for L1, computed directly (made by
    /// LowerSmallConv): inputs x [N, C, H, W], w as [C, R, S, K] (a load-time transpose), optional bias [K]; attrs pads,
    /// relu (1: ReLU applied), pool (2: a 2 x 2 / stride 2 max pooling follows, 0: none), shape (the result).</summary>
    SmallConv,

    /// <summary>A CPU layout op: 3x3 convolution weights [K, C, 3, 3] in the Winograd F(2x2, 3x3) transform domain,
    /// [16, K, C] (the runtime's Sgemm.TransformWinogradWeights). Made by LowerConvToWinograd, evaluated once at load time.</summary>
    WinogradWeights,

    /// <summary>A CPU op: a 3x3, stride-1, undilated, single-group <see cref="Conv2d"/> by Winograd's F(2x2, 3x3) (made by
    /// LowerConvToWinograd): inputs x [N, C, H, W], the <see cref="WinogradWeights"/> [16, K, C], optional bias [K];
    /// attrs pads, block (output tiles per block, from the cost model).</summary>
    WinogradConv,

    /// <summary>Several elementwise ops computed in one pass over the output (see <see cref="Node.Body"/>);
    /// made by the FuseElementwise pass, never by the frontend.</summary>
    Fused,
}

/// <summary>Attribute names, in one place so the frontend, passes and backends agree.</summary>
internal static class AttrNames
{
    public const string Value = "value";
    public const string Alpha = "alpha";
    public const string Beta = "beta";
    public const string TransA = "transA";
    public const string TransB = "transB";
    public const string Mode = "mode";
    public const string Axis = "axis";
    public const string Axes = "axes";
    public const string KeepDims = "keepdims";
    public const string Epsilon = "epsilon";
    public const string Shape = "shape";
    public const string Perm = "perm";
    public const string Start = "start";
    public const string End = "end";
    public const string Step = "step";
    public const string Strides = "strides";
    public const string Pads = "pads";
    public const string Dilations = "dilations";
    public const string OutputPadding = "output_padding";
    public const string Group = "group";
    public const string Kernel = "kernel";
    public const string CountIncludePad = "count_include_pad";
    public const string N = "n";
    public const string Coordinates = "coordinates";
    public const string Nearest = "nearest";
    public const string ScaleH = "scale_h";
    public const string ScaleW = "scale_w";
    public const string Output = "output";
    public const string Clip = "clip";
    public const string Optional = "optional";
    public const string Relu = "relu";
    public const string Pool = "pool";

    // GEMM cache blocks of PackedGemm and ConvGemm, set by the AssignGemmBlocks pass (tuned = 1: from a tuning file).
    public const string Kc = "kc";
    public const string Mc = "mc";
    public const string Tuned = "tuned";

    /// <summary>Output tiles a WinogradConv transforms and multiplies at a time (a multiple of the GEMM panel width).</summary>
    public const string Block = "block";
}

internal static class OpKindInfo
{
    public static bool IsElementwiseBinary(OpKind op) => op is OpKind.Add or OpKind.Sub or OpKind.Mul or OpKind.Div or OpKind.Max or OpKind.Min or OpKind.Pow
        or OpKind.Equal or OpKind.Greater or OpKind.GreaterOrEqual or OpKind.Less or OpKind.LessOrEqual;

    public static bool IsElementwiseUnary(OpKind op) => op is OpKind.Relu or OpKind.Gelu or OpKind.Sigmoid or OpKind.Tanh or OpKind.Exp
        or OpKind.Log or OpKind.Sqrt or OpKind.Rsqrt or OpKind.Neg or OpKind.Abs or OpKind.Erf or OpKind.Not;

    /// <summary>Elementwise ops of any arity (unary, binary, and Where), with numpy broadcasting of their operands.</summary>
    public static bool IsElementwise(OpKind op) => IsElementwiseBinary(op) || IsElementwiseUnary(op) || op == OpKind.Where;

    /// <summary>The operand count of an elementwise op (a Constant has none).</summary>
    public static int ElementwiseArity(OpKind op) => op == OpKind.Constant ? 0 : op == OpKind.Where ? 3 : IsElementwiseBinary(op) ? 2 : 1;

    /// <summary>Ops a fused elementwise body may contain.</summary>
    public static bool IsFusableElementwise(OpKind op) => op == OpKind.Constant || IsElementwise(op);

    public static bool IsReduction(OpKind op) => op is OpKind.ReduceSum or OpKind.ReduceMean or OpKind.ReduceMax;
}

/// <summary>Where an <see cref="OpKind.Lstm"/> node's optional operands are: attr optional is a mask (1: b, 2: initial h,
/// 4: initial c) and the present ones follow x, w, r in that order; -1 for an absent one.</summary>
internal readonly record struct LstmOperands(int Bias, int InitialH, int InitialC)
{
    public const int X = 0, W = 1, R = 2;

    /// <summary>The values of attr output (Dsl.LstmOutput).</summary>
    public const long Sequence = 0, LastHidden = 1, LastCell = 2;

    public int Count => 3 + (Bias >= 0 ? 1 : 0) + (InitialH >= 0 ? 1 : 0) + (InitialC >= 0 ? 1 : 0);

    public static long Mask(bool bias, bool initialH, bool initialC) => (bias ? 1L : 0) | (initialH ? 2L : 0) | (initialC ? 4L : 0);

    public static LstmOperands Of(Attrs attrs)
    {
        long mask = attrs.Int(AttrNames.Optional);
        int next = R + 1;
        int Take(long bit) => (mask & bit) != 0 ? next++ : -1;
        int bias = Take(1), h = Take(2), c = Take(4);
        return new LstmOperands(bias, h, c);
    }
}
