using System;
using System.Collections.Generic;
using System.Linq;
using Aot.Generator.IR;

namespace Aot.Generator.Passes;

/// <summary>
/// Shared pass: folds what is known at compile time and removes what computes nothing, before fusion sees the graph.
/// <list type="bullet">
/// <item>constant folding: an elementwise op whose operands are all one-element Constants becomes a Constant;</item>
/// <item>identities: x * 1, 1 * x, x + 0, 0 + x, x - 0, x / 1, x ^ 1 (where the result has x's type), a Reshape to
/// x's own shape, a Transpose by the identity permutation: their uses read x;</item>
/// <item>strength reduction: x ^ 2 becomes x * x and x ^ 0.5 becomes sqrt(x) (both correctly rounded, as pow is; pow
/// has no vector form, so this also turns a scalar loop into a vector one: exported LayerNorms square this way);</item>
/// <item>transpose pairs: Transpose(Transpose(x, p), q) becomes one Transpose by the composed permutation, or x.</item>
/// </list>
/// x + 0 turns -0 into +0, which the identity ignores (as -ffast-math's no-signed-zeros does). Values are folded with
/// double arithmetic rounded to float, which may differ from the eager reference's float functions in the last place.
/// Requires: a verified graph. Guarantees: the same values at the outputs (up to the above); the model's inputs,
/// weights and outputs keep their ids; nodes made unused are left to <see cref="EliminateDeadCode"/>.
/// </summary>
internal sealed class SimplifyAlgebra : IPass
{
    public string Name => nameof(SimplifyAlgebra);

    public Graph Run(Graph graph)
    {
        var producers = graph.Producers();
        var outputs = new HashSet<int>(graph.Outputs);
        var rewriter = new GraphRewriter(graph);
        var known = new Dictionary<int, float>(); // old value id -> its value, for one-element constants
        var interfaceAliases = new HashSet<int>(); // old node results that now read an input or weight
        bool MapsToInterface(int value) => producers[value] is null || interfaceAliases.Contains(value);
        void Alias(int value, int same)
        {
            rewriter.Alias(value, same);
            if (MapsToInterface(same)) interfaceAliases.Add(value);
        }

        bool changed = false;
        foreach (var node in graph.Nodes)
        {
            var type = graph.TypeOf(node.Output);
            if (node.Op == OpKind.Constant)
            {
                known[node.Output] = node.Attrs.Float(AttrNames.Value);
                rewriter.Copy(node);
                continue;
            }

            if (TryFold(node, known, type) is { } folded)
            {
                known[node.Output] = folded;
                rewriter.Add(OpKind.Constant, Array.Empty<int>(), Attrs.Of(Attr.OfFloat(AttrNames.Value, folded)), type, replaces: node.Output);
                changed = true;
                continue;
            }

            // A graph output must stay a node result (the model's result buffer), so only nodes aliased to other node
            // results may disappear at an output.
            if (Identity(graph, node, known) is { } same && !(outputs.Contains(node.Output) && MapsToInterface(same)))
            {
                Alias(node.Output, same);
                changed = true;
                continue;
            }

            if (StrengthReduced(node, known) is { } reduced)
            {
                rewriter.Add(reduced.Op, reduced.Inputs.Select(rewriter.Map).ToArray(), Attrs.None, type, replaces: node.Output);
                changed = true;
                continue;
            }

            if (node.Op == OpKind.Transpose && producers[node.Inputs[0]] is { Op: OpKind.Transpose } inner)
            {
                var inside = inner.Attrs.Ints(AttrNames.Perm);
                var composed = node.Attrs.Ints(AttrNames.Perm).Select(axis => inside[axis]).ToArray();
                if (IsIdentity(composed) && !(outputs.Contains(node.Output) && MapsToInterface(inner.Inputs[0])))
                {
                    Alias(node.Output, inner.Inputs[0]);
                }
                else
                {
                    rewriter.Add(OpKind.Transpose, new[] { rewriter.Map(inner.Inputs[0]) }, Attrs.Of(Attr.OfInts(AttrNames.Perm, composed)), type, replaces: node.Output);
                }

                changed = true;
                continue;
            }

            rewriter.Copy(node);
        }

        return changed ? rewriter.Finish() : graph;
    }

    private static bool IsIdentity(int[] perm) => perm.Select((axis, i) => axis == i).All(same => same);

    /// <summary>The value (an old id) a node's result equals, or null.</summary>
    private static int? Identity(Graph graph, Node node, Dictionary<int, float> known)
    {
        var type = graph.TypeOf(node.Output);
        bool Is(int operand, float value) => known.TryGetValue(operand, out var v) && v == value;
        int? IfSameType(int operand) => graph.TypeOf(operand).Equals(type) ? operand : null;
        switch (node.Op)
        {
            case OpKind.Reshape:
                return IfSameType(node.Inputs[0]);
            case OpKind.Transpose:
                return IsIdentity(node.Attrs.Ints(AttrNames.Perm)) ? IfSameType(node.Inputs[0]) : null;
        }

        if (node.Inputs.Count != 2) return null;
        int a = node.Inputs[0], b = node.Inputs[1];
        return node.Op switch
        {
            OpKind.Mul when Is(b, 1f) => IfSameType(a),
            OpKind.Mul when Is(a, 1f) => IfSameType(b),
            OpKind.Add when Is(b, 0f) => IfSameType(a),
            OpKind.Add when Is(a, 0f) => IfSameType(b),
            OpKind.Sub or OpKind.Div or OpKind.Pow when Is(b, node.Op == OpKind.Sub ? 0f : 1f) => IfSameType(a),
            _ => null,
        };
    }

    /// <summary>x ^ 2 as x * x, x ^ 0.5 as sqrt(x); null otherwise.</summary>
    private static (OpKind Op, int[] Inputs)? StrengthReduced(Node node, Dictionary<int, float> known)
    {
        if (node.Op != OpKind.Pow || !known.TryGetValue(node.Inputs[1], out var exponent)) return null;
        int x = node.Inputs[0];
        return exponent switch
        {
            2f => (OpKind.Mul, new[] { x, x }),
            0.5f => (OpKind.Sqrt, new[] { x }),
            _ => null,
        };
    }

    /// <summary>The value of a Float32 elementwise op over one-element constants, or null.</summary>
    private static float? TryFold(Node node, Dictionary<int, float> known, TensorType type)
    {
        if (type.DType != DType.Float32 || type.ElementCount != 1 || node.Inputs.Count == 0) return null;
        var args = new double[node.Inputs.Count];
        for (int i = 0; i < args.Length; i++)
        {
            if (!known.TryGetValue(node.Inputs[i], out var v)) return null;
            args[i] = v;
        }

        double? value = (node.Op, args.Length) switch
        {
            (OpKind.Add, 2) => args[0] + args[1],
            (OpKind.Sub, 2) => args[0] - args[1],
            (OpKind.Mul, 2) => args[0] * args[1],
            (OpKind.Div, 2) => args[0] / args[1],
            (OpKind.Max, 2) => double.IsNaN(args[0]) || double.IsNaN(args[1]) ? double.NaN : Math.Max(args[0], args[1]),
            (OpKind.Min, 2) => double.IsNaN(args[0]) || double.IsNaN(args[1]) ? double.NaN : Math.Min(args[0], args[1]),
            (OpKind.Pow, 2) => Math.Pow(args[0], args[1]),
            (OpKind.Neg, 1) => -args[0],
            (OpKind.Abs, 1) => Math.Abs(args[0]),
            (OpKind.Sqrt, 1) => Math.Sqrt(args[0]),
            (OpKind.Rsqrt, 1) => 1 / Math.Sqrt(args[0]),
            (OpKind.Exp, 1) => Math.Exp(args[0]),
            (OpKind.Log, 1) => Math.Log(args[0]),
            (OpKind.Relu, 1) => double.IsNaN(args[0]) ? double.NaN : Math.Max(args[0], 0),
            (OpKind.Sigmoid, 1) => 1 / (1 + Math.Exp(-args[0])),
            (OpKind.Tanh, 1) => Math.Tanh(args[0]),
            _ => null,
        };
        return value is { } v2 ? (float)v2 : null;
    }
}
