using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Aot.Generator.IR;

namespace Aot.Generator.Passes;

/// <summary>
/// GPU and CPU pass: <c>MatMul(a, b) * c</c> or <c>/ c</c>, with c a one-element Constant (attention's 1/sqrt(d)
/// scale), becomes one product whose epilogue ends with the scaling, so the scaled scores are written once instead of
/// written, read and written again (the GPU GEMM applies it in its store; the CPU one folds a lone scaling into the
/// product's alpha). An existing epilogue is kept and extended (the scaling applies to its result);
/// a product without one gets an epilogue of no operands. The constant becomes a literal in the body.
/// Requires: a verified graph (after FuseEpilogue). Guarantees: the same values at the outputs.
/// </summary>
internal sealed class FoldProductScale : IPass
{
    public string Name => nameof(FoldProductScale);

    public Graph Run(Graph graph)
    {
        var users = new List<Node>[graph.Values.Count];
        for (int i = 0; i < users.Length; i++) users[i] = new List<Node>();
        var producer = new Node?[graph.Values.Count];
        foreach (var node in graph.Nodes)
        {
            producer[node.Output] = node;
            foreach (var input in node.Inputs) users[input].Add(node);
        }

        var outputs = new HashSet<int>(graph.Outputs);
        var folds = new Dictionary<int, (Node Product, OpKind Op, float Value)>(); // by the scaling node's result
        var folded = new HashSet<int>(); // products replaced
        foreach (var node in graph.Nodes)
        {
            if (node.Op is not (OpKind.MatMul or OpKind.Gemm) || outputs.Contains(node.Output) || users[node.Output].Count != 1) continue;
            var type = graph.TypeOf(node.Output);
            var user = users[node.Output][0];
            if (type.DType != DType.Float32 || user.Op is not (OpKind.Mul or OpKind.Div) || !graph.TypeOf(user.Output).Equals(type)) continue;
            if (user.Inputs[0] == user.Inputs[1] || (user.Op == OpKind.Div && user.Inputs[0] != node.Output)) continue;
            int other = user.Inputs[0] == node.Output ? user.Inputs[1] : user.Inputs[0];
            if (producer[other] is not { Op: OpKind.Constant } constant || graph.TypeOf(other).ElementCount != 1) continue;
            folds[user.Output] = (node, user.Op, constant.Attrs.Float(AttrNames.Value));
            folded.Add(node.Output);
        }

        if (folds.Count == 0) return graph;
        var rewriter = new GraphRewriter(graph);
        foreach (var node in graph.Nodes)
        {
            if (folded.Contains(node.Output)) continue;
            if (!folds.TryGetValue(node.Output, out var fold))
            {
                rewriter.Copy(node);
                continue;
            }

            // The product moves to where the scaling was (its operands are all defined by then).
            var product = fold.Product;
            int e = Epilogue.OperandCount(product);
            var body = product.Body.ToList();
            int last = body.Count == 0 ? 0 : body[body.Count - 1].Output;
            int next = 1 + e + body.Count;
            body.Add(new Node(OpKind.Constant, EquatableArray<int>.Empty, next, Attrs.Of(Attr.OfFloat(AttrNames.Value, fold.Value))));
            body.Add(new Node(fold.Op, new EquatableArray<int>(ImmutableArray.Create(last, next)), next + 1, Attrs.None));
            rewriter.Add(product.Op, product.Inputs.Select(rewriter.Map).ToArray(), product.Attrs.With(Attr.OfInt(Epilogue.Operands, e)),
                graph.TypeOf(product.Output), replaces: node.Output, body: new EquatableArray<Node>(body.ToImmutableArray()));
        }

        return rewriter.Finish();
    }
}
