using System.Collections.Generic;
using System.Linq;
using Aot.Generator.IR;

namespace Aot.Generator.Passes;

/// <summary>
/// CPU layout pass: a matrix product whose B operand is known at load time (a weight, or computed from weights)
/// reads B pre-packed into the GEMM microkernel's panel layout (<see cref="GemmLayout"/>), packed once when the
/// model is compiled. Gemm (transA = 0) becomes PackedGemm(A, PackB(B)); MatMul of A[..., m, k] by a 2-D B becomes
/// Reshape(PackedGemm(Reshape(A, [M, k]), PackB(B)), [..., m, n]) (reshapes of contiguous data are free aliases);
/// an Lstm whose W [1, 4H, input] and R [1, 4H, H] are load-time values reads them as packed W^T and R^T (attr n = 4H),
/// the B operands of its input projection and of its per-step product.
/// Each weight is packed once however many products read it.
/// Requires: a verified graph. Guarantees: same values; PackB nodes depend on load-time values only.
/// </summary>
internal sealed class PackGemmWeights : IPass
{
    public string Name => nameof(PackGemmWeights);

    public Graph Run(Graph graph)
    {
        var loadTime = LoadTimeValues.Of(graph);
        if (!graph.Nodes.Any(n => IsCandidate(graph, n, loadTime))) return graph;

        var rewriter = new GraphRewriter(graph);
        var packed = new Dictionary<(int Value, bool Transposed), int>();
        int Pack(int b, bool transposed)
        {
            if (!packed.TryGetValue((b, transposed), out int id))
            {
                // A [1, r, c] operand (an LSTM's W or R) is its [r, c] matrix.
                var t = graph.TypeOf(b);
                var matrix = t.Shape.Items.Skip(t.Rank - 2).ToArray();
                int source = rewriter.Map(b);
                if (t.Rank == 3) source = rewriter.Add(OpKind.Reshape, new[] { source }, Attrs.Of(Attr.OfInts(AttrNames.Shape, matrix)), t.WithShape(matrix));
                int k = transposed ? matrix[1] : matrix[0], n = transposed ? matrix[0] : matrix[1];
                id = rewriter.Add(OpKind.PackB, new[] { source }, Attrs.Of(Attr.OfInt(AttrNames.TransB, transposed ? 1 : 0)),
                    new TensorType(DType.Float32, GemmLayout.PackedLength(k, n)));
                packed[(b, transposed)] = id;
            }

            return id;
        }

        foreach (var node in graph.Nodes)
        {
            if (!IsCandidate(graph, node, loadTime))
            {
                rewriter.Copy(node);
                continue;
            }

            var outType = graph.TypeOf(node.Output);
            if (node.Op == OpKind.Lstm)
            {
                var inputs = node.Inputs.Select(rewriter.Map).ToArray();
                inputs[LstmOperands.W] = Pack(node.Inputs[LstmOperands.W], true);
                inputs[LstmOperands.R] = Pack(node.Inputs[LstmOperands.R], true);
                int gates = graph.TypeOf(node.Inputs[LstmOperands.R]).Shape[1];
                rewriter.Add(OpKind.Lstm, inputs, node.Attrs.With(Attr.OfInt(AttrNames.N, gates)), outType, replaces: node.Output);
                continue;
            }

            if (node.Op == OpKind.Gemm)
            {
                var inputs = new List<int> { rewriter.Map(node.Inputs[0]), Pack(node.Inputs[1], node.Attrs.Int(AttrNames.TransB) != 0) };
                if (node.Inputs.Count > 2) inputs.Add(rewriter.Map(node.Inputs[2]));
                var attrs = Attrs.Of(
                    Attr.OfFloat(AttrNames.Alpha, node.Attrs.Float(AttrNames.Alpha)),
                    Attr.OfFloat(AttrNames.Beta, node.Attrs.Float(AttrNames.Beta)),
                    Attr.OfInt(AttrNames.N, outType.Shape[1]));
                rewriter.Add(OpKind.PackedGemm, inputs, attrs, outType, replaces: node.Output);
                continue;
            }

            // MatMul A[..., m, k] @ B[k, n]: fold A's leading dimensions into rows.
            var a = graph.TypeOf(node.Inputs[0]);
            int kDim = a.Shape[a.Rank - 1];
            int n = graph.TypeOf(node.Inputs[1]).Shape[1];
            int rows = (int)(a.ElementCount / kDim);
            int a2 = a.Rank == 2 ? rewriter.Map(node.Inputs[0])
                : rewriter.Add(OpKind.Reshape, new[] { rewriter.Map(node.Inputs[0]) }, Attrs.Of(Attr.OfInts(AttrNames.Shape, rows, kDim)), a.WithShape(new[] { rows, kDim }));
            var gemmAttrs = Attrs.Of(Attr.OfFloat(AttrNames.Alpha, 1f), Attr.OfFloat(AttrNames.Beta, 0f), Attr.OfInt(AttrNames.N, n));
            var flatType = new TensorType(DType.Float32, rows, n);
            if (a.Rank == 2)
            {
                rewriter.Add(OpKind.PackedGemm, new[] { a2, Pack(node.Inputs[1], false) }, gemmAttrs, outType, replaces: node.Output);
            }
            else
            {
                int flat = rewriter.Add(OpKind.PackedGemm, new[] { a2, Pack(node.Inputs[1], false) }, gemmAttrs, flatType);
                rewriter.Add(OpKind.Reshape, new[] { flat }, Attrs.Of(Attr.OfInts(AttrNames.Shape, outType.ShapeArray())), outType, replaces: node.Output);
            }
        }

        return rewriter.Finish();
    }

    private static bool IsCandidate(Graph graph, Node node, bool[] loadTime)
    {
        if (node.Op == OpKind.Lstm)
        {
            return !node.Attrs.Has(AttrNames.N) && loadTime[node.Inputs[LstmOperands.W]] && loadTime[node.Inputs[LstmOperands.R]] && !loadTime[node.Inputs[LstmOperands.X]];
        }

        if (node.Op is not (OpKind.Gemm or OpKind.MatMul) || !loadTime[node.Inputs[1]] || loadTime[node.Inputs[0]]) return false;
        return node.Op switch
        {
            OpKind.Gemm => node.Attrs.Int(AttrNames.TransA) == 0,
            OpKind.MatMul => graph.TypeOf(node.Inputs[0]).Rank >= 2 && graph.TypeOf(node.Inputs[1]).Rank == 2,
            _ => false,
        };
    }
}
