using System.Collections.Generic;
using System.Linq;

namespace Aot.Generator.IR;

/// <summary>
/// A matrix product (MatMul, Gemm, PackedGemm, ConvGemm, WinogradConv) that carries an epilogue: elementwise work applied to its
/// result before it is stored, made by the FuseEpilogue pass. The node's attribute <see cref="Operands"/> = E says
/// that its last E inputs are epilogue operands (each broadcast to the product's shape); the first ones are the
/// product's own. <see cref="Node.Body"/> is the epilogue in SSA over registers: r0 is the product's element,
/// r1..rE the epilogue operands, body node j defines register 1 + E + j, and the last one is the node's result.
/// The node's type is the product's.
/// </summary>
internal static class Epilogue
{
    /// <summary>Attribute: how many of the node's inputs, at the end, are epilogue operands.</summary>
    public const string Operands = "epilogue";

    public static bool CanCarry(OpKind op) => op is OpKind.MatMul or OpKind.Gemm or OpKind.PackedGemm || IsConvolution(op);

    /// <summary>The CPU's convolution products: their epilogue bias runs along output channels.</summary>
    public static bool IsConvolution(OpKind op) => op is OpKind.ConvGemm or OpKind.WinogradConv;

    public static bool Has(Node node) => node.Attrs.Has(Operands);

    /// <summary>E: the epilogue operands among the node's inputs (0 without an epilogue).</summary>
    public static int OperandCount(Node node) => Has(node) ? (int)node.Attrs.Int(Operands) : 0;

    /// <summary>The product's own inputs (A, B, and C or bias when it has one), without the epilogue operands.</summary>
    public static IReadOnlyList<int> ProductInputs(Node node) => node.Inputs.Take(node.Inputs.Count - OperandCount(node)).ToArray();

    /// <summary>The epilogue operands, r1..rE of the body.</summary>
    public static IReadOnlyList<int> EpilogueInputs(Node node) => node.Inputs.Skip(node.Inputs.Count - OperandCount(node)).ToArray();

    /// <summary>The attributes of the product alone.</summary>
    public static Attrs ProductAttrs(Attrs attrs) => Attrs.Of(attrs.Items.Where(a => a.Name != Operands).ToArray());

    /// <summary>Shape rule of a product with an epilogue: the product's own rule on its own inputs; every epilogue
    /// operand must be a float tensor that broadcasts to the product's shape.</summary>
    public static InferResult Infer(OpKind op, IReadOnlyList<TensorType> inputs, Attrs attrs)
    {
        int count = (int)attrs.Int(Operands);
        if (!CanCarry(op) || count < 0 || count > inputs.Count)
        {
            return InferResult.Fail(ShapeErrorKind.InvalidArgument, $"{op}: cannot carry an epilogue of {count} operands");
        }

        var product = ShapeInference.Infer(op, inputs.Take(inputs.Count - count).ToArray(), ProductAttrs(attrs));
        if (product.Type is not { } type) return product;
        foreach (var operand in inputs.Skip(inputs.Count - count))
        {
            var full = ShapeInference.Broadcast(operand.Shape, type.Shape);
            if (operand.DType != DType.Float32 || full is null || !full.SequenceEqual(type.Shape))
            {
                return InferResult.Fail(ShapeErrorKind.OperandShape, $"{op}: epilogue operand {operand} does not broadcast to the product {type}");
            }
        }

        return product;
    }
}
