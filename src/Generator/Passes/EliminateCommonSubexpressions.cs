using System.Collections.Generic;
using System.Linq;
using Aot.Generator.IR;

namespace Aot.Generator.Passes;

/// <summary>
/// Computes each value once: a node with the same op, operands, attributes (and fused body) as an earlier node is
/// dropped and its readers read the earlier result (exported models repeat reshapes, constants and whole expressions,
/// such as the two identical input reshapes of openWakeWord's real and imaginary STFT convolutions). Every op is a pure
/// function of its operands, so this is always sound.
/// Requires: a verified graph. Guarantees: the same values at the outputs; inputs, weights and outputs keep their
/// ids (a graph output that duplicates another node reads that node's result).
/// </summary>
internal sealed class EliminateCommonSubexpressions : IPass
{
    public string Name => nameof(EliminateCommonSubexpressions);

    public Graph Run(Graph graph)
    {
        var rewriter = new GraphRewriter(graph);
        var seen = new Dictionary<(OpKind, EquatableArray<int>, Attrs, EquatableArray<Node>), int>(); // by mapped operands -> old id
        bool changed = false;
        foreach (var node in graph.Nodes)
        {
            var key = (node.Op, new EquatableArray<int>(node.Inputs.Select(rewriter.Map)), node.Attrs, node.Body);
            if (seen.TryGetValue(key, out int earlier) && graph.TypeOf(earlier).Equals(graph.TypeOf(node.Output)))
            {
                rewriter.Alias(node.Output, earlier);
                changed = true;
                continue;
            }

            seen[key] = node.Output;
            rewriter.Copy(node);
        }

        return changed ? rewriter.Finish() : graph;
    }
}
