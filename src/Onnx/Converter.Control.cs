using System.Collections.Generic;
using System.Linq;

namespace Aot.Onnx;

// If: with a constant condition only the taken branch is imported; with a condition computed at run time both branches
// are (their statements inline, in a scope of their own that reads the values around it) and each output is
// Where(condition, then, else), so both branches' outputs must have the same shape.
internal sealed partial class Converter
{
    private static void If(NodeContext n)
    {
        n.RequireInputs(1, 1);
        var condition = n.In(0);
        var thenBranch = n.Graph("then_branch") ?? throw n.Malformed("attribute 'then_branch' is missing");
        var elseBranch = n.Graph("else_branch") ?? throw n.Malformed("attribute 'else_branch' is missing");
        if (condition.Shape.Aggregate(1L, (p, d) => p * d) != 1) throw n.Malformed($"the condition '{condition.OnnxName}' has shape {Format(condition.Shape)}; it must have one element");
        int outputs = n.Node.Outputs.Count;
        foreach (var (branch, name) in new[] { (thenBranch, "then_branch"), (elseBranch, "else_branch") })
        {
            if (branch.Outputs.Count != outputs) throw n.Malformed($"{name} has {branch.Outputs.Count} outputs, the node {outputs}");
        }

        if (condition.Const is { } c)
        {
            bool taken = c.IsFloat ? c.Floats![0] != 0 : c.Ints![0] != 0;
            var results = n.Converter.Branch(taken ? thenBranch : elseBranch, $"{n.Describe}, {(taken ? "then_branch" : "else_branch")}");
            for (int i = 0; i < outputs; i++) n.AliasOutput(i, results[i]);
            return;
        }

        var thenResults = n.Converter.Branch(thenBranch, $"{n.Describe}, then_branch");
        var elseResults = n.Converter.Branch(elseBranch, $"{n.Describe}, else_branch");
        for (int i = 0; i < outputs; i++)
        {
            if (!n.OutputUsed(i)) continue;
            Value a = thenResults[i], b = elseResults[i];
            if (!a.Shape.SequenceEqual(b.Shape))
            {
                throw n.Unsupported($"output {i} ('{n.Output(i)}') is {Format(a.Shape)} in then_branch and {Format(b.Shape)} in else_branch; with a condition computed at run time ('{condition.OnnxName}') both branches are computed and selected elementwise, so their outputs must have the same shape");
            }

            var shape = a.Shape;
            string mask = n.MaskOperand(condition);
            if (condition.Shape.Length > shape.Length) mask = $"Reshape({mask}{string.Concat(shape.Select(_ => ", 1"))})";
            n.EmitOutput(i, $"Where({mask}, {n.Operand(a, shape)}, {n.Operand(b, shape)})", shape);
        }
    }

    /// <summary>Converts an If branch in a scope of its own (its initializers and node outputs are local to it; it reads
    /// the values around it) and returns its outputs.</summary>
    internal Value[] Branch(OnnxGraphProto graph, string within)
    {
        if (graph.Inputs.Count > 0) throw new OnnxFormatException($"{within}: an If branch takes no inputs, this one declares {graph.Inputs.Count}");
        if (graph.SparseInitializers > 0) throw new OnnxUnsupportedException($"{within}: sparse initializers are not supported");
        _scopes.Add(new Dictionary<string, Value>(System.StringComparer.Ordinal));
        try
        {
            foreach (var t in graph.Initializers)
            {
                if (t.Name.Length == 0) throw new OnnxFormatException($"{within}: {t.Path}: initializer has no name");
                var data = TensorData.Decode(t, _directory, "initializer");
                Define(t.Name, new Value(t.Name, data.Shape) { Const = data }, $"{within}: {t.Path}");
            }

            FindBatchNormsAfterConv(graph);
            for (int i = 0; i < graph.Nodes.Count; i++) Convert(graph.Nodes[i], i, within);
            return graph.Outputs.Select(o => Lookup(o.Name, $"{within}: output '{o.Name}'")).ToArray();
        }
        finally
        {
            _scopes.RemoveAt(_scopes.Count - 1);
        }
    }
}
