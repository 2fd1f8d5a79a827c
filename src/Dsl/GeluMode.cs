namespace Aot.Dsl;

/// <summary>Which formula <see cref="Ops.Gelu"/> uses.</summary>
public enum GeluMode
{
    /// <summary>x * 0.5 * (1 + erf(x / sqrt(2))), the exact form.</summary>
    Erf = 0,

    /// <summary>0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))), the approximation GPT-2 uses.</summary>
    Tanh = 1,
}
