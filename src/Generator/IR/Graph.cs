using System.Collections.Generic;
using System.Linq;

namespace Aot.Generator.IR;

internal enum ValueKind
{
    /// <summary>A model input (a parameter of Forward).</summary>
    Input,

    /// <summary>A model weight, read from the weights file at load time.</summary>
    Weight,

    /// <summary>The result of a node.</summary>
    Node,
}

/// <summary>An SSA value. <see cref="Id"/> is its index in <see cref="Graph.Values"/>; inputs and weights carry the
/// user's name, node results an empty one.</summary>
internal sealed record Value(int Id, TensorType Type, ValueKind Kind, string Name);

/// <summary>One operation: reads <see cref="Inputs"/> (value ids), defines <see cref="Output"/>.</summary>
internal sealed record Node(OpKind Op, EquatableArray<int> Inputs, int Output, Attrs Attrs)
{
    /// <summary>
    /// Only for <see cref="OpKind.Fused"/>: the per-element computation, in SSA over registers. Registers
    /// 0..Inputs.Count-1 hold the node's operands (each broadcast to the output shape); body node j reads
    /// registers through its Inputs and defines register Inputs.Count + j (its Output); the last one is the result.
    /// Body nodes are elementwise ops or scalar Constants.
    /// </summary>
    public EquatableArray<Node> Body { get; init; } = EquatableArray<Node>.Empty;
}

/// <summary>
/// The IR: an SSA graph in topological order. Plain data with value equality, independent of Roslyn, so the
/// incremental generator can cache on it and passes and backends can be tested without a compilation.
/// </summary>
internal sealed record Graph(
    string Name,
    EquatableArray<Value> Values,
    EquatableArray<int> Inputs,
    EquatableArray<int> Weights,
    EquatableArray<Node> Nodes,
    EquatableArray<int> Outputs)
{
    public TensorType TypeOf(int value) => Values[value].Type;

    /// <summary>The node defining each value (null for inputs and weights), indexed by value id.</summary>
    public Node?[] Producers()
    {
        var producers = new Node?[Values.Count];
        foreach (var node in Nodes) producers[node.Output] = node;
        return producers;
    }

    /// <summary>How many nodes read each value (graph outputs count as one more use), indexed by value id.</summary>
    public int[] UseCounts()
    {
        var uses = new int[Values.Count];
        foreach (var node in Nodes)
        {
            foreach (var input in node.Inputs) uses[input]++;
        }

        foreach (var output in Outputs) uses[output]++;
        return uses;
    }

    public IEnumerable<Value> InputValues => Inputs.Select(i => Values[i]);

    public IEnumerable<Value> WeightValues => Weights.Select(i => Values[i]);

    public override string ToString() => IrPrinter.Print(this);
}
