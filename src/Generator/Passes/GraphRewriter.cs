using System.Collections.Generic;
using System.Linq;
using Aot.Generator.IR;

namespace Aot.Generator.Passes;

/// <summary>
/// Rebuilds a graph node by node, renumbering node results densely. Inputs and weights keep their ids (the
/// model's declarations refer to them), so every pass built on it preserves the model's interface.
/// </summary>
internal sealed class GraphRewriter
{
    private readonly Graph _source;
    private readonly GraphBuilder _builder;
    private readonly int[] _map;

    public GraphRewriter(Graph source)
    {
        _source = source;
        _builder = new GraphBuilder(source.Name);
        _map = Enumerable.Repeat(-1, source.Values.Count).ToArray();
        foreach (var value in source.Values.Where(v => v.Kind != ValueKind.Node))
        {
            _map[value.Id] = value.Kind == ValueKind.Input ? _builder.AddInput(value.Name, value.Type) : _builder.AddWeight(value.Name, value.Type);
        }
    }

    /// <summary>The new id of an old value (which must already be copied).</summary>
    public int Map(int oldValue) => _map[oldValue];

    /// <summary>Copies a node, remapping its operands.</summary>
    public void Copy(Node node)
    {
        _map[node.Output] = _builder.AddNode(node.Op, node.Inputs.Select(Map).ToArray(), node.Attrs, _source.TypeOf(node.Output), node.Body);
    }

    /// <summary>Drops an old node: its uses read <paramref name="same"/> (an old value of the same type, already copied).</summary>
    public void Alias(int oldValue, int same) => _map[oldValue] = Map(same);

    /// <summary>Adds a new node; <paramref name="replaces"/> (an old value) will map to its result.</summary>
    public int Add(OpKind op, IReadOnlyList<int> newInputs, Attrs attrs, TensorType type, int replaces = -1, EquatableArray<Node> body = default)
    {
        int id = _builder.AddNode(op, newInputs, attrs, type, body);
        if (replaces >= 0) _map[replaces] = id;
        return id;
    }

    public Graph Finish()
    {
        foreach (var output in _source.Outputs) _builder.AddOutput(Map(output));
        return _builder.Build();
    }
}
