using System.Globalization;
using System.Text;
using Aot.Npu;

namespace Aot.Runtime.Npu;

/// <summary>Short one-line names of instructions for trace slices, reports and error messages.</summary>
internal static class SimText
{
    private static readonly string[] RegionNames = { "CONST", "INPUT", "OUTPUT", "WORKSPACE" };
    private static readonly string[] DTypeNames = { "i8", "f16", "f32", "i32" };
    private static readonly string[] BinNames = { "add", "sub", "mul", "max", "min", "mac" };
    private static readonly string[] ActNames = { "identity", "relu", "gelu", "exp", "tanh", "sigmoid", "rsqrt", "recip" };
    private static readonly string[] RedNames = { "sum", "max", "sumsq" };
    private static readonly string[] UnitNames = { "DMA0", "DMA1", "DMA2", "DMA3", "MXU", "VPU", "Dispatcher" };

    public static string UnitName(Unit unit) => (uint)unit < (uint)UnitNames.Length ? UnitNames[(int)unit] : "unit" + ((int)unit).ToString(CultureInfo.InvariantCulture);

    public static string Region(Region r) => (uint)r < 4 ? RegionNames[(int)r] : "region" + ((int)r).ToString(CultureInfo.InvariantCulture);

    public static string DType(int d) => (uint)d < 4 ? DTypeNames[d] : "dtype" + d.ToString(CultureInfo.InvariantCulture);

    private static string Pick(string[] names, int i) => (uint)i < (uint)names.Length ? names[i] : i.ToString(CultureInfo.InvariantCulture);

    private static string Hex(long v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    private static string N(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>The instruction without its wait/signal, e.g. <c>DMA_LD ch1 CONST+0x8000 32x256 -> 0x40000</c>.</summary>
    public static string Short(in Instruction i, string? markName = null)
    {
        switch (i.Op)
        {
            case Opcode.Nop: return "NOP";
            case Opcode.Halt: return "HALT";
            case Opcode.Fence: return "FENCE";
            case Opcode.Signal: return "SIGNAL s" + N(i.SignalSemaphore);
            case Opcode.Wait:
                return (i.Flags == 0 ? "WAIT" : "WAIT@" + UnitName((Unit)((i.Flags & InstructionFlags.WaitQueueMask) - 1)))
                    + " s" + N(i.WaitSemaphore) + ">=" + N(i.WaitValue);
            case Opcode.Mark: return ((i.Flags & InstructionFlags.MarkEnd) != 0 ? "MARK end " : "MARK ") + (markName ?? "@" + N(i.Name));
            case Opcode.DmaLoad:
                return "DMA_LD ch" + N(i.Channel) + " " + Region(i.Region) + "+" + Hex(i.DramOffset) + " " + N(i.Rows) + "x" + N(i.RowBytes)
                    + " -> " + Hex(i.Local) + (i.PadBefore + i.PadAfter > 0 ? " pad " + N(i.PadBefore) + "," + N(i.PadAfter) : "");
            case Opcode.DmaStore:
                return "DMA_ST ch" + N(i.Channel) + " " + Hex(i.Local) + " " + N(i.Rows) + "x" + N(i.RowBytes) + " -> " + Region(i.Region) + "+" + Hex(i.DramOffset);
            case Opcode.MxuLoadWeights:
                return "MXU_LW " + DType(i.Flags & InstructionFlags.MxuDTypeMask) + " " + Hex(i.Local) + " " + N(i.Rows) + "x" + N(i.Cols)
                    + ((i.Flags & InstructionFlags.MxuTranspose) != 0 ? " T" : "");
            case Opcode.MxuMatmul:
                return "MXU_MM " + DType(i.Flags & InstructionFlags.MxuDTypeMask) + " A=" + Hex(i.Local) + " m=" + N(i.Rows) + " K=" + N(i.K)
                    + " acc=" + N(i.AccRow) + (i.Rows > 1 ? "+" + N(i.AccStride) : "")
                    + ((i.Flags & InstructionFlags.MxuSwapWeights) != 0 ? " swap" : "")
                    + ((i.Flags & InstructionFlags.MxuAccumulate) != 0 ? " +=" : "");
            case >= Opcode.VBinary and <= Opcode.VFill:
                var sb = new StringBuilder(48);
                sb.Append(i.Op switch
                {
                    Opcode.VBinary => "V_BIN " + Pick(BinNames, i.SubOp),
                    Opcode.VImmediate => "V_IMM " + Pick(BinNames, i.SubOp),
                    Opcode.VActivation => "V_ACT " + Pick(ActNames, i.SubOp),
                    Opcode.VReduce => "V_RED " + Pick(RedNames, i.SubOp),
                    Opcode.VConvert => "V_CVT " + DType(i.Aux) + "->" + DType(i.SubOp),
                    Opcode.VMove => "V_MOV",
                    _ => "V_FILL",
                });
                if ((i.Flags & InstructionFlags.VInt) != 0 && i.Op != Opcode.VConvert) sb.Append(".i32");
                sb.Append(' ').Append(N(i.Rows)).Append('x').Append(N(i.Vectors)).Append(" d=").Append(Hex(i.Dst));
                return sb.ToString();
            default: return "op" + Hex((int)i.Op);
        }
    }

    /// <summary><see cref="Short"/> plus the wait and signal, e.g. <c>... wait s3>=2 signal s4</c>.</summary>
    public static string Full(in Instruction i, string? markName = null)
    {
        string s = Short(i, markName);
        if (i.Waits && i.Op != Opcode.Wait) s += " wait s" + N(i.WaitSemaphore) + ">=" + N(i.WaitValue);
        if (i.Signals && i.Op != Opcode.Signal) s += " signal s" + N(i.SignalSemaphore);
        return s;
    }
}
