using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Aot.Npu;

namespace Aot.Runtime.Npu;

/// <summary>
/// Parses NPU-1 assembly text (the format <see cref="NpuDisassembler"/> prints, docs/npu/isa.md "Assembly text"):
/// one instruction per line, <c>#</c> or <c>;</c> starts a comment, and a few directives (<c>.region</c>,
/// <c>.const</c>, <c>.sem</c>, <c>.symbol</c>, <c>.debug</c>) describe the rest of a binary. The assembler checks
/// syntax and that every value fits its field; whether the program is valid is the loader's job, so any canonical
/// instruction word can be written (and <c>assemble(disassemble(word)) == word</c>). Errors are
/// <see cref="NpuAssemblyException"/>s naming the line and column.
/// </summary>
public static class NpuAssembler
{
    /// <summary>Assembles a whole program (instructions and directives) into a writer; call
    /// <see cref="NpuBinaryWriter.ToArray"/> for the binary, or set <see cref="NpuBinaryWriter.Constants"/> first.</summary>
    public static NpuBinaryWriter Assemble(string text)
    {
        if (text is null) throw new ArgumentNullException(nameof(text));
        var writer = new NpuBinaryWriter();
        var lines = text.Split('\n');
        bool constSet = false;
        for (int l = 0; l < lines.Length; l++)
        {
            var tokens = Tokenize(lines[l].TrimEnd('\r'), l + 1);
            if (tokens.Count == 0) continue;
            if (tokens[0].Text.StartsWith(".", StringComparison.Ordinal) && !tokens[0].Quoted)
                Directive(tokens, l + 1, writer, ref constSet);
            else
                writer.Code.Add(Parse(tokens, l + 1, writer.Strings));
        }

        return writer;
    }

    /// <summary>Assembles a whole program and writes its binary.</summary>
    public static byte[] AssembleBinary(string text) => Assemble(text).ToArray();

    /// <summary>
    /// Assembles one instruction line. A MARK name in quotes is added to <paramref name="strings"/> (required then);
    /// <c>@offset</c> refers to a STRINGS offset directly.
    /// </summary>
    public static Instruction AssembleInstruction(string line, NpuStringTable? strings = null)
    {
        if (line is null) throw new ArgumentNullException(nameof(line));
        var tokens = Tokenize(line, 1);
        if (tokens.Count == 0) throw new NpuAssemblyException(1, 1, "the line has no instruction");
        if (tokens[0].Text.StartsWith(".", StringComparison.Ordinal) && !tokens[0].Quoted)
            throw new NpuAssemblyException(1, tokens[0].Column, $"directive {tokens[0].Text} where an instruction was expected");
        return Parse(tokens, 1, strings);
    }

    /// <summary>
    /// A loaded program as assembly text: directives for regions, semaphores and symbols, then the code with MARK
    /// names. The CONST contents are not in the text (only <c>.const size</c>).
    /// </summary>
    public static string Disassemble(NpuProgram program)
    {
        if (program is null) throw new ArgumentNullException(nameof(program));
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        if (program.Constants.Length > 0) sb.Append(".const ").Append(program.Constants.Length.ToString(inv)).Append('\n');
        if (program.InputBytes > 0) sb.Append(".region input ").Append(program.InputBytes.ToString(inv)).Append('\n');
        if (program.OutputBytes > 0) sb.Append(".region output ").Append(program.OutputBytes.ToString(inv)).Append('\n');
        if (program.WorkspaceBytes > 0) sb.Append(".region workspace ").Append(program.WorkspaceBytes.ToString(inv)).Append('\n');
        for (int s = 0; s < program.SemaphoreInit.Length; s++)
        {
            if (program.SemaphoreInit[s] != 0) sb.Append(".sem s").Append(s.ToString(inv)).Append(' ').Append(program.SemaphoreInit[s].ToString(inv)).Append('\n');
        }

        foreach (var sym in program.Symbols)
        {
            sb.Append(".symbol ").Append(Quote(sym.Name))
                .Append(" region=").Append(NpuAsm.RegionName((byte)sym.Region))
                .Append(" offset=0x").Append(sym.Offset.ToString("x", inv))
                .Append(" dtype=").Append(NpuAsm.DTypeName((byte)sym.DType))
                .Append(" shape=[").Append(string.Join(",", Array.ConvertAll(sym.Shape, d => d.ToString(inv)))).Append(']');
            if (sym.Layout == NpuContainer.LayoutChannelsLast) sb.Append(" layout=channels-last");
            else if (sym.Layout != NpuContainer.LayoutRowMajor) sb.Append(" layout=").Append(sym.Layout.ToString(inv));
            if (sym.DType == NpuDType.Int8)
                sb.Append(" scale=").Append(NpuDisassembler.FormatImmediate(Instruction.BitsOf(sym.Scale), false)).Append(" zp=").Append(sym.ZeroPoint.ToString(inv));
            sb.Append('\n');
        }

        for (int i = 0; i < program.Code.Length; i++)
        {
            string name = program.MarkNames[i];
            sb.Append(NpuDisassembler.Format(program.Code[i], _ => name.Length > 0 ? name : null)).Append('\n');
        }

        return sb.ToString();
    }

    // ------------------------------------------------------------------ tokens

    private readonly struct Token
    {
        public Token(string text, int column, bool quoted)
        {
            Text = text;
            Column = column;
            Quoted = quoted;
        }

        public string Text { get; }
        public int Column { get; }
        public bool Quoted { get; }
    }

    private static List<Token> Tokenize(string line, int lineNo)
    {
        var tokens = new List<Token>();
        int i = 0;
        while (i < line.Length)
        {
            char c = line[i];
            if (c == ' ' || c == '\t')
            {
                i++;
                continue;
            }

            if (c == '#' || c == ';') break;
            int start = i;
            if (c == '"')
            {
                var sb = new StringBuilder();
                i++;
                while (true)
                {
                    if (i >= line.Length) throw new NpuAssemblyException(lineNo, start + 1, "unterminated string");
                    char d = line[i];
                    if (d == '"') break;
                    if (d == '\\')
                    {
                        if (i + 1 >= line.Length) throw new NpuAssemblyException(lineNo, i + 1, "unterminated escape");
                        char e = line[i + 1];
                        if (e is '"' or '\\')
                        {
                            sb.Append(e);
                            i += 2;
                        }
                        else if (e == 'u' && i + 6 <= line.Length
                                 && int.TryParse(line.Substring(i + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code))
                        {
                            sb.Append((char)code);
                            i += 6;
                        }
                        else
                        {
                            throw new NpuAssemblyException(lineNo, i + 1, "unknown escape; strings know \\\", \\\\ and \\uXXXX");
                        }

                        continue;
                    }

                    sb.Append(d);
                    i++;
                }

                i++;
                if (i < line.Length && line[i] is not (' ' or '\t' or '#' or ';'))
                    throw new NpuAssemblyException(lineNo, i + 1, "a string must be followed by a space or the end of the line");
                tokens.Add(new Token(sb.ToString(), start + 1, true));
                continue;
            }

            while (i < line.Length && line[i] is not (' ' or '\t' or '#' or ';'))
            {
                if (line[i] == '"') throw new NpuAssemblyException(lineNo, i + 1, "a string must be a token of its own");
                i++;
            }

            tokens.Add(new Token(line.Substring(start, i - start), start + 1, false));
        }

        return tokens;
    }

    /// <summary>The tokens after the mnemonic and its positional operands: key=value pairs and flag words, each
    /// taken once by the instruction's parser; whatever is left over is an error.</summary>
    private sealed class Args
    {
        private readonly Dictionary<string, (string Value, int Column)> _keys = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _words = new(StringComparer.Ordinal);
        private readonly int _line;
        private readonly string _mnemonic;
        private readonly int _mnemonicColumn;

        public Args(List<Token> tokens, int start, int line, string mnemonic, int mnemonicColumn)
        {
            _line = line;
            _mnemonic = mnemonic;
            _mnemonicColumn = mnemonicColumn;
            for (int t = start; t < tokens.Count; t++)
            {
                var tok = tokens[t];
                if (tok.Quoted) throw Error(tok.Column, $"unexpected string in {mnemonic}");
                int eq = tok.Text.IndexOf('=');
                if (eq == 0) throw Error(tok.Column, $"'{tok.Text}': a key is missing before '='");
                if (eq > 0)
                {
                    string key = tok.Text.Substring(0, eq);
                    if (_keys.ContainsKey(key)) throw Error(tok.Column, $"{key}= is given twice");
                    _keys[key] = (tok.Text.Substring(eq + 1), tok.Column + eq + 1);
                }
                else
                {
                    if (_words.ContainsKey(tok.Text)) throw Error(tok.Column, $"'{tok.Text}' is given twice");
                    _words[tok.Text] = tok.Column;
                }
            }
        }

        public int Line => _line;

        public NpuAssemblyException Error(int column, string problem) => new(_line, column, problem);

        public bool TryTake(string key, out string value, out int column)
        {
            if (_keys.TryGetValue(key, out var v))
            {
                _keys.Remove(key);
                value = v.Value;
                column = v.Column;
                return true;
            }

            value = "";
            column = 0;
            return false;
        }

        public (string Value, int Column) Take(string key)
        {
            if (!TryTake(key, out var value, out int column)) throw Error(_mnemonicColumn, $"{_mnemonic} needs {key}=");
            return (value, column);
        }

        public bool Word(string word)
        {
            if (!_words.Remove(word)) return false;
            return true;
        }

        public void Finish()
        {
            foreach (var k in _keys) throw Error(k.Value.Column - k.Key.Length - 1, $"{_mnemonic} has no key {k.Key}=");
            foreach (var w in _words) throw Error(w.Value, $"unknown word '{w.Key}' for {_mnemonic}");
        }
    }

    // ------------------------------------------------------------------ instructions

    private static Instruction Parse(List<Token> tokens, int line, NpuStringTable? strings)
    {
        var head = tokens[0];
        string mn = head.Text;
        int next = 1;
        Instruction ins;
        bool waitPositional = false, signalPositional = false;
        Token? Positional(string what)
        {
            if (next < tokens.Count && (tokens[next].Quoted || tokens[next].Text.IndexOf('=') < 0)) return tokens[next++];
            return null;
        }

        Token Required(string what)
        {
            return Positional(what) ?? throw new NpuAssemblyException(line, head.Column + head.Text.Length, $"{mn} needs {what}");
        }

        switch (mn)
        {
            case "nop": ins = Instruction.Create(Opcode.Nop); break;
            case "halt": ins = Instruction.Create(Opcode.Halt); break;
            case "fence": ins = Instruction.Create(Opcode.Fence); break;
            case "wait":
            {
                ins = Instruction.Create(Opcode.Wait);
                waitPositional = true;
                if (next < tokens.Count && !tokens[next].Quoted && tokens[next].Text.StartsWith("s", StringComparison.Ordinal) && tokens[next].Text.IndexOf(">=", StringComparison.Ordinal) > 0)
                {
                    var t = tokens[next++];
                    ParseWait(t.Text, t.Column, line, ref ins);
                }

                break;
            }

            case "signal":
            {
                ins = Instruction.Create(Opcode.Signal);
                signalPositional = true;
                if (next < tokens.Count && !tokens[next].Quoted && tokens[next].Text.IndexOf('=') < 0)
                {
                    var t = tokens[next++];
                    ins.SignalSemaphore = ParseSemaphore(t.Text, t.Column, line);
                }

                break;
            }

            case "mark.begin":
            case "mark.end":
            {
                ins = Instruction.Create(Opcode.Mark, mn == "mark.end" ? InstructionFlags.MarkEnd : (byte)0);
                var t = Required("a name (\"text\" or @offset)");
                if (t.Quoted)
                {
                    if (strings is null) throw new NpuAssemblyException(line, t.Column, "a quoted MARK name needs a string table; use @offset");
                    if (t.Text.IndexOf('\0') >= 0) throw new NpuAssemblyException(line, t.Column, "a MARK name cannot contain NUL");
                    try
                    {
                        ins.Name = strings.Add(t.Text);
                    }
                    catch (ArgumentException)
                    {
                        throw new NpuAssemblyException(line, t.Column, "the MARK name is not valid UTF-16 (a lone surrogate)");
                    }
                }
                else if (t.Text.StartsWith("@", StringComparison.Ordinal))
                {
                    ins.Name = (uint)ParseNumber(t.Text.Substring(1), t.Column + 1, line, uint.MaxValue, "a STRINGS offset");
                }
                else
                {
                    throw new NpuAssemblyException(line, t.Column, $"a MARK name is \"text\" or @offset, not '{t.Text}'");
                }

                break;
            }

            case "dma.ld":
            case "dma.st":
                ins = Instruction.Create(mn == "dma.ld" ? Opcode.DmaLoad : Opcode.DmaStore);
                break;
            case "mxu.lw":
            case "mxu.mm":
            {
                ins = Instruction.Create(mn == "mxu.lw" ? Opcode.MxuLoadWeights : Opcode.MxuMatmul);
                var t = Required("a dtype (int8 or fp16)");
                ins.Flags = (byte)Lookup(NpuAsm.DTypes, t, line, InstructionFlags.MxuDTypeMask, "a dtype");
                break;
            }

            case "v.bin":
            case "v.imm":
            {
                ins = Instruction.Create(mn == "v.bin" ? Opcode.VBinary : Opcode.VImmediate);
                ins.SubOp = (byte)Lookup(NpuAsm.BinaryOps, Required("an operation (add, sub, mul, max, min, mac)"), line, 255, "an operation");
                break;
            }

            case "v.act":
                ins = Instruction.Create(Opcode.VActivation);
                ins.SubOp = (byte)Lookup(NpuAsm.Activations, Required("a function (identity, relu, gelu, exp, tanh, sigmoid, rsqrt, recip)"), line, 255, "a function");
                break;
            case "v.red":
                ins = Instruction.Create(Opcode.VReduce);
                ins.SubOp = (byte)Lookup(NpuAsm.ReduceOps, Required("a reduction (sum, max, sumsq)"), line, 255, "a reduction");
                break;
            case "v.cvt":
            {
                ins = Instruction.Create(Opcode.VConvert);
                var t = Required("a conversion (e.g. fp32->int8)");
                int arrow = t.Text.IndexOf("->", StringComparison.Ordinal);
                if (arrow <= 0) throw new NpuAssemblyException(line, t.Column, $"a conversion is source->destination, e.g. fp32->int8, not '{t.Text}'");
                ins.Aux = (byte)Lookup(NpuAsm.DTypes, new Token(t.Text.Substring(0, arrow), t.Column, false), line, 255, "a dtype");
                ins.SubOp = (byte)Lookup(NpuAsm.DTypes, new Token(t.Text.Substring(arrow + 2), t.Column + arrow + 2, false), line, 255, "a dtype");
                break;
            }

            case "v.mov": ins = Instruction.Create(Opcode.VMove); break;
            case "v.fill": ins = Instruction.Create(Opcode.VFill); break;
            default:
            {
                if (!mn.StartsWith("op.0x", StringComparison.Ordinal)
                    || !byte.TryParse(mn.Substring(5), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte code))
                    throw new NpuAssemblyException(line, head.Column, $"unknown mnemonic '{mn}'");
                if (NpuAsm.Mnemonic((Opcode)code) != mn && !(code == (byte)Opcode.Mark))
                    throw new NpuAssemblyException(line, head.Column, $"opcode 0x{code:x2} is {NpuAsm.Mnemonic((Opcode)code)}; write that");
                if (code == (byte)Opcode.Mark) throw new NpuAssemblyException(line, head.Column, "opcode 0x05 is mark.begin/mark.end; write that");
                ins = Instruction.Create((Opcode)code);
                break;
            }
        }

        var args = new Args(tokens, next, line, mn, head.Column);
        switch (ins.Op)
        {
            case Opcode.Wait:
                if (args.TryTake("queue", out var q, out int qc))
                {
                    int index = Array.IndexOf(NpuAsm.Queues, q);
                    ins.Flags = (byte)(index >= 0 ? index + 1 : ParseNumber(q, qc, line, InstructionFlags.WaitQueueMask, "a queue (dma0-dma3, mxu, vpu)"));
                }

                break;
            case Opcode.DmaLoad:
            case Opcode.DmaStore:
            {
                var (ch, chc) = args.Take("ch");
                ins.Channel = (byte)ParseNumber(ch, chc, line, 255, "a channel");
                var (region, rc) = args.Take("region");
                ins.Region = (Region)Lookup(NpuAsm.Regions, new Token(region, rc, false), line, 255, "a region");
                var (dram, dc) = args.Take("dram");
                (ins.DramOffset, ins.DramStride) = ParsePair(dram, dc, line, uint.MaxValue, uint.MaxValue);
                var (local, lc) = args.Take("local");
                (ins.Local, ins.LocalStride) = ParsePair(local, lc, line, uint.MaxValue, uint.MaxValue);
                var (rows, rowsc) = args.Take("rows");
                ins.Rows = (int)ParseNumber(rows, rowsc, line, 0xFFFF, "a row count");
                var (bytes, bc) = args.Take("bytes");
                ins.RowBytes = (int)ParseNumber(bytes, bc, line, 0xFFFF, "a row size");
                if (args.TryTake("pad", out var pad, out int pc))
                {
                    int comma = pad.IndexOf(',');
                    if (comma < 0) throw new NpuAssemblyException(line, pc, $"pad is before,after (e.g. pad=1,1), not '{pad}'");
                    ins.PadBefore = (byte)ParseNumber(pad.Substring(0, comma), pc, line, 255, "a pad row count");
                    ins.PadAfter = (byte)ParseNumber(pad.Substring(comma + 1), pc + comma + 1, line, 255, "a pad row count");
                }

                break;
            }

            case Opcode.MxuLoadWeights:
            {
                var (w, wc) = args.Take("w");
                (ins.Local, ins.LocalStride) = ParsePair(w, wc, line, uint.MaxValue, uint.MaxValue);
                var (k, kc) = args.Take("k");
                ins.Rows = (int)ParseNumber(k, kc, line, 255, "K");
                var (n, nc) = args.Take("n");
                ins.Cols = (int)ParseNumber(n, nc, line, 255, "N");
                if (args.Word("transpose")) ins.Flags |= InstructionFlags.MxuTranspose;
                break;
            }

            case Opcode.MxuMatmul:
            {
                var (a, ac) = args.Take("a");
                (ins.Local, ins.LocalStride) = ParsePair(a, ac, line, uint.MaxValue, uint.MaxValue);
                var (m, mc) = args.Take("m");
                ins.Rows = (int)ParseNumber(m, mc, line, 0xFFFF, "m");
                var (k, kc) = args.Take("k");
                ins.K = (int)ParseNumber(k, kc, line, 255, "K");
                var (acc, accc) = args.Take("acc");
                var (row, stride) = ParsePair(acc, accc, line, 0xFFFF, 0xFFFF);
                ins.AccRow = (int)row;
                ins.AccStride = (int)stride;
                if (args.Word("swap")) ins.Flags |= InstructionFlags.MxuSwapWeights;
                if (args.Word("accumulate")) ins.Flags |= InstructionFlags.MxuAccumulate;
                break;
            }

            case >= Opcode.VBinary and <= Opcode.VFill:
                ParseVector(ref ins, args, line);
                break;
        }

        if (args.TryTake("flags", out var flags, out int fc)) ins.Flags |= (byte)ParseNumber(flags, fc, line, 255, "flags");
        if (!waitPositional && args.TryTake("wait", out var wait, out int wc2)) ParseWait(wait, wc2, line, ref ins);
        if (!signalPositional && args.TryTake("signal", out var signal, out int sc)) ins.SignalSemaphore = ParseSemaphore(signal, sc, line);
        args.Finish();
        return ins;
    }

    private static void ParseVector(ref Instruction ins, Args args, int line)
    {
        var op = ins.Op;
        if (args.Word("int")) ins.Flags |= InstructionFlags.VInt;
        if (args.Word("s1bcast")) ins.Flags |= InstructionFlags.VBroadcastS1;
        if (args.Word("s2bcast")) ins.Flags |= InstructionFlags.VBroadcastS2;
        if (args.Word("nos2")) ins.Flags |= InstructionFlags.VNoS2;
        if (args.Word("splat")) ins.Flags |= InstructionFlags.VBroadcastResult;
        if (op is Opcode.VMove or Opcode.VFill && args.TryTake("sub", out var sub, out int subc))
            ins.SubOp = (byte)ParseNumber(sub, subc, line, 255, "a sub-op");
        var (rows, rc) = args.Take("rows");
        ins.Rows = (int)ParseNumber(rows, rc, line, 0xFFFF, "a row count");
        var (vecs, vc) = args.Take("vecs");
        ins.Vectors = (int)ParseNumber(vecs, vc, line, 255, "a vector count");
        (ins.Dst, ins.DstStride) = Operand(args, "dst", true, line);
        (ins.Src1, ins.Src1Stride) = Operand(args, "s1", op != Opcode.VFill, line);
        if (op == Opcode.VConvert)
        {
            if (args.TryTake("zp", out var zp, out int zc))
            {
                long z = ParseSigned(zp, zc, line, -(1L << 23), (1L << 23) - 1, "a zero point (signed 24-bit)");
                ins.Src2 = (uint)z & 0xFFFFFF;
            }

            if (args.TryTake("s2stride", out var s2s, out int s2c)) ins.Src2Stride = (int)ParseNumber(s2s, s2c, line, 0xFFFF, "a stride");
        }
        else
        {
            bool needsS2 = op == Opcode.VBinary || (op == Opcode.VActivation && (ins.Flags & InstructionFlags.VNoS2) == 0);
            (ins.Src2, ins.Src2Stride) = Operand(args, "s2", needsS2, line);
        }

        bool immRequired = op is Opcode.VImmediate or Opcode.VActivation or Opcode.VReduce or Opcode.VConvert or Opcode.VFill;
        string imm;
        int ic;
        if (immRequired) (imm, ic) = args.Take("imm");
        else if (!args.TryTake("imm", out imm, out ic)) imm = "";
        if (imm.Length > 0) ins.Imm = ParseImmediate(imm, ic, line, (ins.Flags & InstructionFlags.VInt) != 0);
        if (op != Opcode.VConvert && args.TryTake("aux", out var aux, out int auxc)) ins.Aux = (byte)ParseNumber(aux, auxc, line, 255, "aux");
    }

    private static (uint Address, int Stride) Operand(Args args, string key, bool required, int line)
    {
        string value;
        int column;
        if (required) (value, column) = args.Take(key);
        else if (!args.TryTake(key, out value, out column)) return (0, 0);
        var (address, stride) = ParsePair(value, column, line, 0xFFFFFF, 0xFFFF);
        return (address, (int)stride);
    }

    // ------------------------------------------------------------------ directives

    private static void Directive(List<Token> tokens, int line, NpuBinaryWriter writer, ref bool constSet)
    {
        var head = tokens[0];
        NpuAssemblyException Error(int column, string problem) => new(line, column, problem);
        Token Arg(int index, string what) => index < tokens.Count ? tokens[index] : throw Error(head.Column + head.Text.Length, $"{head.Text} needs {what}");
        void End(int count)
        {
            if (tokens.Count > count) throw Error(tokens[count].Column, $"unexpected '{tokens[count].Text}' after {head.Text}");
        }

        switch (head.Text)
        {
            case ".region":
            {
                var which = Arg(1, "a region (input, output or workspace)");
                var size = Arg(2, "a size in bytes");
                End(3);
                uint bytes = (uint)ParseNumber(size.Text, size.Column, line, uint.MaxValue, "a size");
                switch (which.Text)
                {
                    case "input": writer.InputBytes = bytes; break;
                    case "output": writer.OutputBytes = bytes; break;
                    case "workspace": writer.WorkspaceBytes = bytes; break;
                    case "const":
                        if (constSet) throw Error(which.Column, "CONST is already given (.const or .region const)");
                        constSet = true;
                        writer.LoadTimeConstBytes = bytes; // bound at load time: NpuLoader.Load(binary, constants)
                        break;
                    default: throw Error(which.Column, $"unknown region '{which.Text}'; .region takes const (bound at load time), input, output or workspace");
                }

                break;
            }

            case ".const":
            {
                var size = Arg(1, "a size in bytes");
                End(2);
                if (constSet) throw Error(head.Column, "CONST is already given (.const or .region const)");
                constSet = true;
                writer.Constants = new byte[ParseNumber(size.Text, size.Column, line, int.MaxValue, "a size")];
                break;
            }

            case ".sem":
            {
                var sem = Arg(1, "a semaphore (s0-s31)");
                var value = Arg(2, "an initial value");
                End(3);
                byte s = ParseSemaphore(sem.Text, sem.Column, line);
                if (s >= NpuTarget.Semaphores) throw Error(sem.Column, $"semaphore {sem.Text}; the machine has s0-s{NpuTarget.Semaphores - 1}");
                writer.SemaphoreInit[s] = (uint)ParseNumber(value.Text, value.Column, line, uint.MaxValue, "an initial value");
                break;
            }

            case ".symbol":
            {
                var name = Arg(1, "a name in quotes");
                if (!name.Quoted) throw Error(name.Column, "a symbol name is a string in quotes");
                if (name.Text.IndexOf('\0') >= 0) throw Error(name.Column, "a symbol name cannot contain NUL");
                var args = new Args(tokens, 2, line, ".symbol", head.Column);
                var (region, rc) = args.Take("region");
                var regionValue = (Region)Lookup(NpuAsm.Regions, new Token(region, rc, false), line, 255, "a region");
                var (offset, oc) = args.Take("offset");
                uint offsetValue = (uint)ParseNumber(offset, oc, line, uint.MaxValue, "an offset");
                var (dtype, dc) = args.Take("dtype");
                var dtypeValue = (NpuDType)Lookup(NpuAsm.DTypes, new Token(dtype, dc, false), line, 255, "a dtype");
                var (shape, sc) = args.Take("shape");
                if (!shape.StartsWith("[", StringComparison.Ordinal) || !shape.EndsWith("]", StringComparison.Ordinal))
                    throw Error(sc, $"a shape is [d0,d1,...], not '{shape}'");
                var dims = new List<int>();
                string inner = shape.Substring(1, shape.Length - 2);
                int at = sc + 1;
                if (inner.Length > 0)
                {
                    foreach (var part in inner.Split(','))
                    {
                        dims.Add((int)ParseNumber(part, at, line, int.MaxValue, "a dimension"));
                        at += part.Length + 1;
                    }
                }

                if (dims.Count > NpuContainer.MaxSymbolRank) throw Error(sc, $"rank {dims.Count}; a symbol has at most {NpuContainer.MaxSymbolRank} dimensions");
                float scale = 0;
                int zeroPoint = 0;
                if (args.TryTake("scale", out var scaleText, out int scc)) scale = new Instruction { Imm = ParseImmediate(scaleText, scc, line, false) }.ImmFloat;
                if (args.TryTake("zp", out var zp, out int zc)) zeroPoint = (int)ParseSigned(zp, zc, line, int.MinValue, int.MaxValue, "a zero point");
                byte layout = 0;
                if (args.TryTake("layout", out var layoutText, out int lc))
                    layout = (byte)Lookup(new[] { "row-major", "channels-last" }, new Token(layoutText, lc, false), line, 255, "a layout");
                args.Finish();
                var symbol = new NpuSymbolDefinition(name.Text, regionValue, dtypeValue, offsetValue, dims.ToArray(), scale, zeroPoint) { Layout = layout };
                try
                {
                    if (symbol.ByteSize > uint.MaxValue) throw Error(sc, $"the symbol is {symbol.ByteSize} bytes; at most {uint.MaxValue}");
                }
                catch (OverflowException)
                {
                    throw Error(sc, "the symbol's size overflows");
                }

                writer.Symbols.Add(symbol);
                break;
            }

            case ".debug":
            {
                var text = Arg(1, "a string in quotes");
                if (!text.Quoted) throw Error(text.Column, ".debug takes a string in quotes");
                End(2);
                writer.Debug = writer.Debug is null ? text.Text : writer.Debug + "\n" + text.Text;
                break;
            }

            default:
                throw Error(head.Column, $"unknown directive '{head.Text}' (known: .region, .const, .sem, .symbol, .debug)");
        }
    }

    // ------------------------------------------------------------------ values

    private static int Lookup(string[] names, Token t, int line, int max, string what)
    {
        int index = Array.IndexOf(names, t.Text);
        if (index >= 0) return index;
        if (t.Text.Length > 0 && char.IsDigit(t.Text[0])) return (int)ParseNumber(t.Text, t.Column, line, max, what);
        throw new NpuAssemblyException(line, t.Column, $"'{t.Text}' is not {what} (known: {string.Join(", ", names)})");
    }

    private static long ParseNumber(string text, int column, int line, long max, string what)
    {
        bool ok;
        ulong value = 0;
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            ok = text.Length > 2 && ulong.TryParse(text.Substring(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        else
            ok = text.Length > 0 && char.IsDigit(text[0]) && ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok) throw new NpuAssemblyException(line, column, $"'{text}' is not {what} (a decimal or 0x hex number)");
        if (value > (ulong)max) throw new NpuAssemblyException(line, column, $"{what} {text} does not fit its field (at most {max})");
        return (long)value;
    }

    private static long ParseSigned(string text, int column, int line, long min, long max, string what)
    {
        bool negative = text.StartsWith("-", StringComparison.Ordinal);
        long magnitude = ParseNumber(negative ? text.Substring(1) : text, negative ? column + 1 : column, line, negative ? -min : max, what);
        return negative ? -magnitude : magnitude;
    }

    /// <summary>Parses address+stride (e.g. 0x1000+64).</summary>
    private static (uint, uint) ParsePair(string text, int column, int line, uint maxFirst, uint maxSecond)
    {
        int plus = text.IndexOf('+');
        if (plus < 0) throw new NpuAssemblyException(line, column, $"expected address+stride (e.g. 0x1000+64), not '{text}'");
        uint first = (uint)ParseNumber(text.Substring(0, plus), column, line, maxFirst, "an address");
        uint second = (uint)ParseNumber(text.Substring(plus + 1), column + plus + 1, line, maxSecond, "a stride");
        return (first, second);
    }

    /// <summary>int32 (decimal, or 0x bits) with the int flag; else fp32 (decimal, or 0x and its 8 hex digits of bits).</summary>
    private static uint ParseImmediate(string text, int column, int line, bool isInt)
    {
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) return (uint)ParseNumber(text, column, line, uint.MaxValue, "an immediate");
        if (isInt) return unchecked((uint)(int)ParseSigned(text, column, line, int.MinValue, int.MaxValue, "an int32 immediate"));
        if (text.Length == 0 || !(char.IsDigit(text[0]) || text[0] is '-' or '+' or '.')
            || !float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float f))
            throw new NpuAssemblyException(line, column, $"'{text}' is not an fp32 immediate (e.g. 1.0, -2.5E-3, or 0x3f800000 for raw bits)");
        return Instruction.BitsOf(f);
    }

    private static byte ParseSemaphore(string text, int column, int line)
    {
        if (!text.StartsWith("s", StringComparison.Ordinal)) throw new NpuAssemblyException(line, column, $"a semaphore is s0-s31, not '{text}'");
        return (byte)ParseNumber(text.Substring(1), column + 1, line, 255, "a semaphore number");
    }

    private static void ParseWait(string text, int column, int line, ref Instruction ins)
    {
        int ge = text.IndexOf(">=", StringComparison.Ordinal);
        if (ge < 0) throw new NpuAssemblyException(line, column, $"a wait is sN>=value (e.g. s3>=2), not '{text}'");
        ins.WaitSemaphore = ParseSemaphore(text.Substring(0, ge), column, line);
        ins.WaitValue = (uint)ParseNumber(text.Substring(ge + 2), column + ge + 2, line, uint.MaxValue, "a wait value");
    }

    private static string Quote(string text)
    {
        // The disassembler's quoting, reached through a MARK (the only quoted form it prints).
        string line = NpuDisassembler.Format(Instruction.Mark(0, false), _ => text);
        return line.Substring("mark.begin ".Length);
    }
}
