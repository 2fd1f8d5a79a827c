using System;
using Aot.Generator.IR;

namespace Aot.Generator.Backends.Cpu;

/// <summary>
/// Emits the body of one node's kernel. The caller has declared, in a fresh block, the operands as
/// <c>ReadOnlySpan&lt;T&gt; x0, x1, ...</c> and the result as <c>Span&lt;T&gt; y</c>, all dense row-major with
/// the shapes in the graph; the result never overlaps an operand.
/// </summary>
internal static partial class CpuKernels
{
    public static void Emit(CodeWriter w, Graph graph, Node node)
    {
        switch (node.Op)
        {
            case OpKind.Constant:
                w.Line($"y[0] = {CpuEmitter.Float(node.Attrs.Float(AttrNames.Value))};");
                break;
            default:
                throw new NotSupportedException("CPU backend has no kernel for " + node.Op);
        }
    }
}
