using Aot.Dsl;
using static Aot.Dsl.Ops;

namespace GpuBenchmarks.Models;

/// <summary>y = relu(x * a + b) * sigmoid(x) + c over x[65536, 1024] (64M floats); a, b, c are per-column vectors
/// [1024] broadcast over the rows, so the unavoidable memory traffic is x read once and y written once:
/// 2 * 256 MiB (+ 3 * 4 KiB for the vectors). A fused kernel moves exactly that; an unfused one moves more.</summary>
[Model]
public partial class ElementwiseChain
{
    public const int Rows = 65536, Cols = 1024;

    [Weight(Cols)] public Tensor? A { get; set; }
    [Weight(Cols)] public Tensor? B { get; set; }
    [Weight(Cols)] public Tensor? C { get; set; }

    public Tensor Forward([Input(Rows, Cols)] Tensor x)
    {
        return Relu(x * A! + B!) * Sigmoid(x) + C!;
    }
}

/// <summary>The same chain over x[64, 1024] (64K floats).</summary>
[Model]
public partial class ElementwiseChainSmall
{
    public const int Rows = 64, Cols = 1024;

    [Weight(Cols)] public Tensor? A { get; set; }
    [Weight(Cols)] public Tensor? B { get; set; }
    [Weight(Cols)] public Tensor? C { get; set; }

    public Tensor Forward([Input(Rows, Cols)] Tensor x)
    {
        return Relu(x * A! + B!) * Sigmoid(x) + C!;
    }
}
