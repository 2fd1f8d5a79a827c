// Linked as source into Aot.Runtime and Aot.Generator: the text form of NPU-1 instructions (docs/npu/isa.md,
// "Assembly text"). The generator puts it in comments of generated files; the runtime's assembler parses it back.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

#if AOT_GENERATOR
namespace Aot.Generator.Npu;
#else
namespace Aot.Npu;
#endif

/// <summary>
/// Prints instructions one per line, e.g.
/// <c>dma.ld ch=0 region=const dram=0x0+128 local=0x1000+64 rows=32 bytes=64 pad=0,0 wait=s3>=2 signal=s4</c>.
/// The text is lossless: every canonical instruction word, valid for the loader or not, prints to a line the
/// assembler turns back into the same word (fields outside their valid ranges print as numbers, stray flag bits
/// as <c>flags=0x..</c>, reserved-but-set operands by their field names).
/// </summary>
public static class NpuDisassembler
{
    /// <summary>The program, one instruction per line (each ending in '\n').</summary>
    /// <param name="code">The instructions.</param>
    /// <param name="stringAt">Resolves a MARK's STRINGS offset to its name; a MARK prints <c>@offset</c> without it.</param>
    public static string Disassemble(IReadOnlyList<Instruction> code, Func<uint, string?>? stringAt = null)
    {
        if (code is null) throw new ArgumentNullException(nameof(code));
        var sb = new StringBuilder();
        for (int i = 0; i < code.Count; i++) sb.Append(Format(code[i], stringAt)).Append('\n');
        return sb.ToString();
    }

    /// <summary>One instruction as one line of assembly text (no newline).</summary>
    /// <param name="instruction">The instruction.</param>
    /// <param name="stringAt">Resolves a MARK's STRINGS offset to its name; a MARK prints <c>@offset</c> without it.</param>
    public static string Format(in Instruction instruction, Func<uint, string?>? stringAt = null)
    {
        var i = instruction;
        var sb = new StringBuilder(96);
        int extraFlags = i.Flags;
        bool waitDone = false, signalDone = false;
        switch (i.Op)
        {
            case Opcode.Nop:
            case Opcode.Halt:
            case Opcode.Fence:
                sb.Append(NpuAsm.Mnemonic(i.Op));
                break;
            case Opcode.Wait:
                sb.Append("wait");
                if (i.WaitSemaphore != InstructionFlags.NoSemaphore || i.WaitValue != 0)
                {
                    sb.Append(' ');
                    AppendWait(sb, i);
                }

                waitDone = true;
                int queue = i.Flags & InstructionFlags.WaitQueueMask;
                if (queue != 0) sb.Append(" queue=").Append(NpuAsm.QueueName(queue));
                extraFlags &= ~InstructionFlags.WaitQueueMask;
                break;
            case Opcode.Signal:
                sb.Append("signal");
                if (i.Signals) sb.Append(" s").Append(Num(i.SignalSemaphore));
                signalDone = true;
                break;
            case Opcode.Mark:
                sb.Append((i.Flags & InstructionFlags.MarkEnd) != 0 ? "mark.end " : "mark.begin ");
                extraFlags &= ~InstructionFlags.MarkEnd;
                string? name = stringAt?.Invoke(i.Name);
                if (name is null) sb.Append('@').Append(Num(i.Name));
                else AppendQuoted(sb, name);
                break;
            case Opcode.DmaLoad:
            case Opcode.DmaStore:
                sb.Append(NpuAsm.Mnemonic(i.Op));
                sb.Append(" ch=").Append(Num(i.Channel));
                sb.Append(" region=").Append(NpuAsm.RegionName((byte)i.Region));
                sb.Append(" dram=").Append(Hex(i.DramOffset)).Append('+').Append(Num(i.DramStride));
                sb.Append(" local=").Append(Hex(i.Local)).Append('+').Append(Num(i.LocalStride));
                sb.Append(" rows=").Append(Num(i.Rows));
                sb.Append(" bytes=").Append(Num(i.RowBytes));
                if (i.Op == Opcode.DmaLoad || i.PadBefore != 0 || i.PadAfter != 0)
                    sb.Append(" pad=").Append(Num(i.PadBefore)).Append(',').Append(Num(i.PadAfter));
                break;
            case Opcode.MxuLoadWeights:
                sb.Append("mxu.lw ").Append(NpuAsm.DTypeName(i.Flags & InstructionFlags.MxuDTypeMask));
                sb.Append(" w=").Append(Hex(i.Local)).Append('+').Append(Num(i.LocalStride));
                sb.Append(" k=").Append(Num(i.Rows));
                sb.Append(" n=").Append(Num(i.Cols));
                if ((i.Flags & InstructionFlags.MxuTranspose) != 0) sb.Append(" transpose");
                extraFlags &= ~(InstructionFlags.MxuDTypeMask | InstructionFlags.MxuTranspose);
                break;
            case Opcode.MxuMatmul:
                sb.Append("mxu.mm ").Append(NpuAsm.DTypeName(i.Flags & InstructionFlags.MxuDTypeMask));
                sb.Append(" a=").Append(Hex(i.Local)).Append('+').Append(Num(i.LocalStride));
                sb.Append(" m=").Append(Num(i.Rows));
                sb.Append(" k=").Append(Num(i.K));
                sb.Append(" acc=").Append(Num(i.AccRow)).Append('+').Append(Num(i.AccStride));
                if ((i.Flags & InstructionFlags.MxuSwapWeights) != 0) sb.Append(" swap");
                if ((i.Flags & InstructionFlags.MxuAccumulate) != 0) sb.Append(" accumulate");
                extraFlags &= ~(InstructionFlags.MxuDTypeMask | InstructionFlags.MxuAccumulate | InstructionFlags.MxuSwapWeights);
                break;
            case >= Opcode.VBinary and <= Opcode.VFill:
                extraFlags = FormatVector(sb, i);
                break;
            default:
                sb.Append("op.0x").Append(((byte)i.Op).ToString("x2", CultureInfo.InvariantCulture));
                break;
        }

        if (extraFlags != 0) sb.Append(" flags=0x").Append(extraFlags.ToString("x2", CultureInfo.InvariantCulture));
        if (!waitDone && (i.WaitSemaphore != InstructionFlags.NoSemaphore || i.WaitValue != 0))
        {
            sb.Append(" wait=");
            AppendWait(sb, i);
        }

        if (!signalDone && i.Signals) sb.Append(" signal=s").Append(Num(i.SignalSemaphore));
        return sb.ToString();
    }

    /// <summary>An immediate as the text shows it: int32 in decimal, fp32 as the shortest decimal that reads back
    /// to the same bits (always with a '.' or an exponent), NaN and infinities as <c>0x</c> and the 8 hex digits of
    /// their bits.</summary>
    public static string FormatImmediate(uint bits, bool isInt)
    {
        if (isInt) return unchecked((int)bits).ToString(CultureInfo.InvariantCulture);
        float f = new Instruction { Imm = bits }.ImmFloat;
        if (float.IsNaN(f) || float.IsInfinity(f)) return "0x" + bits.ToString("x8", CultureInfo.InvariantCulture);
        string s = f.ToString("R", CultureInfo.InvariantCulture);
        if (!float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out float back) || Instruction.BitsOf(back) != bits)
            s = f.ToString("G9", CultureInfo.InvariantCulture);
        if (s.IndexOf('.') < 0 && s.IndexOf('E') < 0) s += ".0";
        return s;
    }

    private static int FormatVector(StringBuilder sb, in Instruction i)
    {
        int extra = i.Flags;
        sb.Append(NpuAsm.Mnemonic(i.Op));
        switch (i.Op)
        {
            case Opcode.VBinary:
            case Opcode.VImmediate:
                sb.Append(' ').Append(NpuAsm.BinaryOpName(i.SubOp));
                break;
            case Opcode.VActivation:
                sb.Append(' ').Append(NpuAsm.ActivationName(i.SubOp));
                break;
            case Opcode.VReduce:
                sb.Append(' ').Append(NpuAsm.ReduceOpName(i.SubOp));
                break;
            case Opcode.VConvert:
                sb.Append(' ').Append(NpuAsm.DTypeName(i.Aux)).Append("->").Append(NpuAsm.DTypeName(i.SubOp));
                break;
        }

        bool isInt = (i.Flags & InstructionFlags.VInt) != 0;
        if (isInt) sb.Append(" int");
        extra &= ~InstructionFlags.VInt;
        if (i.Op is Opcode.VMove or Opcode.VFill && i.SubOp != 0) sb.Append(" sub=").Append(Num(i.SubOp));
        sb.Append(" rows=").Append(Num(i.Rows));
        sb.Append(" vecs=").Append(Num(i.Vectors));
        AppendOperand(sb, "dst", i.Dst, i.DstStride);
        if (i.Op != Opcode.VFill || i.Src1 != 0 || i.Src1Stride != 0) AppendOperand(sb, "s1", i.Src1, i.Src1Stride);
        bool noS2 = (i.Flags & InstructionFlags.VNoS2) != 0;
        if (i.Op == Opcode.VConvert)
        {
            if (i.Src2 != 0) sb.Append(" zp=").Append(Num(SignExtend24(i.Src2)));
            if (i.Src2Stride != 0) sb.Append(" s2stride=").Append(Num(i.Src2Stride));
        }
        else if (i.Op == Opcode.VBinary || (i.Op == Opcode.VActivation && !noS2) || i.Src2 != 0 || i.Src2Stride != 0)
        {
            AppendOperand(sb, "s2", i.Src2, i.Src2Stride);
        }

        if (i.Op is Opcode.VImmediate or Opcode.VActivation or Opcode.VReduce or Opcode.VConvert or Opcode.VFill || i.Imm != 0)
            sb.Append(" imm=").Append(FormatImmediate(i.Imm, isInt));
        if (i.Op != Opcode.VConvert && i.Aux != 0) sb.Append(" aux=").Append(Num(i.Aux));
        if ((i.Flags & InstructionFlags.VBroadcastS1) != 0) sb.Append(" s1bcast");
        if ((i.Flags & InstructionFlags.VBroadcastS2) != 0) sb.Append(" s2bcast");
        if (noS2) sb.Append(" nos2");
        if ((i.Flags & InstructionFlags.VBroadcastResult) != 0) sb.Append(" splat");
        extra &= ~(InstructionFlags.VBroadcastS1 | InstructionFlags.VBroadcastS2 | InstructionFlags.VNoS2 | InstructionFlags.VBroadcastResult);
        return extra;
    }

    /// <summary>The V_CVT zero point: the s2 field read as a signed 24-bit integer.</summary>
    public static int SignExtend24(uint field) => (int)(field << 8) >> 8;

    private static void AppendOperand(StringBuilder sb, string name, uint address, int stride) =>
        sb.Append(' ').Append(name).Append('=').Append(Hex(address)).Append('+').Append(Num(stride));

    private static void AppendWait(StringBuilder sb, in Instruction i) =>
        sb.Append('s').Append(Num(i.WaitSemaphore)).Append(">=").Append(Num(i.WaitValue));

    private static void AppendQuoted(StringBuilder sb, string text)
    {
        sb.Append('"');
        foreach (char c in text)
        {
            if (c == '"' || c == '\\') sb.Append('\\').Append(c);
            else if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0) || c == 0x2028 || c == 0x2029)
                sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }

        sb.Append('"');
    }

    private static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Hex(uint v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);
}

/// <summary>The names of the assembly text, shared by the disassembler and the assembler.</summary>
internal static class NpuAsm
{
    public static readonly string[] Regions = { "const", "input", "output", "workspace" };
    public static readonly string[] DTypes = { "int8", "fp16", "fp32", "int32" };
    public static readonly string[] BinaryOps = { "add", "sub", "mul", "max", "min", "mac" };
    public static readonly string[] Activations = { "identity", "relu", "gelu", "exp", "tanh", "sigmoid", "rsqrt", "recip" };
    public static readonly string[] ReduceOps = { "sum", "max", "sumsq" };
    /// <summary>WAIT queue field value - 1: the unit whose queue holds the wait.</summary>
    public static readonly string[] Queues = { "dma0", "dma1", "dma2", "dma3", "mxu", "vpu" };

    public static string Mnemonic(Opcode op) => op switch
    {
        Opcode.Nop => "nop",
        Opcode.Halt => "halt",
        Opcode.Wait => "wait",
        Opcode.Signal => "signal",
        Opcode.Fence => "fence",
        Opcode.Mark => "mark",
        Opcode.DmaLoad => "dma.ld",
        Opcode.DmaStore => "dma.st",
        Opcode.MxuLoadWeights => "mxu.lw",
        Opcode.MxuMatmul => "mxu.mm",
        Opcode.VBinary => "v.bin",
        Opcode.VImmediate => "v.imm",
        Opcode.VActivation => "v.act",
        Opcode.VReduce => "v.red",
        Opcode.VConvert => "v.cvt",
        Opcode.VMove => "v.mov",
        Opcode.VFill => "v.fill",
        _ => "op.0x" + ((byte)op).ToString("x2", CultureInfo.InvariantCulture),
    };

    public static string RegionName(int v) => Name(Regions, v);
    public static string DTypeName(int v) => Name(DTypes, v);
    public static string BinaryOpName(int v) => Name(BinaryOps, v);
    public static string ActivationName(int v) => Name(Activations, v);
    public static string ReduceOpName(int v) => Name(ReduceOps, v);
    public static string QueueName(int field) => field >= 1 && field <= Queues.Length ? Queues[field - 1] : field.ToString(CultureInfo.InvariantCulture);

    /// <summary>A known value by name, anything else as its decimal number (so the text stays lossless).</summary>
    private static string Name(string[] names, int v) => v >= 0 && v < names.Length ? names[v] : v.ToString(CultureInfo.InvariantCulture);
}
