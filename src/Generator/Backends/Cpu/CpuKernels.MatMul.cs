using System.Linq;
using Aot.Generator.IR;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends.Cpu;

// Matrix products: MatMul (numpy batched) and Gemm, both through one product emitter.
internal static partial class CpuKernels
{
    /// <summary>An m x k or k x n operand of <see cref="EmitProduct"/>: element [r, c] is
    /// Span[Base + r * RowStride + c * ColStride], so a transpose is just swapped strides.</summary>
    private sealed record MatrixView(string Span, string Base, int RowStride, int ColStride)
    {
        public string At(string row, string col) => $"{Span}[{Plus(Plus(Base, Times(row, RowStride)), Times(col, ColStride))}]";
    }

    /// <summary>The operands of a MatMul as matrices (numpy promotion: a[k] is [1, k], b[k] is [k, 1]; the added axis
    /// is absent from the result's shape, which does not change its row-major layout), and the product's m, n, k.</summary>
    internal static (int[] A, int[] B, int M, int N, int K) MatMulOperands(Graph graph, Node node)
    {
        var aShape = Shapes.Of(graph, node.Inputs[0]);
        var bShape = Shapes.Of(graph, node.Inputs[1]);
        var a = aShape.Length == 1 ? new[] { 1, aShape[0] } : aShape;
        var b = bShape.Length == 1 ? new[] { bShape[0], 1 } : bShape;
        return (a, b, a[a.Length - 2], b[b.Length - 1], a[a.Length - 1]);
    }

    internal static (int M, int N, int K) MatMulDims(Graph graph, Node node)
    {
        var (_, _, m, n, k) = MatMulOperands(graph, node);
        return (m, n, k);
    }

    /// <summary>
    /// MatMul with numpy batching. Operands and result may be strided views (<see cref="MatMulViews"/>: a folded
    /// Transpose, such as attention's head split, Kᵀ and head merge, is read or written through its strides instead
    /// of being copied).
    /// </summary>
    private static void EmitMatMul(CodeWriter w, Graph graph, Node node, MatMulViews views, float alpha = 1f)
    {
        var aShape = Shapes.Of(graph, node.Inputs[0]);
        var bShape = Shapes.Of(graph, node.Inputs[1]);
        var outShape = Shapes.Of(graph, node.Output);
        var (a, b, m, n, k) = MatMulOperands(graph, node);
        var aBatch = a.Take(a.Length - 2).ToArray();
        var bBatch = b.Take(b.Length - 2).ToArray();
        var batch = ShapeInference.Broadcast(aBatch, bBatch)!;

        // Strides over [batch..., rows, cols] (numpy promotion: a vector operand's added axis has stride 0).
        var aOwn = views.OperandStrides(graph, node.Inputs[0]);
        var bOwn = views.OperandStrides(graph, node.Inputs[1]);
        var yOwn = views.ResultStrides(graph, node.Output);
        var aStrides = aShape.Length == 1 ? new[] { 0, aOwn[0] } : aOwn;
        var bStrides = bShape.Length == 1 ? new[] { bOwn[0], 0 } : bOwn;
        int aRow = aStrides[a.Length - 2], aCol = aStrides[a.Length - 1], bRow = bStrides[b.Length - 2], bCol = bStrides[b.Length - 1];
        int yRow = aShape.Length == 1 ? 0 : yOwn[batch.Length], yCol = bShape.Length == 1 ? 0 : yOwn[yOwn.Length - 1];
        bool strided = !aOwn.SequenceEqual(RowMajorStrides(aShape)) || !bOwn.SequenceEqual(RowMajorStrides(bShape)) || !yOwn.SequenceEqual(RowMajorStrides(outShape));

        // Products big enough to amortize packing B (attention's Q @ K^T, P @ V) run on the GEMM microkernel.
        bool gemm = m >= 2 && n >= 8 && (long)m * n * k >= MinUnpackedGemmMacs;
        w.Line($"// MatMul x0{Fmt(aShape)} @ x1{Fmt(bShape)} -> y{Fmt(outShape)}: {(batch.Length > 0 ? Fmt(batch) + " broadcast batches of " : "")}[{m}, {k}] @ [{k}, {n}], {(gemm ? "each B packed at run time for the GEMM microkernel" : "accumulated into y")}" +
               (strided ? $"; strides a{Fmt(aOwn)}, b{Fmt(bOwn)}, y{Fmt(yOwn)} (folded Transposes)" : ""));
        if (!gemm) w.Line("y.Clear();");
        var loops = new[]
        {
            new View("oy", yOwn.Take(batch.Length).ToArray()),
            new View("oa", BatchStrides(aBatch, aStrides.Take(aBatch.Length).ToArray(), batch)),
            new View("ob", BatchStrides(bBatch, bStrides.Take(bBatch.Length).ToArray(), batch)),
        };
        var (shape, coalesced) = Coalesce(batch, loops.Select(v => v.Strides).ToArray());
        loops = loops.Select((v, i) => v with { Strides = coalesced[i] }).ToArray();
        if (gemm)
        {
            var (kc, mc, _) = CpuTiling.Of(node, m, n, k);
            EmitLoops(w, shape, loops, offsets => w.Line(
                $"{Sgemm}.MultiplyStrided({Lit(m)}, {Lit(n)}, {Lit(k)}, x0.Slice({offsets[1]}), {Lit(aRow)}, {Lit(aCol)}, x1.Slice({offsets[2]}), {Lit(bRow)}, {Lit(bCol)}, " +
                $"y.Slice({offsets[0]}), {Lit(yRow)}, {Lit(yCol)}, {Lit(alpha)}, accumulate: false, kc: {Lit(kc)}, mc: {Lit(mc)}, pool: _pool, isa: InstructionSet);"), index: "batch");
            return;
        }

        EmitLoops(w, shape, loops, offsets => EmitProduct(
            w, m, n, k, alpha, new MatrixView("y", offsets[0], yRow, yCol),
            new MatrixView("x0", offsets[1], aRow, aCol),
            new MatrixView("x1", offsets[2], bRow, bCol)), index: "batch");
    }

    /// <summary>Multiply-adds from which a MatMul of two activations packs B and uses the GEMM microkernel.</summary>
    private const long MinUnpackedGemmMacs = 1 << 14;

    private static void EmitGemm(CodeWriter w, Graph graph, Node node)
    {
        var aShape = Shapes.Of(graph, node.Inputs[0]);
        var bShape = Shapes.Of(graph, node.Inputs[1]);
        var outShape = Shapes.Of(graph, node.Output);
        bool transA = node.Attrs.Int(AttrNames.TransA) != 0;
        bool transB = node.Attrs.Int(AttrNames.TransB) != 0;
        float alpha = node.Attrs.Float(AttrNames.Alpha);
        float beta = node.Attrs.Float(AttrNames.Beta);
        int m = outShape[0], n = outShape[1], k = transA ? aShape[0] : aShape[1];
        var opA = transA ? new MatrixView("x0", "0", 1, aShape[1]) : new MatrixView("x0", "0", aShape[1], 1);
        var opB = transB ? new MatrixView("x1", "0", 1, bShape[1]) : new MatrixView("x1", "0", bShape[1], 1);

        string Op(string name, int[] shape, bool trans) => name + Fmt(shape) + (trans ? "^T" : "");
        string scaled = alpha == 1f ? "" : Lit(alpha) + " * ";
        string bias = node.Inputs.Count > 2 ? $" + {(beta == 1f ? "" : Lit(beta) + " * ")}x2{Fmt(Shapes.Of(graph, node.Inputs[2]))}" : "";
        w.Line($"// Gemm: y[{m}, {n}] = {scaled}{Op("x0", aShape, transA)} @ {Op("x1", bShape, transB)}{bias}");
        if (node.Inputs.Count > 2)
        {
            using (Step(w, "y = beta * C, broadcast"))
            {
                var c = new ElementwiseOperand("x2", Shapes.Of(graph, node.Inputs[2]));
                var init = beta == 1f ? new ElementwiseExpr("{0}", "{0}") : new ElementwiseExpr(Lit(beta) + " * {0}", "{0} * " + Lit(beta));
                EmitElementwise(w, outShape, new[] { c }, ElementwiseProgram.Single(1, init));
            }
        }
        else
        {
            w.Line("y.Clear();");
        }

        EmitProduct(w, m, n, k, alpha, new MatrixView("y", "0", n, 1), opA, opB);
    }

    private static void EmitPackB(CodeWriter w, Graph graph, Node node)
    {
        var b = Shapes.Of(graph, node.Inputs[0]);
        bool transposed = node.Attrs.Int(AttrNames.TransB) != 0;
        int k = transposed ? b[1] : b[0], n = transposed ? b[0] : b[1];
        w.Line($"// Pack B{(transposed ? "^T" : "")} [{k}, {n}] into {GemmLayout.PanelWidth}-column panels for the GEMM microkernel (once, at compile time).");
        w.Line($"{Sgemm}.PackB(x0, {Lit(k)}, {Lit(n)}, {(transposed ? "true" : "false")}, y);");
    }

    private static void EmitPackedGemm(CodeWriter w, Graph graph, Node node)
    {
        var a = Shapes.Of(graph, node.Inputs[0]);
        int m = a[0], k = a[1], n = (int)node.Attrs.Int(AttrNames.N);
        float alpha = node.Attrs.Float(AttrNames.Alpha), beta = node.Attrs.Float(AttrNames.Beta);
        var (kc, mc, blocks) = CpuTiling.Of(node, m, n, k);
        bool hasC = Epilogue.ProductInputs(node).Count > 2;
        // One row reads each weight once: a streaming matrix-vector product, no cache blocking to do.
        string schedule = m == 1 ? "one row: streamed as a matrix-vector product" : $"cache blocks kc = {kc}, mc = {mc} ({blocks})";
        w.Line($"// y[{m}, {n}] = {(alpha == 1f ? "" : Lit(alpha) + " * ")}x0[{m}, {k}] @ packed B[{k}, {n}]{(hasC ? " + " + (beta == 1f ? "" : Lit(beta) + " * ") + "x2" + Fmt(Shapes.Of(graph, node.Inputs[2])) : "")}; {schedule}");
        if (hasC)
        {
            using (Step(w, "y = beta * C, broadcast"))
            {
                var c = new ElementwiseOperand("x2", Shapes.Of(graph, node.Inputs[2]));
                var init = beta == 1f ? new ElementwiseExpr("{0}", "{0}") : new ElementwiseExpr(Lit(beta) + " * {0}", "{0} * " + Lit(beta));
                EmitElementwise(w, Shapes.Of(graph, node.Output), new[] { c }, ElementwiseProgram.Single(1, init));
            }
        }

        if (m == 1)
        {
            w.Line($"global::Aot.Runtime.Cpu.Gemv.Multiply({Lit(n)}, {Lit(k)}, x0, x1, y, {Lit(alpha)}, accumulate: {(hasC ? "true" : "false")}, pool: _pool{PackedGemmEpilogue(graph, node)}, isa: InstructionSet);");
            return;
        }

        w.Line($"{Sgemm}.Multiply({Lit(m)}, {Lit(n)}, {Lit(k)}, x0, {Lit(k)}, x1, y, {Lit(n)}, {Lit(alpha)}, accumulate: {(hasC ? "true" : "false")}, kc: {Lit(kc)}, mc: {Lit(mc)}, pool: _pool{PackedGemmEpilogue(graph, node)}, isa: InstructionSet);");
    }

    /// <summary>
    /// <c>y[i, j] += alpha * sum over p of A[i, p] * B[p, j]</c>. When B's and y's rows are contiguous, in i-k-j
    /// order: for each A[i, p], a vector axpy of B's row p into y's row i. Otherwise (B transposed, one column, or a
    /// strided result) as dot products of A's row i and B's column j, vectorized over p when both are contiguous.
    /// </summary>
    private static void EmitProduct(CodeWriter w, int m, int n, int k, float alpha, MatrixView y, MatrixView a, MatrixView b)
    {
        string Scaled(string value) => alpha == 1f ? value : Lit(alpha) + " * " + value;
        bool dot = b.ColStride != 1 || y.ColStride != 1 || n == 1;
        if (!dot)
        {
            using (w.Block($"for (int i = 0; i < {Lit(m)}; i++)"))
            {
                w.Line($"{SpanF} yRow = y.Slice({Plus(y.Base, Times("i", y.RowStride))}, {Lit(n)});");
                using (w.Block($"for (int p = 0; p < {Lit(k)}; p++)"))
                {
                    w.Line($"// yRow += A[i, p] * B[p, :]");
                    w.Line($"float s = {Scaled(a.At("i", "p"))};");
                    w.Line($"{ReadOnlySpanF} bRow = {b.Span}.Slice({Plus(b.Base, Times("p", b.RowStride))}, {Lit(n)});");
                    EmitAxpy(w, "yRow", "bRow", "s", Lit(n));
                }
            }

            return;
        }

        using (w.Block($"for (int i = 0; i < {Lit(m)}; i++)"))
        {
            bool vectorized = a.ColStride == 1 && b.RowStride == 1 && k >= MinVectorLength;
            if (vectorized) w.Line($"{ReadOnlySpanF} aRow = {a.Span}.Slice({Plus(a.Base, Times("i", a.RowStride))}, {Lit(k)});");
            using (w.Block($"for (int j = 0; j < {Lit(n)}; j++)"))
            {
                w.Line("float sum = 0f;");
                w.Line("int p = 0;");
                if (vectorized)
                {
                    w.Line($"{ReadOnlySpanF} bCol = {b.Span}.Slice({Plus(b.Base, Times("j", b.ColStride))}, {Lit(k)});");
                    w.Line($"var acc = {Vec}.Zero;");
                    w.Line($"for (; p <= {Lit(k)} - {Lanes}; p += {Lanes}) acc += new {Vec}(aRow.Slice(p)) * new {Vec}(bCol.Slice(p));");
                    w.Line($"sum = {VectorOps}.Dot(acc, {Vec}.One);");
                    w.Line($"for (; p < {Lit(k)}; p++) sum += aRow[p] * bCol[p];");
                }
                else
                {
                    w.Line($"for (; p < {Lit(k)}; p++) sum += {a.At("i", "p")} * {b.At("p", "j")};");
                }

                w.Line($"{y.At("i", "j")} += {Scaled("sum")};");
            }
        }
    }
}
