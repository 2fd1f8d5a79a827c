using System.Collections.Generic;
using System.Linq;

namespace Aot.Generator.IR;

/// <summary>
/// Checks the invariants every pass must keep: SSA (each value defined once, before its uses), value ids match
/// their index, every node's output type is what its shape rule infers, outputs are defined. Returns the problems
/// found (empty when the graph is well formed).
/// </summary>
internal static class IrVerifier
{
    public static IReadOnlyList<string> Verify(Graph graph)
    {
        var problems = new List<string>();
        var defined = new bool[graph.Values.Count];
        for (int i = 0; i < graph.Values.Count; i++)
        {
            if (graph.Values[i].Id != i) problems.Add($"value at index {i} has id {graph.Values[i].Id}");
        }

        foreach (var id in graph.Inputs.Concat(graph.Weights))
        {
            if (graph.Values[id].Kind == ValueKind.Node) problems.Add($"%{id} is listed as input or weight but is a node result");
            defined[id] = true;
        }

        foreach (var node in graph.Nodes)
        {
            string where = IrPrinter.PrintNode(graph, node);
            foreach (var input in node.Inputs)
            {
                if (input < 0 || input >= defined.Length || !defined[input]) problems.Add($"{where}: operand %{input} is used before it is defined");
            }

            if (defined[node.Output]) problems.Add($"{where}: %{node.Output} is defined twice");
            defined[node.Output] = true;
            if (problems.Count > 0) continue;

            if (node.Op == OpKind.Fused) VerifyBody(node, node.Inputs.Count, where, problems);
            else if (Epilogue.Has(node)) VerifyBody(node, 1 + Epilogue.OperandCount(node), where, problems);
            else if (node.Body.Count > 0) problems.Add($"{where}: only Fused nodes and products with an epilogue have a body");

            var inferred = ShapeInference.Infer(node.Op, node.Inputs.Select(graph.TypeOf).ToArray(), node.Attrs);
            if (inferred.Error is { } error) problems.Add($"{where}: {error.Message}");
            else if (!inferred.Type!.Equals(graph.TypeOf(node.Output))) problems.Add($"{where}: inferred type is {inferred.Type}");
        }

        foreach (var output in graph.Outputs)
        {
            if (output < 0 || output >= defined.Length || !defined[output]) problems.Add($"output %{output} is not defined");
        }

        return problems;
    }

    /// <summary>A fused body, or an epilogue's (see <see cref="Epilogue"/>): registers below
    /// <paramref name="firstRegister"/> are its operands, body node j defines firstRegister + j.</summary>
    private static void VerifyBody(Node node, int firstRegister, string where, List<string> problems)
    {
        if (node.Body.Count == 0) problems.Add($"{where}: a {(node.Op == OpKind.Fused ? "Fused node" : "product with an epilogue")} needs a body");
        for (int j = 0; j < node.Body.Count; j++)
        {
            var op = node.Body[j];
            int register = firstRegister + j;
            if (!OpKindInfo.IsFusableElementwise(op.Op)) problems.Add($"{where}: {op.Op} cannot be part of a fused elementwise body");
            if (op.Output != register) problems.Add($"{where}: body node {j} defines r{op.Output}, expected r{register}");
            int arity = OpKindInfo.ElementwiseArity(op.Op);
            if (op.Inputs.Count != arity) problems.Add($"{where}: body node {j} ({op.Op}) has {op.Inputs.Count} operands, expected {arity}");
            if (op.Inputs.Any(r => r < 0 || r >= register)) problems.Add($"{where}: body node {j} reads a register not yet defined");
        }
    }
}
