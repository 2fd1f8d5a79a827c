using Aot.Generator.IR;

namespace Aot.Generator.Passes;

/// <summary>One graph-to-graph transformation with a name (used by dumps and by the per-pass switches).</summary>
internal interface IPass
{
    string Name { get; }

    Graph Run(Graph graph);
}
