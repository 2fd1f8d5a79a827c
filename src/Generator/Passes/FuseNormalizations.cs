using System;
using System.Collections.Generic;
using System.Linq;
using Aot.Generator.IR;

namespace Aot.Generator.Passes;

/// <summary>
/// Shared pass: normalizations written out op by op (as exported models and hand-written code do) become the single
/// kernels that read their input the fewest times.
/// <list type="bullet">
/// <item>LayerNorm: <c>d = x - mean(x); (d / sqrt(mean(d * d) + eps)) * gamma + beta</c>, the means over the trailing
/// axes (keepdims), gamma and beta of the normalized shape, either operand order of the commutative ops;</item>
/// <item>Softmax: <c>e = exp(x - max(x)); e / sum(e)</c> over one axis (keepdims), or without the max (the same values;
/// the kernel subtracts the maximum anyway).</item>
/// </list>
/// Run after <see cref="SimplifyAlgebra"/> (which turns d ^ 2 into d * d) and before <see cref="FuseElementwise"/>.
/// Every intermediate must have no reader outside the pattern and not be a graph output.
/// Requires: a verified graph. Guarantees: the same values at the outputs (up to the kernels' rounding); the pattern's
/// other nodes are left for <see cref="EliminateDeadCode"/>.
/// </summary>
internal sealed class FuseNormalizations : IPass
{
    public string Name => nameof(FuseNormalizations);

    public Graph Run(Graph graph)
    {
        var producers = graph.Producers();
        var readers = new List<Node>[graph.Values.Count];
        for (int i = 0; i < readers.Length; i++) readers[i] = new List<Node>();
        foreach (var node in graph.Nodes)
        {
            foreach (int input in node.Inputs.Distinct()) readers[input].Add(node);
        }

        var outputs = new HashSet<int>(graph.Outputs);
        var match = new Matcher(graph, producers, readers, outputs);
        var replacements = new Dictionary<int, (OpKind Op, int[] Inputs, Attrs Attrs)>();
        foreach (var node in graph.Nodes)
        {
            if (node.Op == OpKind.Add && match.LayerNorm(node) is { } layerNorm) replacements[node.Output] = layerNorm;
            else if (node.Op == OpKind.Div && match.Softmax(node) is { } softmax) replacements[node.Output] = softmax;
        }

        if (replacements.Count == 0) return graph;
        var rewriter = new GraphRewriter(graph);
        foreach (var node in graph.Nodes)
        {
            if (replacements.TryGetValue(node.Output, out var r))
            {
                rewriter.Add(r.Op, r.Inputs.Select(rewriter.Map).ToArray(), r.Attrs, graph.TypeOf(node.Output), replaces: node.Output);
            }
            else
            {
                rewriter.Copy(node);
            }
        }

        return rewriter.Finish();
    }

    private sealed class Matcher
    {
        private readonly Graph _graph;
        private readonly Node?[] _producers;
        private readonly List<Node>[] _readers;
        private readonly HashSet<int> _outputs;

        public Matcher(Graph graph, Node?[] producers, List<Node>[] readers, HashSet<int> outputs) =>
            (_graph, _producers, _readers, _outputs) = (graph, producers, readers, outputs);

        /// <summary>z = Add(Mul(Div(d, Sqrt(Add(ReduceMean(Mul(d, d)), eps))), gamma), beta), d = Sub(x, ReduceMean(x)).</summary>
        public (OpKind, int[], Attrs)? LayerNorm(Node z)
        {
            if (!Float(z) || Either(z, OpKind.Mul) is not { } affine) return null;
            var (y, beta) = affine;
            if (Either(y, OpKind.Div) is not { } scaled) return null;
            var (n, gamma) = scaled;
            int d = n.Inputs[0];
            if (Inner(n.Inputs[1], OpKind.Sqrt) is not { } root || Inner(root.Inputs[0], OpKind.Add) is not { } shifted) return null;
            int variance = -1;
            float? epsilon = null;
            foreach (var (a, b) in new[] { (shifted.Inputs[0], shifted.Inputs[1]), (shifted.Inputs[1], shifted.Inputs[0]) })
            {
                if (ConstantValue(b) is { } e) (variance, epsilon) = (a, e);
            }

            if (epsilon is null || Inner(variance, OpKind.ReduceMean) is not { } meanOfSquares) return null;
            if (Inner(meanOfSquares.Inputs[0], OpKind.Mul) is not { } square || square.Inputs[0] != d || square.Inputs[1] != d) return null;
            if (_producers[d] is not { Op: OpKind.Sub } centered || !Private(d, 2)) return null;
            int x = centered.Inputs[0];
            if (Inner(centered.Inputs[1], OpKind.ReduceMean) is not { } mean || mean.Inputs[0] != x) return null;

            var shape = _graph.TypeOf(x).Shape.Items;
            int axis = TrailingAxis(mean, shape.Length);
            if (axis < 0 || TrailingAxis(meanOfSquares, shape.Length) != axis) return null;
            var normalized = shape.Skip(axis).ToArray();
            if (!_graph.TypeOf(gamma).Shape.Items.SequenceEqual(normalized) || !_graph.TypeOf(beta).Shape.Items.SequenceEqual(normalized)) return null;
            if (!_graph.TypeOf(z.Output).Equals(_graph.TypeOf(x))) return null;
            return (OpKind.LayerNorm, new[] { x, gamma, beta }, Attrs.Of(Attr.OfInt(AttrNames.Axis, axis), Attr.OfFloat(AttrNames.Epsilon, epsilon.Value)));
        }

        /// <summary>y = Div(e, ReduceSum(e)), e = Exp(x - ReduceMax(x)) or Exp(x), over one axis.</summary>
        public (OpKind, int[], Attrs)? Softmax(Node y)
        {
            if (!Float(y) || y.Inputs[0] == y.Inputs[1]) return null;
            int e = y.Inputs[0];
            if (_producers[e] is not { Op: OpKind.Exp } exp || !Private(e, 2)) return null;
            if (Inner(y.Inputs[1], OpKind.ReduceSum) is not { } sum || sum.Inputs[0] != e) return null;
            int rank = _graph.TypeOf(e).Rank;
            var axes = sum.Attrs.Ints(AttrNames.Axes);
            if (axes.Length != 1 || sum.Attrs.Int(AttrNames.KeepDims) == 0) return null;
            int axis = axes[0] < 0 ? axes[0] + rank : axes[0];
            int x = exp.Inputs[0];
            if (_producers[x] is { Op: OpKind.Sub } shifted && Private(x, 1)
                && _producers[shifted.Inputs[1]] is { Op: OpKind.ReduceMax } max && max.Inputs[0] == shifted.Inputs[0] && Private(shifted.Inputs[1], 1)
                && max.Attrs.Ints(AttrNames.Axes).SequenceEqual(axes) && max.Attrs.Int(AttrNames.KeepDims) != 0)
            {
                x = shifted.Inputs[0];
            }

            return _graph.TypeOf(y.Output).Equals(_graph.TypeOf(x)) ? (OpKind.Softmax, new[] { x }, Attrs.Of(Attr.OfInt(AttrNames.Axis, axis))) : null;
        }

        private bool Float(Node node) => _graph.TypeOf(node.Output).DType == DType.Float32;

        /// <summary>Read only by <paramref name="readers"/> nodes of the pattern, and not a graph output.</summary>
        private bool Private(int value, int readers) => _readers[value].Count == readers && !_outputs.Contains(value);

        /// <summary>The producer of a value read only by the next node of the pattern, if it is an <paramref name="op"/>.</summary>
        private Node? Inner(int value, OpKind op) => _producers[value] is { } p && p.Op == op && Private(value, 1) ? p : null;

        /// <summary>For a binary node: an operand produced by <paramref name="op"/> and read only here (either one when
        /// the node commutes, the left one of a Div), and the other operand.</summary>
        private (Node Node, int Other)? Either(Node node, OpKind op)
        {
            if (node.Inputs.Count != 2) return null;
            int sides = node.Op == OpKind.Div ? 1 : 2;
            for (int i = 0; i < sides; i++)
            {
                if (Inner(node.Inputs[i], op) is { } p) return (p, node.Inputs[1 - i]);
            }

            return null;
        }

        private float? ConstantValue(int value) => _producers[value] is { Op: OpKind.Constant } c ? c.Attrs.Float(AttrNames.Value) : null;

        /// <summary>The first axis of a keepdims reduction over the trailing axes axis..rank-1, or -1.</summary>
        private static int TrailingAxis(Node reduce, int rank)
        {
            if (reduce.Attrs.Int(AttrNames.KeepDims) == 0) return -1;
            var axes = reduce.Attrs.Ints(AttrNames.Axes).Select(a => a < 0 ? a + rank : a).OrderBy(a => a).ToArray();
            if (axes.Length == 0) return -1;
            for (int i = 0; i < axes.Length; i++)
            {
                if (axes[i] != rank - axes.Length + i) return -1;
            }

            return axes[0];
        }
    }
}
