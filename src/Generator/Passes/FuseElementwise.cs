using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Aot.Generator.IR;

namespace Aot.Generator.Passes;

/// <summary>
/// Groups connected elementwise ops into one <see cref="OpKind.Fused"/> node, so a chain or DAG such as
/// <c>relu(x*a+b)*sigmoid(x)+c</c> becomes a single loop nest with no intermediate buffers.
/// <para>
/// Algorithm: visit nodes in reverse topological order; each elementwise node not yet claimed starts a group. A
/// producer joins its users' group when it is elementwise, has the group's output shape (so nothing is recomputed
/// per broadcast element), and every one of its users is already in that same group; the last condition keeps
/// groups convex (no path leaves the group and comes back) and means a value used twice inside a group is computed
/// once. Scalar Constants are copied into every group that reads them. Groups of a single op stay as they are.
/// </para>
/// Requires: a verified graph. Guarantees: the same values at the graph outputs, computed by Fused nodes whose
/// bodies are in SSA order; Constants left without users are removed by the EliminateDeadCode run that follows.
/// </summary>
internal sealed class FuseElementwise : IPass
{
    public string Name => nameof(FuseElementwise);

    public Graph Run(Graph graph)
    {
        var producers = graph.Producers();
        var users = Users(graph);
        var group = Enumerable.Repeat(-1, graph.Values.Count).ToArray();
        var outputs = new HashSet<int>(graph.Outputs);
        for (int i = graph.Nodes.Count - 1; i >= 0; i--)
        {
            var node = graph.Nodes[i];
            if (!IsFusable(node) || node.Op == OpKind.Constant) continue;
            if (group[node.Output] < 0) group[node.Output] = node.Output; // a group is named by its root's value
            var rootShape = graph.TypeOf(group[node.Output]).Shape;
            foreach (var input in node.Inputs)
            {
                if (producers[input] is not { } p || !IsFusable(p) || p.Op == OpKind.Constant || group[input] >= 0 || outputs.Contains(input)) continue;
                if (!graph.TypeOf(input).Shape.Equals(rootShape)) continue;
                if (users[input].All(u => group[u] == group[node.Output])) group[input] = group[node.Output];
            }
        }

        var members = graph.Nodes.Where(n => group[n.Output] >= 0).GroupBy(n => group[n.Output]).ToDictionary(g => g.Key, g => g.ToList());
        if (members.Values.All(m => m.Count < 2)) return graph;

        var rewriter = new GraphRewriter(graph);
        foreach (var node in graph.Nodes)
        {
            int g = group[node.Output];
            if (g < 0 || members[g].Count < 2)
            {
                rewriter.Copy(node);
            }
            else if (g == node.Output)
            {
                var (inputs, body) = BuildBody(members[g], producers);
                rewriter.Add(OpKind.Fused, inputs.Select(rewriter.Map).ToArray(), Attrs.None, graph.TypeOf(node.Output), replaces: node.Output, body: body);
            }
        }

        return rewriter.Finish();
    }

    private static bool IsFusable(Node node) => OpKindInfo.IsFusableElementwise(node.Op);

    private static List<int>[] Users(Graph graph)
    {
        var users = Enumerable.Range(0, graph.Values.Count).Select(_ => new List<int>()).ToArray();
        foreach (var node in graph.Nodes)
        {
            foreach (var input in node.Inputs.Distinct()) users[input].Add(node.Output);
        }

        return users;
    }

    /// <summary>The group's operands (values defined outside it, in first-use order) and its body in registers.</summary>
    private static (List<int> Inputs, EquatableArray<Node> Body) BuildBody(List<Node> group, Node?[] producers)
    {
        var inGroup = new HashSet<int>(group.Select(n => n.Output));
        var inputs = new List<int>();
        var constants = new List<Node>();
        foreach (var node in group)
        {
            foreach (var input in node.Inputs)
            {
                if (inGroup.Contains(input)) continue;
                if (producers[input] is { Op: OpKind.Constant } constant) { if (!constants.Contains(constant)) constants.Add(constant); }
                else if (!inputs.Contains(input)) inputs.Add(input);
            }
        }

        var register = new Dictionary<int, int>();
        for (int k = 0; k < inputs.Count; k++) register[inputs[k]] = k;
        var body = ImmutableArray.CreateBuilder<Node>();
        foreach (var node in constants.Concat(group))
        {
            int r = inputs.Count + body.Count;
            var operands = node.Inputs.Select(v => register[v]).ToImmutableArray();
            body.Add(new Node(node.Op, new EquatableArray<int>(operands), r, node.Attrs));
            register[node.Output] = r;
        }

        return (inputs, new EquatableArray<Node>(body.ToImmutable()));
    }
}
