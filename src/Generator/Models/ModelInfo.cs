using Aot.Generator.IR;

namespace Aot.Generator.Models;

/// <summary>A Forward parameter: its C# name, the graph value it becomes, and its dynamic axis (-1: none).</summary>
internal sealed record InputInfo(string Name, int ValueId, int DynamicAxis = -1);

/// <summary>A weight member: its C# member name, its name in the weights file, and the graph value it becomes.</summary>
internal sealed record WeightInfo(string MemberName, string FileName, int ValueId);

/// <summary>
/// Everything the backends need about one model, as plain equatable data (no symbols, no syntax): the pipeline
/// model the incremental generator caches between edits.
/// </summary>
internal sealed record ModelInfo(
    string Namespace,
    string ClassName,
    EquatableArray<InputInfo> Inputs,
    EquatableArray<WeightInfo> Weights,
    Graph Graph,
    DynamicSize? Dynamic = null);

/// <summary>
/// A model with dynamic axes (<c>[Input(..., DynamicAxis = a)]</c>): one size shared by those axes, from 1 to
/// <see cref="Bound"/> at run time. <see cref="ModelInfo.Graph"/> is lowered at the bound; <see cref="Probes"/> are the
/// same Forward lowered at <see cref="ProbeSizes"/>, from which the CPU backend learns how each size in its code
/// depends on the dynamic size (see Backends/Cpu/DynamicCode.cs).
/// </summary>
internal sealed record DynamicSize(int Bound, EquatableArray<Graph> Probes)
{
    /// <summary>The sizes to lower at besides the bound.</summary>
    public static int[] ProbeSizes(int bound) => SizePolynomial.ProbeSizes(bound);
}
