namespace Aot.Runtime.Tuning;

/// <summary>
/// One GEMM kernel of a generated model whose cache blocks can be tuned: every <c>[Model]</c> class lists its kernels in
/// a static <c>TunableKernels</c> property, which the tuner (src/Tuner) reads from the built assembly. The kernel runs
/// C[M, N] = A[M, K] @ B (B packed) with Sgemm.Multiply, <see cref="Calls"/> times per inference, with the cache
/// blocks <see cref="Kc"/> and <see cref="Mc"/> this build emitted: from a tuning file when <see cref="Tuned"/>, else
/// from the generator's cost model.
/// </summary>
/// <param name="Model">The model class's full name (namespace.Class).</param>
/// <param name="Name">The kernel's stable name in the generated code: its IR value, e.g. <c>%5</c>.</param>
/// <param name="Kind"><c>gemm</c> (a matrix product with a packed weight) or <c>conv</c> (a convolution as implicit GEMM).</param>
/// <param name="M">Rows of A and C.</param>
/// <param name="N">Columns of B and C.</param>
/// <param name="K">Columns of A, rows of B.</param>
/// <param name="Kc">The k block this build uses.</param>
/// <param name="Mc">The m block this build uses.</param>
/// <param name="Tuned">Whether the blocks come from a tuning file (else from the cost model).</param>
/// <param name="Calls">How many times an inference runs this product (a convolution: once per image and group).</param>
public sealed record TunableKernel(string Model, string Name, string Kind, int M, int N, int K, int Kc, int Mc, bool Tuned, int Calls)
{
    /// <summary>The line of a tuning file that sets this kernel's blocks to <paramref name="kc"/> and <paramref name="mc"/>.</summary>
    public string TuningLine(int kc, int mc) => $"{Model}/{Name} {Kind} m={M} n={N} k={K} kc={kc} mc={mc}";
}
