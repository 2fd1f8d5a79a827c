using Aot.Dsl;
using static Aot.Dsl.Ops;

namespace GpuBenchmarks.Models;

/// <summary>C = A @ B, fp32, 4096 x 4096 x 4096: A is the input, B a weight. 2*M*N*K = 137.4 GFLOP per run.</summary>
[Model]
public partial class Gemm4096
{
    public const int M = 4096, K = 4096, N = 4096;

    [Weight(K, N)] public Tensor? B { get; set; }

    public Tensor Forward([Input(M, K)] Tensor a)
    {
        return MatMul(a, B!);
    }
}

/// <summary>The same GEMM at 64 x 64 x 64 (CPU smoke mode and the small correctness check).</summary>
[Model]
public partial class GemmSmall
{
    public const int M = 64, K = 64, N = 64;

    [Weight(K, N)] public Tensor? B { get; set; }

    public Tensor Forward([Input(M, K)] Tensor a)
    {
        return MatMul(a, B!);
    }
}
