using System.Linq;
using Aot.Generator.IR;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends.Cpu;

// Matrix products that carry an epilogue (made by the FuseEpilogue pass; see IR/Epilogue.cs).
internal static partial class CpuKernels
{
    internal const string GemmEpilogueType = "global::Aot.Runtime.Cpu.GemmEpilogue";
    internal const string GemmActivationType = "global::Aot.Runtime.Cpu.GemmActivation";

    /// <summary>An epilogue the GEMM kernel runs in its store (<c>Sgemm</c>'s <c>GemmEpilogue</c>): operands by their
    /// index among the node's inputs (the kernel's x0, x1, ...), null when absent.</summary>
    internal sealed record GemmEpilogueArgs(int? RowBias, int? ColumnBias, int? Residual, bool ResidualAfterActivation, string Activation);

    /// <summary>
    /// Reads a PackedGemm's, ConvGemm's or WinogradConv's epilogue body as the GEMM kernel's fixed sequence,
    /// <c>act(t + bias [+ residual]) [+ residual]</c>: a bias along the columns (PackedGemm) or output channels
    /// (convolutions), a residual of the product's shape, one activation. Null when the body is anything else.
    /// </summary>
    internal static GemmEpilogueArgs? DecodeEpilogue(Graph graph, Node node)
    {
        if (!(node.Op == OpKind.PackedGemm || Epilogue.IsConvolution(node.Op)) || !Epilogue.Has(node)) return null;
        var product = Shapes.Of(graph, node.Output);
        int first = Epilogue.ProductInputs(node).Count, count = Epilogue.OperandCount(node);
        int? rowBias = null, columnBias = null, residual = null;
        bool after = false;
        string? activation = null;
        int running = 0;
        foreach (var step in node.Body)
        {
            if (step.Inputs.Count == 1 && step.Inputs[0] == running && activation is null)
            {
                activation = step.Op switch
                {
                    OpKind.Relu => "Relu",
                    OpKind.Gelu => step.Attrs.Int(AttrNames.Mode) == 0 ? "Gelu" : "GeluTanh",
                    OpKind.Sigmoid => "Sigmoid",
                    OpKind.Tanh => "Tanh",
                    _ => null,
                };
                if (activation is null) return null;
            }
            else if (step.Op == OpKind.Add && step.Inputs.Count == 2 && (step.Inputs[0] == running) != (step.Inputs[1] == running))
            {
                int register = step.Inputs[0] == running ? step.Inputs[1] : step.Inputs[0];
                if (register < 1 || register > count || residual is not null && after) return null;
                int input = first + register - 1;
                var shape = Shapes.Of(graph, node.Inputs[input]);
                bool biasAllowed = rowBias is null && columnBias is null && residual is null && activation is null;
                if (shape.SequenceEqual(product) && residual is null)
                {
                    residual = input;
                    after = activation is not null;
                }
                else if (biasAllowed && node.Op == OpKind.PackedGemm && shape.Length >= 1 && shape[shape.Length - 1] == product[1] && shape.Take(shape.Length - 1).All(d => d == 1))
                {
                    columnBias = input;
                }
                else if (biasAllowed && Epilogue.IsConvolution(node.Op) && IsChannelShape(shape, product))
                {
                    rowBias = input;
                }
                else
                {
                    return null;
                }
            }
            else
            {
                return null;
            }

            running = step.Output;
        }

        return new GemmEpilogueArgs(rowBias, columnBias, residual, after, activation ?? "None");
    }

    /// <summary>[K, 1, 1] or [1, K, 1, 1] against an [N, K, H, W] product.</summary>
    private static bool IsChannelShape(int[] shape, int[] product)
    {
        if (product.Length != 4 || shape.Length < 1 || shape.Length > 4) return false;
        var aligned = Enumerable.Repeat(1, 4 - shape.Length).Concat(shape).ToArray();
        return aligned[0] == 1 && aligned[1] == product[1] && aligned[2] == 1 && aligned[3] == 1;
    }

    /// <summary>
    /// A product with an epilogue. PackedGemm and ConvGemm pass it to the GEMM kernel, which applies it per tile
    /// (their emitters add <see cref="PackedGemmEpilogue"/> / <see cref="ConvolutionEpilogue"/> to the call); any other
    /// product, or a body the kernel cannot run, computes the product into y and then runs the body in place over y
    /// while it is still warm in cache.
    /// </summary>
    private static void EmitWithEpilogue(CodeWriter w, Graph graph, Node node, MatMulViews views)
    {
        if (DecodeEpilogue(graph, node) is not null)
        {
            if (node.Op == OpKind.PackedGemm) EmitPackedGemm(w, graph, node);
            else if (node.Op == OpKind.WinogradConv) EmitWinogradConv(w, graph, node);
            else EmitConvGemm(w, graph, node);
            return;
        }

        var own = Epilogue.ProductInputs(node);
        var product = node with { Inputs = new EquatableArray<int>(System.Collections.Immutable.ImmutableArray.CreateRange(own)), Attrs = Epilogue.ProductAttrs(node.Attrs), Body = EquatableArray<Node>.Empty };
        if (node.Op == OpKind.MatMul && LoneScale(node) is { } alpha)
        {
            w.Line($"// Epilogue: the result scaled by {Lit(alpha)} (FoldProductScale), as the product's alpha.");
            EmitMatMul(w, graph, product, views, alpha);
            return;
        }

        Emit(w, graph, product, views: views);
        using (Step(w, "epilogue, in place over y: r0 = y, r1.. = the epilogue operands"))
        {
            var outShape = Shapes.Of(graph, node.Output);
            int count = Epilogue.OperandCount(node);
            foreach (var b in node.Body) w.Line($"//   r{b.Output} = {b.Op}({string.Join(", ", b.Inputs.Select(r => "r" + r))}){(b.Attrs.Items.IsEmpty ? "" : " " + b.Attrs)}");
            w.Line($"{ReadOnlySpanF} yIn = y;");
            var operands = new[] { new ElementwiseOperand("yIn", outShape) }
                .Concat(Enumerable.Range(0, count).Select(i => new ElementwiseOperand("x" + Lit(own.Count + i), Shapes.Of(graph, node.Inputs[own.Count + i]))))
                .ToArray();
            var program = new ElementwiseProgram(operands.Length, node.Body.Select(b => new ElementwiseProgram.Step(
                b.Op == OpKind.Constant ? ConstantExpr(b.Attrs.Float(AttrNames.Value)) : ElementwiseOf(b), b.Inputs.ToArray())).ToArray());
            EmitElementwise(w, outShape, operands, program);
        }
    }

    /// <summary>c for an epilogue that only multiplies by a constant c (1 / c for a division), else null.</summary>
    internal static float? LoneScale(Node node)
    {
        if (Epilogue.OperandCount(node) != 0 || node.Body.Count != 2 || node.Body[0] is not { Op: OpKind.Constant } constant) return null;
        var scale = node.Body[1];
        if (scale.Inputs.Count != 2 || scale.Inputs[0] != 0 || scale.Inputs[1] != constant.Output) return null;
        float c = constant.Attrs.Float(AttrNames.Value);
        return scale.Op switch { OpKind.Mul => c, OpKind.Div => 1f / c, _ => null };
    }

    /// <summary>The <c>epilogue:</c> argument of a PackedGemm's Sgemm.Multiply call ("" without an epilogue).</summary>
    private static string PackedGemmEpilogue(Graph graph, Node node)
    {
        if (DecodeEpilogue(graph, node) is not { } e) return "";
        int n = Shapes.Of(graph, node.Output)[1];
        return EpilogueArgument(e, rowBias: null, columnBias: e.ColumnBias is { } c ? "x" + Lit(c) : null, residual: e.Residual is { } r ? "x" + Lit(r) : null, residualStride: n);
    }

    /// <summary>The <c>epilogue:</c> argument of a convolution's call for image <c>image</c> and the group
    /// <paramref name="group"/> (an expression), whose product is m channels x n pixels ("" without an epilogue).</summary>
    private static string ConvolutionEpilogue(Graph graph, Node node, int m, int n, string group = "g")
    {
        if (DecodeEpilogue(graph, node) is not { } e) return "";
        int channels = Shapes.Of(graph, node.Output)[1];
        string? rowBias = e.RowBias is { } b ? $"x{Lit(b)}.Slice({group} * {Lit(m)}, {Lit(m)})" : null;
        string? residual = e.Residual is { } r ? $"x{Lit(r)}.Slice((image * {Lit(channels)} + {group} * {Lit(m)}) * {Lit(n)}, {Lit(m * n)})" : null;
        return EpilogueArgument(e, rowBias, columnBias: null, residual, residualStride: n);
    }

    private static string EpilogueArgument(GemmEpilogueArgs e, string? rowBias, string? columnBias, string? residual, int residualStride)
    {
        var parts = new System.Collections.Generic.List<string>();
        if (rowBias is not null) parts.Add("RowBias = " + rowBias);
        if (columnBias is not null) parts.Add("ColumnBias = " + columnBias);
        if (residual is not null)
        {
            parts.Add("Residual = " + residual);
            parts.Add("ResidualStride = " + Lit(residualStride));
            if (e.ResidualAfterActivation) parts.Add("ResidualAfterActivation = true");
        }

        if (e.Activation != "None") parts.Add($"Activation = {GemmActivationType}.{e.Activation}");
        return $", epilogue: new {GemmEpilogueType} {{ {string.Join(", ", parts)} }}";
    }
}
