using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Aot.Generator.IR;
using Aot.Generator.Passes;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends;

/// <summary>
/// Transposes the CPU and GPU backends never materialize, because the matrix products around them address memory with
/// strides instead (attention's head split <c>[B, S, H, Dh] -> [B, H, S, Dh]</c>, <c>kᵀ</c> and the head merge):
/// <list type="bullet">
/// <item>an operand fold: a Transpose whose every user is a MatMul (as operand a or b) or another folded Transpose is
/// a strided view of its source (permuted strides; a chain composes). The MatMul reads the source's bytes with those
/// strides.</item>
/// <item>a result fold: a Transpose whose source is the result of a MatMul used by nothing else: the MatMul writes its
/// result straight in the transposed (dense) layout, with strides that are the inverse permutation of it.</item>
/// </list>
/// For the memory plan a folded Transpose is an alias of its source, exactly like a Reshape (<see cref="PlanningGraph"/>):
/// it shares its source's bytes, and the source stays live as long as the Transpose's users run, so nothing else is
/// placed on it while a MatMul still reads it with strides (or, for a result fold, while the transposed result is read).
/// </summary>
internal sealed class MatMulViews
{
    public static readonly MatMulViews None = new(new Dictionary<int, int[]>(), new Dictionary<int, int[]>(), new HashSet<int>());

    private readonly Dictionary<int, int[]> _operandStrides;
    private readonly Dictionary<int, int[]> _resultStrides;
    private readonly HashSet<int> _folded;

    private MatMulViews(Dictionary<int, int[]> operandStrides, Dictionary<int, int[]> resultStrides, HashSet<int> folded)
    {
        _operandStrides = operandStrides;
        _resultStrides = resultStrides;
        _folded = folded;
    }

    /// <summary>Whether a node is a folded Transpose (no launch: its users or its producer address memory with strides).</summary>
    public bool IsFolded(Node node) => _folded.Contains(node.Output);

    /// <summary>How many Transposes are folded.</summary>
    public int FoldedCount => _folded.Count;

    /// <summary>The strides (over the value's own shape, in elements of its storage) a MatMul reads an operand with:
    /// permuted for a folded Transpose, row-major for any other value.</summary>
    public int[] OperandStrides(Graph graph, int value) =>
        _operandStrides.TryGetValue(value, out var s) ? s : RowMajorStrides(Shapes.Of(graph, value));

    /// <summary>The strides a MatMul writes its result with: those of the transposed layout for a result fold, row-major
    /// otherwise.</summary>
    public int[] ResultStrides(Graph graph, int value) =>
        _resultStrides.TryGetValue(value, out var s) ? s : RowMajorStrides(Shapes.Of(graph, value));

    /// <param name="writesStrided">Whether the backend can write this MatMul's result with strides (default: every
    /// one); a result fold is made only where it can.</param>
    public static MatMulViews Analyze(Graph graph, System.Func<Node, bool>? writesStrided = null)
    {
        var outputs = new HashSet<int>(graph.Outputs);
        var users = Enumerable.Range(0, graph.Values.Count).Select(_ => new List<(Node Node, int Position)>()).ToArray();
        var producers = graph.Producers();
        foreach (var node in graph.Nodes)
        {
            for (int i = 0; i < node.Inputs.Count; i++) users[node.Inputs[i]].Add((node, i));
        }

        // Operand folds, decided from the last node back: every user must be a MatMul operand or a folded Transpose.
        var operandFold = new HashSet<int>();
        for (int n = graph.Nodes.Count - 1; n >= 0; n--)
        {
            var node = graph.Nodes[n];
            if (node.Op != OpKind.Transpose || outputs.Contains(node.Output) || users[node.Output].Count == 0) continue;
            if (graph.TypeOf(node.Output).Rank < 2) continue;
            bool all = users[node.Output].All(u =>
                (u.Node.Op == OpKind.MatMul && u.Position < 2 && graph.TypeOf(u.Node.Inputs[1 - u.Position]).Rank >= 2)
                || (u.Node.Op == OpKind.Transpose && operandFold.Contains(u.Node.Output)));
            if (all) operandFold.Add(node.Output);
        }

        var operandStrides = new Dictionary<int, int[]>();
        var resultStrides = new Dictionary<int, int[]>();
        var folded = new HashSet<int>();
        foreach (var node in graph.Nodes)
        {
            if (node.Op != OpKind.Transpose) continue;
            var perm = node.Attrs.Ints(AttrNames.Perm);
            int source = node.Inputs[0];
            if (operandFold.Contains(node.Output))
            {
                var sourceStrides = operandStrides.TryGetValue(source, out var s) ? s : RowMajorStrides(Shapes.Of(graph, source));
                operandStrides[node.Output] = perm.Select(p => sourceStrides[p]).ToArray();
                folded.Add(node.Output);
                continue;
            }

            // A result fold: the MatMul's result goes nowhere else, and is not itself read with strides.
            if (outputs.Contains(node.Output) || producers[source] is not { Op: OpKind.MatMul } product || outputs.Contains(source)
                || (writesStrided is not null && !writesStrided(product))
                || users[source].Count != 1 || operandStrides.ContainsKey(source) || graph.TypeOf(node.Output).Rank < 2)
            {
                continue;
            }

            var dense = RowMajorStrides(Shapes.Of(graph, node.Output));
            var strides = new int[perm.Length];
            for (int j = 0; j < perm.Length; j++) strides[perm[j]] = dense[j];
            resultStrides[source] = strides;
            folded.Add(node.Output);
        }

        return folded.Count == 0 ? None : new MatMulViews(operandStrides, resultStrides, folded);
    }

    /// <summary>The graph the memory plan is made from: each folded Transpose becomes a Reshape of its source (an alias,
    /// see <see cref="PlanMemory"/>), so it shares its source's bytes and keeps them live while it is read.</summary>
    public Graph PlanningGraph(Graph graph)
    {
        if (_folded.Count == 0) return graph;
        var nodes = graph.Nodes.Select(n => _folded.Contains(n.Output)
            ? n with { Op = OpKind.Reshape, Attrs = Attrs.Of(Attr.OfInts(AttrNames.Shape, Shapes.Of(graph, n.Output))) }
            : n);
        return graph with { Nodes = new EquatableArray<Node>(nodes.ToImmutableArray()) };
    }
}
