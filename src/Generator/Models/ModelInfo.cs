using Aot.Generator.IR;

namespace Aot.Generator.Models;

/// <summary>A Forward parameter: its C# name and the graph value it becomes.</summary>
internal sealed record InputInfo(string Name, int ValueId);

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
    Graph Graph);
