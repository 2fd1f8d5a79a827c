using System.Linq;
using System.Text;

namespace Aot.Generator.IR;

/// <summary>
/// Text form of the IR, one node per line, stable across runs (used in dumps, generated-file comments and tests):
/// <code>
/// graph Mlp(%0 x: f32[1,784]) weights(%1 W1: f32[784,512], ...) {
///   %4: f32[1,512] = Gemm(%0, %1, %2) {alpha=1, beta=1, transA=0, transB=1}
///   return %9
/// }
/// </code>
/// </summary>
internal static class IrPrinter
{
    public static string Print(Graph graph)
    {
        var sb = new StringBuilder();
        sb.Append("graph ").Append(graph.Name).Append('(')
          .Append(string.Join(", ", graph.InputValues.Select(Declare)))
          .Append(") weights(")
          .Append(string.Join(", ", graph.WeightValues.Select(Declare)))
          .Append(") {\n");
        foreach (var node in graph.Nodes) sb.Append("  ").Append(PrintNode(graph, node)).Append('\n');
        sb.Append("  return ").Append(string.Join(", ", graph.Outputs.Select(o => "%" + o))).Append("\n}\n");
        return sb.ToString();
    }

    public static string PrintNode(Graph graph, Node node)
    {
        var text = "%" + node.Output + ": " + graph.TypeOf(node.Output) + " = " + node.Op + "(" +
                   string.Join(", ", node.Inputs.Select(i => "%" + i)) + ")";
        var attrs = node.Attrs.ToString();
        if (attrs.Length > 0) text += " " + attrs;
        if (node.Body.Count > 0) text += " { " + string.Join("; ", node.Body.Select(PrintBodyNode)) + " }";
        return text;
    }

    /// <summary>A fused body line: "r2 = Mul(r0, r1)", registers instead of values.</summary>
    private static string PrintBodyNode(Node node)
    {
        var text = "r" + node.Output + " = " + node.Op + "(" + string.Join(", ", node.Inputs.Select(i => "r" + i)) + ")";
        return node.Attrs.Items.IsEmpty ? text : text + " " + node.Attrs;
    }

    private static string Declare(Value v) => "%" + v.Id + " " + v.Name + ": " + v.Type;
}
