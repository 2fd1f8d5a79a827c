using Aot.Generator.IR;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends.Cpu;

// Recurrent layers: LSTM, through the runtime's Recurrent.Lstm (one GEMM for the input projection of all steps, then
// a small GEMM and the cell update per step).
internal static partial class CpuKernels
{
    internal const string Recurrent = "global::Aot.Runtime.Cpu.Recurrent";

    private static void EmitLstm(CodeWriter w, Graph graph, Node node)
    {
        var x = Shapes.Of(graph, node.Inputs[LstmOperands.X]);
        var y = Shapes.Of(graph, node.Output);
        int seq = x[0], batch = x[1], input = x[2], hidden = y[y.Length - 1];
        var operands = LstmOperands.Of(node.Attrs);
        long output = node.Attrs.Int(AttrNames.Output);
        float clip = node.Attrs.Float(AttrNames.Clip);
        string Operand(int index) => index >= 0 ? "x" + Lit(index) : "default";
        string Result(long which) => output == which ? "y" : "default";
        // Blocks independent of the rows, so a dynamic sequence length (or batch) changes no literal but the sizes.
        var (kcX, mcX) = CpuTiling.GemmAnyRows(input, CpuTarget.Default);
        var (kcH, mcH) = CpuTiling.GemmAnyRows(hidden, CpuTarget.Default);
        string[] results = { "Y (h after every step)", "Y_h (the last h)", "Y_c (the last c)" };
        w.Line($"// Lstm over x0{Fmt(x)}, hidden {hidden}{(clip > 0 ? ", clip " + Lit(clip) : "")} -> {results[output]} y{Fmt(y)}: " +
               $"x @ W^T for all {seq} steps as one GEMM, then per step h @ R^T and the cell update");
        bool packed = node.Attrs.Has(AttrNames.N);
        if (packed) w.Line("// W^T and R^T were packed into GEMM panels once, when the model was compiled.");
        w.Line($"{Recurrent}.{(packed ? "LstmPacked" : "Lstm")}(x0, x1, x2, {Operand(operands.Bias)}, {Operand(operands.InitialH)}, {Operand(operands.InitialC)}, " +
               $"{Lit(seq)}, {Lit(batch)}, {Lit(input)}, {Lit(hidden)}, {Lit(clip)}, {Result(LstmOperands.Sequence)}, {Result(LstmOperands.LastHidden)}, {Result(LstmOperands.LastCell)}, " +
               $"{Lit(kcX)}, {Lit(mcX)}, {Lit(kcH)}, {Lit(mcH)}, _pool, InstructionSet);");
    }
}
