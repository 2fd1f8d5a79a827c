using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;

namespace Aot.Generator.IR;

/// <summary>Builds a <see cref="Graph"/> node by node; every node's output type comes from <see cref="ShapeInference"/>.</summary>
internal sealed class GraphBuilder
{
    private readonly List<Value> _values = new();
    private readonly List<int> _inputs = new();
    private readonly List<int> _weights = new();
    private readonly List<Node> _nodes = new();
    private readonly List<int> _outputs = new();

    public GraphBuilder(string name) => Name = name;

    public string Name { get; }

    public TensorType TypeOf(int value) => _values[value].Type;

    /// <summary>The value with its kind and, for inputs and weights, the user's name.</summary>
    public Value ValueOf(int value) => _values[value];

    public int AddInput(string name, TensorType type)
    {
        int id = NewValue(type, ValueKind.Input, name);
        _inputs.Add(id);
        return id;
    }

    public int AddWeight(string name, TensorType type)
    {
        int id = NewValue(type, ValueKind.Weight, name);
        _weights.Add(id);
        return id;
    }

    /// <summary>Adds a node whose output type is inferred; returns the error instead when the operands do not fit.</summary>
    public InferResult TryAdd(OpKind op, IReadOnlyList<int> inputs, Attrs attrs, out int output)
    {
        var result = ShapeInference.Infer(op, inputs.Select(TypeOf).ToArray(), attrs);
        output = result.Type is null ? -1 : AddNode(op, inputs, attrs, result.Type);
        return result;
    }

    /// <summary>Adds a node with a known output type (used by passes that preserve types).</summary>
    public int AddNode(OpKind op, IReadOnlyList<int> inputs, Attrs attrs, TensorType type, EquatableArray<Node> body = default)
    {
        int id = NewValue(type, ValueKind.Node, "");
        _nodes.Add(new Node(op, new EquatableArray<int>(inputs.ToImmutableArray()), id, attrs) { Body = body });
        return id;
    }

    public void AddOutput(int value) => _outputs.Add(value);

    public Graph Build() => new(
        Name,
        new EquatableArray<Value>(_values.ToImmutableArray()),
        new EquatableArray<int>(_inputs.ToImmutableArray()),
        new EquatableArray<int>(_weights.ToImmutableArray()),
        new EquatableArray<Node>(_nodes.ToImmutableArray()),
        new EquatableArray<int>(_outputs.ToImmutableArray()));

    private int NewValue(TensorType type, ValueKind kind, string name)
    {
        int id = _values.Count;
        _values.Add(new Value(id, type, kind, name));
        return id;
    }
}
