using Aot.Generator.IR;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends.Cpu;

internal static partial class CpuKernels
{
    /// <summary>A convolution small enough for L1 (made by LowerSmallConv), with its absorbed ReLU and 2 x 2 max pooling:
    /// one runtime SmallConv call per image, on the calling thread (too little work to split).</summary>
    private static void EmitSmallConv(CodeWriter w, Graph graph, Node node)
    {
        var x = Shapes.Of(graph, node.Inputs[0]);
        var wt = Shapes.Of(graph, node.Inputs[1]); // [C, R, S, K]
        var y = Shapes.Of(graph, node.Output);
        var pads = node.Attrs.Ints(AttrNames.Pads);
        bool relu = node.Attrs.Int(AttrNames.Relu) != 0, pool = node.Attrs.Int(AttrNames.Pool) == 2;
        bool bias = node.Inputs.Count > 2;
        int c = x[1], k = wt[3];
        int oh = x[2] + pads[0] + pads[2] - wt[1] + 1, ow = x[3] + pads[1] + pads[3] - wt[2] + 1;
        int inImage = c * x[2] * x[3], outImage = k * y[2] * y[3];
        w.Line($"// y{Fmt(y)} = {(pool ? "maxpool2x2(" : "")}{(relu ? "relu(" : "")}conv(x0{Fmt(x)}, w{Fmt(wt)} as [C, R, S, K]){(bias ? " + x2" : "")}{(relu ? ")" : "")}{(pool ? ")" : "")}: " +
               $"pads {Fmt(pads)}, {oh}x{ow} outputs per channel, direct (input and weights fit in L1)");
        using (w.Block($"for (int image = 0; image < {Lit(x[0])}; image++)"))
        {
            w.Line($"global::Aot.Runtime.Cpu.SmallConv.Forward(x0.Slice(image * {Lit(inImage)}, {Lit(inImage)}), {Lit(c)}, {Lit(x[2])}, {Lit(x[3])}, x1, {(bias ? "x2" : "default")}, " +
                   $"{Lit(k)}, {Lit(wt[1])}, {Lit(wt[2])}, {Lit(pads[0])}, {Lit(pads[1])}, {Lit(oh)}, {Lit(ow)}, relu: {(relu ? "true" : "false")}, maxPool2x2: {(pool ? "true" : "false")}, " +
                   $"y.Slice(image * {Lit(outImage)}, {Lit(outImage)}), isa: InstructionSet);");
        }
    }
}
