using Aot.Dsl;

namespace GpuBenchmarks.Models;

/// <summary>The weights every transformer-block size declares, so the harness initializes and shares them in one place.</summary>
public interface IBlockWeights
{
    Tensor? Ln1Weight { get; set; }
    Tensor? Ln1Bias { get; set; }
    Tensor? WQ { get; set; }
    Tensor? BQ { get; set; }
    Tensor? WK { get; set; }
    Tensor? BK { get; set; }
    Tensor? WV { get; set; }
    Tensor? BV { get; set; }
    Tensor? WO { get; set; }
    Tensor? BO { get; set; }
    Tensor? Ln2Weight { get; set; }
    Tensor? Ln2Bias { get; set; }
    Tensor? W1 { get; set; }
    Tensor? B1 { get; set; }
    Tensor? W2 { get; set; }
    Tensor? B2 { get; set; }
}

public partial class TransformerBlock : IBlockWeights;

public partial class TransformerBlockCheck : IBlockWeights;

public partial class TransformerBlockSmall : IBlockWeights;
