using System;
using System.Collections.Generic;
using System.Linq;
using Aot.Generator.IR;
using Aot.Generator.Npu;

namespace Aot.Generator.Backends.Npu;

/// <summary>An operand of an elementwise kernel: a [rows, cols] activation, an fp32 row vector of cols in CONST
/// (broadcast over rows), or a scalar.</summary>
internal abstract record ElementwiseOperand
{
    public sealed record Activation(DramMatrix Matrix) : ElementwiseOperand;

    public sealed record RowVector(long ConstOffset) : ElementwiseOperand;

    public sealed record Scalar(float Value) : ElementwiseOperand;
}

/// <summary>One op of the body: registers 0..operands-1 are the operands, op j defines register operands + j.</summary>
internal sealed record ElementwiseOp(OpKind Op, int[] Inputs, float Constant = 0f);

/// <summary>Out[rows, cols] = body(operands), computed on the VPU tile by tile.</summary>
internal sealed record ElementwiseSpec(string Name, int Rows, int Cols, IReadOnlyList<ElementwiseOperand> Operands, IReadOnlyList<ElementwiseOp> Body, DramMatrix Out);

/// <summary>
/// Elementwise graphs (a <see cref="OpKind.Fused"/> body or a single op) on the VPU: per tile of rows, the activation
/// operands are loaded as fp16 and widened to fp32, each body op is one or two VPU passes over the tile (scalars
/// become immediates, row vectors are read with row stride 0), and the result is narrowed and stored. Input loads
/// of tile t+1 and the store of tile t-1 overlap the arithmetic of tile t.
/// </summary>
internal static class NpuElementwise
{
    private const int Lanes = NpuTarget.VpuLanes;
    private const int VecBytes = NpuTarget.VpuVectorBytes;

    /// <summary>Whether the VPU computes this op (everything else makes the model unsupported on the NPU).</summary>
    public static bool Supports(OpKind op) => op is OpKind.Add or OpKind.Sub or OpKind.Mul or OpKind.Div or OpKind.Max or OpKind.Min
        or OpKind.Relu or OpKind.Sigmoid or OpKind.Tanh or OpKind.Exp or OpKind.Gelu or OpKind.Rsqrt or OpKind.Sqrt or OpKind.Neg or OpKind.Abs
        or OpKind.Not or OpKind.Constant;

    private static int Vectors(int cols) => (cols + Lanes - 1) / Lanes;

    private static int ActivationCount(ElementwiseSpec s) => s.Operands.Count(o => o is ElementwiseOperand.Activation);

    /// <summary>
    /// Buffers, in order: per activation operand its two fp16 input buffers, per register (operands, then body ops)
    /// one fp32 tile (scalars none, row vectors one row), a temporary, and two staging buffers. DMA fills the inputs of
    /// one parity and drains one staging buffer while the VPU uses the rest, so those get banks of their own.
    /// </summary>
    private static List<ScratchBuffer> Buffers(ElementwiseSpec s, int rows)
    {
        int v = Vectors(s.Cols);
        int raw = RoundUp(rows * v * Lanes * 2, VecBytes);
        int tile = rows * v * VecBytes;
        var list = new List<ScratchBuffer>();
        foreach (var o in s.Operands)
        {
            if (o is ElementwiseOperand.Activation) list.AddRange(new ScratchBuffer[] { new(raw, 0), new(raw, 1) });
        }

        foreach (var o in s.Operands) list.Add(new(o switch { ElementwiseOperand.Scalar => 0, ElementwiseOperand.RowVector => v * VecBytes, _ => tile }, 2));
        foreach (var op in s.Body) list.Add(new(op.Op == OpKind.Constant ? 0 : tile, 2));
        int stage = rows * v * Lanes * NpuMatmul.ElementBytes(s.Out.DType);
        list.AddRange(new ScratchBuffer[] { new(tile, 2), new(stage, 3), new(stage, 4) });
        return list;
    }

    public static int PlanRows(ElementwiseSpec s)
    {
        if (Vectors(s.Cols) > byte.MaxValue) throw new NpuUnsupportedException($"{s.Name}: rows of {s.Cols} elements exceed the VPU's 255 vectors per row");
        for (int rows = Math.Min(s.Rows, 512); rows >= 1; rows = rows > 8 ? rows - 8 : rows - 1)
        {
            if (rows * Vectors(s.Cols) <= 4096 && ScratchpadAllocator.Place(Buffers(s, rows)) is { BankAligned: true }) return rows;
        }

        if (ScratchpadAllocator.Place(Buffers(s, 1)) is not null) return 1;
        throw new NpuUnsupportedException($"{s.Name}: a row of {s.Cols} elements does not fit the scratchpad");
    }

    public static void Emit(NpuProgramBuilder b, ElementwiseSpec s, int tileRows)
    {
        int v = Vectors(s.Cols);
        int tiles = (s.Rows + tileRows - 1) / tileRows;
        int rowF32 = v * VecBytes, rowF16 = v * Lanes * 2;
        int outBytes = NpuMatmul.ElementBytes(s.Out.DType);
        var at = ScratchpadAllocator.Place(Buffers(s, tileRows))!.Value.Addresses;
        var activations = s.Operands.Select((o, i) => (o, i)).Where(p => p.o is ElementwiseOperand.Activation).Select(p => p.i).ToArray();
        var raw = activations.Select((r, n) => (r, n)).ToDictionary(p => p.r, p => new[] { at[2 * p.n], at[2 * p.n + 1] });
        int next = 2 * activations.Length;
        var register = new uint[s.Operands.Count + s.Body.Count];
        var rowStride = new int[register.Length];
        var scalar = new float?[register.Length];
        for (int r = 0; r < register.Length; r++)
        {
            register[r] = at[next++];
            rowStride[r] = rowF32;
            if (r < s.Operands.Count && s.Operands[r] is ElementwiseOperand.Scalar c) scalar[r] = c.Value;
            if (r < s.Operands.Count && s.Operands[r] is ElementwiseOperand.RowVector) rowStride[r] = 0;
            if (r >= s.Operands.Count && s.Body[r - s.Operands.Count].Op == OpKind.Constant) scalar[r] = s.Body[r - s.Operands.Count].Constant;
        }

        uint temp = at[next];
        uint[] stage = { at[next + 1], at[next + 2] };

        int loaded = b.Semaphore(), used = b.Semaphore(), done = b.Semaphore(), stored = b.Semaphore(), vectorsReady = b.Semaphore();
        uint used0 = b.Signals(used), stored0 = b.Signals(stored);
        b.Mark(s.Name, end: false);
        uint vectorsCount = 0;
        for (int r = 0; r < s.Operands.Count; r++)
        {
            if (s.Operands[r] is ElementwiseOperand.RowVector rv) vectorsCount = b.Signal(NpuMatmul.Contiguous(true, 2, Region.Const, rv.ConstOffset, register[r], rowF32), vectorsReady);
        }

        if (vectorsCount > 0) b.Emit(Instruction.QueuedWait(Unit.Vpu, vectorsReady, vectorsCount));
        var tileLoaded = new uint[tiles];

        void Load(int t)
        {
            int rows = Math.Min(tileRows, s.Rows - t * tileRows);
            bool first = true;
            foreach (int r in activations)
            {
                var m = ((ElementwiseOperand.Activation)s.Operands[r]).Matrix;
                var dma = Instruction.Dma(true, 0, m.Region, (uint)(m.Offset + (long)t * tileRows * m.RowStride), (uint)m.RowStride, raw[r][t % 2], (uint)rowF16, rows, s.Cols * 2);
                if (first && t >= 2) dma = dma.WithWait(used, used0 + (uint)(t - 1));
                first = false;
                tileLoaded[t] = b.Signal(dma, loaded);
            }
        }

        Load(0);
        for (int t = 0; t < tiles; t++)
        {
            if (t + 1 < tiles) Load(t + 1);
            int rows = Math.Min(tileRows, s.Rows - t * tileRows);
            var body = new List<Instruction>();
            foreach (int r in activations)
            {
                body.Add(Instruction.Vector(Opcode.VConvert, (byte)NpuDType.Float32, rows, v, register[r], rowF32, raw[r][t % 2], rowF16,
                    imm: Instruction.BitsOf(1f), aux: (byte)NpuDType.Float16));
            }

            int widened = body.Count;
            for (int j = 0; j < s.Body.Count; j++)
            {
                if (s.Body[j].Op != OpKind.Constant) Lower(s.Body[j], s.Operands.Count + j, rows, v, register, rowStride, scalar, temp, body);
            }

            int result = register.Length - 1;
            if (scalar[result] is not null) throw new NpuUnsupportedException($"{s.Name}: a constant result");
            body.Add(s.Out.DType == NpuDType.Float32
                ? Instruction.Vector(Opcode.VMove, 0, rows, v, stage[t % 2], rowF32, register[result], rowF32)
                : Instruction.Vector(Opcode.VConvert, (byte)s.Out.DType, rows, v, stage[t % 2], v * Lanes * outBytes, register[result], rowF32,
                    imm: Instruction.BitsOf(1f), aux: (byte)NpuDType.Float32));

            if (t >= 2) b.Emit(Instruction.QueuedWait(Unit.Vpu, stored, stored0 + (uint)(t - 1)));
            for (int i = 0; i < body.Count; i++)
            {
                var instr = i == 0 && tileLoaded[t] > 0 ? body[i].WithWait(loaded, tileLoaded[t]) : body[i];
                if (i == widened - 1) b.Signal(instr, used);
                else if (i == body.Count - 1) b.Signal(instr, done);
                else b.Emit(instr);
            }

            var st = Instruction.Dma(false, 1, s.Out.Region, (uint)(s.Out.Offset + (long)t * tileRows * s.Out.RowStride), (uint)s.Out.RowStride,
                stage[t % 2], (uint)(v * Lanes * outBytes), rows, s.Cols * outBytes);
            b.Signal(st.WithWait(done, b.Signals(done)), stored);
        }

        b.Emit(Instruction.Create(Opcode.Wait).WithWait(stored, b.Signals(stored)));
        b.Mark(s.Name, end: true);
    }

    /// <summary>The VPU passes of one body op writing register <paramref name="d"/>.</summary>
    private static void Lower(ElementwiseOp op, int d, int rows, int v, uint[] reg, int[] stride, float?[] scalar, uint temp, List<Instruction> body)
    {
        int rowF32 = v * VecBytes;
        Instruction Bin(VBinaryOp o, uint dst, uint a, int aStride, uint c, int cStride) => Instruction.Vector(Opcode.VBinary, (byte)o, rows, v, dst, rowF32, a, aStride, c, cStride);
        Instruction Imm(VBinaryOp o, uint dst, uint a, int aStride, float value) => Instruction.Vector(Opcode.VImmediate, (byte)o, rows, v, dst, rowF32, a, aStride, imm: Instruction.BitsOf(value));
        Instruction Act(VActivation f, uint dst, uint a, int aStride) => Instruction.Vector(Opcode.VActivation, (byte)f, rows, v, dst, rowF32, a, aStride,
            flags: InstructionFlags.VNoS2, imm: Instruction.BitsOf(1f));

        int x = op.Inputs[0];
        switch (op.Op)
        {
            case OpKind.Relu: body.Add(Act(VActivation.Relu, reg[d], reg[x], stride[x])); return;
            case OpKind.Sigmoid: body.Add(Act(VActivation.Sigmoid, reg[d], reg[x], stride[x])); return;
            case OpKind.Tanh: body.Add(Act(VActivation.Tanh, reg[d], reg[x], stride[x])); return;
            case OpKind.Exp: body.Add(Act(VActivation.Exp, reg[d], reg[x], stride[x])); return;
            case OpKind.Gelu: body.Add(Act(VActivation.Gelu, reg[d], reg[x], stride[x])); return;
            case OpKind.Rsqrt: body.Add(Act(VActivation.Rsqrt, reg[d], reg[x], stride[x])); return;
            case OpKind.Sqrt:
                body.Add(Act(VActivation.Rsqrt, temp, reg[x], stride[x]));
                body.Add(Act(VActivation.Reciprocal, reg[d], temp, rowF32));
                return;
            case OpKind.Neg: body.Add(Imm(VBinaryOp.Mul, reg[d], reg[x], stride[x], -1f)); return;
            case OpKind.Not:
                // 1 - x = (-1) * x + 1
                body.Add(Imm(VBinaryOp.Mul, temp, reg[x], stride[x], -1f));
                body.Add(Imm(VBinaryOp.Add, reg[d], temp, rowF32, 1f));
                return;
            case OpKind.Abs:
                body.Add(Imm(VBinaryOp.Mul, temp, reg[x], stride[x], -1f));
                body.Add(Bin(VBinaryOp.Max, reg[d], reg[x], stride[x], temp, rowF32));
                return;
        }

        int y = op.Inputs[1];
        if (scalar[x] is { } cx && scalar[y] is { } cy) throw new NpuUnsupportedException($"{op.Op} of two constants ({cx}, {cy}) should have been folded");
        VBinaryOp binary = op.Op switch
        {
            OpKind.Add => VBinaryOp.Add,
            OpKind.Sub => VBinaryOp.Sub,
            OpKind.Mul => VBinaryOp.Mul,
            OpKind.Max => VBinaryOp.Max,
            OpKind.Min => VBinaryOp.Min,
            OpKind.Div => VBinaryOp.Mul,
            _ => throw new NpuUnsupportedException($"the NPU's VPU has no {op.Op}"),
        };

        if (op.Op == OpKind.Div)
        {
            if (scalar[y] is { } divisor)
            {
                body.Add(Imm(VBinaryOp.Mul, reg[d], reg[x], stride[x], 1f / divisor));
                return;
            }

            body.Add(Act(VActivation.Reciprocal, temp, reg[y], stride[y]));
            body.Add(scalar[x] is { } dividend ? Imm(VBinaryOp.Mul, reg[d], temp, rowF32, dividend) : Bin(VBinaryOp.Mul, reg[d], reg[x], stride[x], temp, rowF32));
            return;
        }

        if (scalar[y] is { } right)
        {
            body.Add(Imm(binary, reg[d], reg[x], stride[x], right));
        }
        else if (scalar[x] is { } left)
        {
            if (binary == VBinaryOp.Sub)
            {
                // c - y = (-1) * y + c
                body.Add(Imm(VBinaryOp.Mul, temp, reg[y], stride[y], -1f));
                body.Add(Imm(VBinaryOp.Add, reg[d], temp, rowF32, left));
            }
            else
            {
                body.Add(Imm(binary, reg[d], reg[y], stride[y], left));
            }
        }
        else
        {
            body.Add(Bin(binary, reg[d], reg[x], stride[x], reg[y], stride[y]));
        }
    }

    private static int RoundUp(int x, int to) => (x + to - 1) / to * to;
}
