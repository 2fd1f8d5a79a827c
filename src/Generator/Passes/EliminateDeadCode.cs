using System.Linq;
using Aot.Generator.IR;

namespace Aot.Generator.Passes;

/// <summary>
/// Removes nodes whose results never reach a graph output (e.g. a value a model computes and then ignores).
/// Requires: a verified graph. Guarantees: every remaining node contributes to an output; inputs and weights keep
/// their ids (unused weights stay, so the weights file still matches the declaration).
/// </summary>
internal sealed class EliminateDeadCode : IPass
{
    public string Name => nameof(EliminateDeadCode);

    public Graph Run(Graph graph)
    {
        var live = new bool[graph.Values.Count];
        foreach (var output in graph.Outputs) live[output] = true;
        for (int i = graph.Nodes.Count - 1; i >= 0; i--)
        {
            var node = graph.Nodes[i];
            if (!live[node.Output]) continue;
            foreach (var input in node.Inputs) live[input] = true;
        }

        if (graph.Nodes.All(n => live[n.Output])) return graph;
        var rewriter = new GraphRewriter(graph);
        foreach (var node in graph.Nodes.Where(n => live[n.Output])) rewriter.Copy(node);
        return rewriter.Finish();
    }
}
