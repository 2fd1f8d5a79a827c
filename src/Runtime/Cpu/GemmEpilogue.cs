using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Aot.Runtime.Cpu;

/// <summary>The activation a <see cref="GemmEpilogue"/> applies (the same functions, and the same vector and scalar
/// forms, as the generated elementwise kernels).</summary>
public enum GemmActivation
{
    None,
    Relu,

    /// <summary>Exact (erf) GELU.</summary>
    Gelu,

    /// <summary>tanh-approximated GELU.</summary>
    GeluTanh,
    Sigmoid,
    Tanh,
}

/// <summary>
/// Work <see cref="Sgemm.Multiply"/>
/// applies to each tile of C right after its last k block, while the tile is still in registers or L1, instead of
/// separate passes over C. With t = alpha * A @ B (+ C when accumulating), each element becomes
/// <c>act(t + rowBias[i] + columnBias[j] (+ residual[i, j])) (+ residual[i, j])</c>, the residual added before or
/// after the activation (<see cref="ResidualAfterActivation"/>). Empty spans mean "absent". The residual must not
/// overlap C (C holds partial sums before the last k block).
/// </summary>
public readonly ref struct GemmEpilogue
{
    /// <summary>[m]: added to every element of row i (a convolution's per-channel bias).</summary>
    public ReadOnlySpan<float> RowBias { get; init; }

    /// <summary>[n]: added to every element of column j (a linear layer's bias).</summary>
    public ReadOnlySpan<float> ColumnBias { get; init; }

    /// <summary>m x n, rows <see cref="ResidualStride"/> apart: added elementwise (a skip connection).</summary>
    public ReadOnlySpan<float> Residual { get; init; }

    /// <summary>Floats between the starts of consecutive residual rows.</summary>
    public int ResidualStride { get; init; }

    /// <summary>Add the residual after the activation instead of before it.</summary>
    public bool ResidualAfterActivation { get; init; }

    public GemmActivation Activation { get; init; }

    internal bool IsEmpty => RowBias.IsEmpty && ColumnBias.IsEmpty && Residual.IsEmpty && Activation == GemmActivation.None;
}

/// <summary>A <see cref="GemmEpilogue"/> with its spans pinned: plain data the kernels and worker threads share.</summary>
internal readonly unsafe struct PinnedEpilogue
{
    public readonly float* RowBias, ColumnBias, Residual;
    public readonly int ResidualStride;
    public readonly bool ResidualAfterActivation;
    public readonly GemmActivation Activation;
    public readonly bool Active;

    public PinnedEpilogue(float* rowBias, float* columnBias, float* residual, int residualStride, bool residualAfterActivation, GemmActivation activation)
    {
        RowBias = rowBias;
        ColumnBias = columnBias;
        Residual = residual;
        ResidualStride = residualStride;
        ResidualAfterActivation = residualAfterActivation;
        Activation = activation;
        Active = rowBias != null || columnBias != null || residual != null || activation != GemmActivation.None;
    }

    /// <summary>Whether the register-level store does everything (only bias, residual and ReLU).</summary>
    public bool LinearOnly => Activation is GemmActivation.None or GemmActivation.Relu;

    /// <summary>
    /// The epilogue over <paramref name="count"/> elements of C's row <paramref name="row"/> from column
    /// <paramref name="col"/>, in memory (<paramref name="c"/> points at C[row, col]). With
    /// <paramref name="linearDone"/> the biases and a residual added before the activation are already in
    /// (the microkernel's store did them in registers), so only the activation and a later residual remain.
    /// </summary>
    public void ApplyRow(float* c, int count, int row, int col, bool linearDone)
    {
        // One loop per activation (a struct type argument), so each is compiled with its function inlined.
        switch (Activation)
        {
            case GemmActivation.Relu: ApplyRow<ReluOp>(c, count, row, col, linearDone); break;
            case GemmActivation.Gelu: ApplyRow<GeluOp>(c, count, row, col, linearDone); break;
            case GemmActivation.GeluTanh: ApplyRow<GeluTanhOp>(c, count, row, col, linearDone); break;
            case GemmActivation.Sigmoid: ApplyRow<SigmoidOp>(c, count, row, col, linearDone); break;
            case GemmActivation.Tanh: ApplyRow<TanhOp>(c, count, row, col, linearDone); break;
            default: ApplyRow<IdentityOp>(c, count, row, col, linearDone); break;
        }
    }

    /// <summary>
    /// The activation, then a residual added after it, over a rows x 32 tile of C (C[row, col] at <paramref name="c"/>,
    /// rows <paramref name="ldc"/> apart) whose biases and earlier residual are already in: the Vector512 part of
    /// <see cref="ApplyRow"/> with linearDone, for a whole tile of the AVX-512 GEMM at once.
    /// </summary>
    public void ActivateTile(float* c, int ldc, int rows, int row, int col)
    {
        switch (Activation)
        {
            case GemmActivation.Relu: ActivateTile<ReluOp>(c, ldc, rows, row, col); break;
            case GemmActivation.Gelu: ActivateTile<GeluOp>(c, ldc, rows, row, col); break;
            case GemmActivation.GeluTanh: ActivateTile<GeluTanhOp>(c, ldc, rows, row, col); break;
            case GemmActivation.Sigmoid: ActivateTile<SigmoidOp>(c, ldc, rows, row, col); break;
            case GemmActivation.Tanh: ActivateTile<TanhOp>(c, ldc, rows, row, col); break;
            default: ActivateTile<IdentityOp>(c, ldc, rows, row, col); break;
        }
    }

    private void ActivateTile<TActivation>(float* c, int ldc, int rows, int row, int col)
        where TActivation : struct, IActivation
    {
        bool residualLast = Residual != null && ResidualAfterActivation;
        for (int r = 0; r < rows; r++)
        {
            float* cRow = c + (long)r * ldc;
            float* residual = Residual + (long)(row + r) * ResidualStride + col;
            for (int j = 0; j < GemmLayout.PanelWidth; j += Vector512<float>.Count)
            {
                var v = TActivation.Apply(Vector512.Load(cRow + j));
                if (residualLast) v += Vector512.Load(residual + j);
                v.Store(cRow + j);
            }
        }
    }

    private void ApplyRow<TActivation>(float* c, int count, int row, int col, bool linearDone)
        where TActivation : struct, IActivation
    {
        float rowBias = RowBias != null ? RowBias[row] : 0f;
        float* colBias = ColumnBias != null ? ColumnBias + col : null;
        float* residual = Residual != null ? Residual + (long)row * ResidualStride + col : null;
        bool residualFirst = residual != null && !ResidualAfterActivation;
        bool residualLast = residual != null && ResidualAfterActivation;
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var rb = Vector512.Create(rowBias);
            for (; j <= count - Vector512<float>.Count; j += Vector512<float>.Count)
            {
                var v = Vector512.Load(c + j);
                if (!linearDone)
                {
                    if (colBias != null) v += Vector512.Load(colBias + j);
                    if (RowBias != null) v += rb;
                    if (residualFirst) v += Vector512.Load(residual + j);
                }

                v = TActivation.Apply(v);
                if (residualLast) v += Vector512.Load(residual + j);
                v.Store(c + j);
            }
        }

        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            var rb = new Vector<float>(rowBias);
            for (; j <= count - width; j += width)
            {
                var v = Unsafe.ReadUnaligned<Vector<float>>(c + j);
                if (!linearDone)
                {
                    if (colBias != null) v += Unsafe.ReadUnaligned<Vector<float>>(colBias + j);
                    if (RowBias != null) v += rb;
                    if (residualFirst) v += Unsafe.ReadUnaligned<Vector<float>>(residual + j);
                }

                v = TActivation.Apply(v);
                if (residualLast) v += Unsafe.ReadUnaligned<Vector<float>>(residual + j);
                Unsafe.WriteUnaligned(c + j, v);
            }
        }

        for (; j < count; j++)
        {
            float v = c[j];
            if (!linearDone)
            {
                if (colBias != null) v += colBias[j];
                if (RowBias != null) v += rowBias;
                if (residualFirst) v += residual[j];
            }

            v = TActivation.Apply(v);
            if (residualLast) v += residual[j];
            c[j] = v;
        }
    }

    /// <summary>An activation's vector and scalar forms, the generated elementwise kernels' (KernelMath's polynomials
    /// for vectors, MathF and the accurate erfc for scalars).</summary>
    private interface IActivation
    {
        static abstract Vector512<float> Apply(Vector512<float> v);

        static abstract Vector<float> Apply(Vector<float> v);

        static abstract float Apply(float v);
    }

    private struct IdentityOp : IActivation
    {
        public static Vector512<float> Apply(Vector512<float> v) => v;

        public static Vector<float> Apply(Vector<float> v) => v;

        public static float Apply(float v) => v;
    }

    private struct ReluOp : IActivation
    {
        public static Vector512<float> Apply(Vector512<float> v) => KernelMath.Relu(v);

        public static Vector<float> Apply(Vector<float> v) => KernelMath.Relu(v);

        public static float Apply(float v) => MathF.Max(v, 0f);
    }

    private struct GeluOp : IActivation
    {
        public static Vector512<float> Apply(Vector512<float> v) => KernelMath.Gelu(v);

        public static Vector<float> Apply(Vector<float> v) => KernelMath.Gelu(v);

        public static float Apply(float v) => 0.5f * v * KernelMath.Erfc(v * -0.70710677f);
    }

    private struct GeluTanhOp : IActivation
    {
        public static Vector512<float> Apply(Vector512<float> v) => v / (Vector512<float>.One + KernelMath.Exp((v + v * v * v * 0.044715f) * -1.5957692f));

        public static Vector<float> Apply(Vector<float> v) => v / (Vector<float>.One + KernelMath.Exp((v + v * v * v * 0.044715f) * -1.5957692f));

        public static float Apply(float v) => v / (1f + MathF.Exp(-1.5957692f * (v + 0.044715f * v * v * v)));
    }

    private struct SigmoidOp : IActivation
    {
        public static Vector512<float> Apply(Vector512<float> v) => KernelMath.Sigmoid(v);

        public static Vector<float> Apply(Vector<float> v) => KernelMath.Sigmoid(v);

        public static float Apply(float v) => 1f / (1f + MathF.Exp(-v));
    }

    private struct TanhOp : IActivation
    {
        public static Vector512<float> Apply(Vector512<float> v) => KernelMath.Tanh(v);

        public static Vector<float> Apply(Vector<float> v) => KernelMath.Tanh(v);

        public static float Apply(float v) => MathF.Tanh(v);
    }
}
