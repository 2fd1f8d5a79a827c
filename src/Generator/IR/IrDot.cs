using System.Linq;
using System.Text;

namespace Aot.Generator.IR;

/// <summary>
/// Graphviz (dot) form of a graph: inputs and weights as boxes, one node per operation labelled with its op, type and
/// attributes (a fused body or epilogue as its op list), edges from each value to its users. Deterministic.
/// </summary>
internal static class IrDot
{
    public static string Render(Graph graph)
    {
        var sb = new StringBuilder();
        sb.Append("digraph \"").Append(Escape(graph.Name)).Append("\" {\n  rankdir=TB;\n  node [fontname=\"monospace\", fontsize=10];\n");
        foreach (var v in graph.InputValues) sb.Append($"  v{v.Id} [shape=box, style=filled, fillcolor=lightblue, label=\"%{v.Id} {Escape(v.Name)}\\n{v.Type}\"];\n");
        foreach (var v in graph.WeightValues) sb.Append($"  v{v.Id} [shape=box, style=filled, fillcolor=lightgrey, label=\"%{v.Id} {Escape(v.Name)}\\n{v.Type}\"];\n");
        foreach (var node in graph.Nodes)
        {
            string label = $"%{node.Output} = {node.Op}\\n{graph.TypeOf(node.Output)}";
            if (!node.Attrs.Items.IsEmpty) label += "\\n" + Escape(node.Attrs.ToString());
            if (node.Body.Count > 0) label += "\\n" + Escape(string.Join(", ", node.Body.Select(b => b.Op)));
            sb.Append($"  v{node.Output} [label=\"{label}\"{(graph.Outputs.Contains(node.Output) ? ", peripheries=2" : "")}];\n");
            foreach (var input in node.Inputs.Distinct()) sb.Append($"  v{input} -> v{node.Output};\n");
        }

        sb.Append("}\n");
        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"");
}
