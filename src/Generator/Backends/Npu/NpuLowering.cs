using System;
using System.Collections.Generic;
using System.Linq;
using Aot.Generator.IR;
using Aot.Generator.Npu;

namespace Aot.Generator.Backends.Npu;

/// <summary>How a weight is laid out in the CONST region (the generated loader packs it this way at load time).</summary>
internal enum NpuConstLayout
{
    /// <summary>B [K, N] (or [N, K] transposed) as fp16 32-column panels: [ceil(N/32)][ceil(K/32)*32][32], zero padded.</summary>
    GemmPanelsFp16,

    /// <summary>A vector of N floats as fp32, zero padded to a multiple of 32, times a scale.</summary>
    Float32Vector,

    /// <summary>Conv weights [K, C, R, S] as the fp16 panels of B[(r, s, c), k] (the implicit GEMM's B).</summary>
    ConvPanelsFp16,

    /// <summary>As <see cref="GemmPanelsFp16"/> in int8, each column quantized symmetrically with its own scale.</summary>
    GemmPanelsInt8,

    /// <summary>As <see cref="ConvPanelsFp16"/> in int8, each output channel quantized symmetrically with its own scale.</summary>
    ConvPanelsInt8,

    /// <summary>fp32 [N] padded: activation scale x the column scales of the int8 panels at <see cref="NpuConstEntry.Panels"/>.</summary>
    Dequantize,

    /// <summary>fp32 [N] padded, every element 1 / the scale of the int8 activation the kernel writes.</summary>
    Requantize,
}

/// <summary>Whether the NPU program computes matmuls on fp16 or (where both operands allow it) int8 operands.</summary>
internal enum NpuPrecision
{
    Float16,
    Int8,
}

/// <summary>One weight's place in CONST: which weight, how it is packed, where, and the shape the packer needs
/// (GEMM: K x N; conv: N = output channels, K = C * R * S with <see cref="Kernel"/> = [C, R, S]).
/// For the quantization layouts, <see cref="Activation"/> names the calibrated activation whose scale they use and
/// <see cref="Panels"/> the int8 weight entry whose column scales they combine with.</summary>
internal sealed record NpuConstEntry(string Member, int ValueId, NpuConstLayout Layout, long Offset, int Bytes, int K, int N, bool Transposed, float Scale,
    int[]? Kernel = null, string? Activation = null, NpuConstEntry? Panels = null);

/// <summary>How a DRAM tensor's bytes are ordered.</summary>
internal enum NpuLayout : byte
{
    /// <summary>Row-major in the tensor's own shape.</summary>
    RowMajor = 0,

    /// <summary>A [1, C, H, W] tensor stored as [H, W, C] (channels innermost), which the implicit-GEMM convolution reads.</summary>
    Nhwc = 1,
}

/// <summary>A tensor in DRAM the host reads or writes: model inputs (fp16 in INPUT) and the output (fp32 in OUTPUT).</summary>
internal sealed record NpuSymbolInfo(string Name, Region Region, NpuDType DType, long Offset, int[] Shape, NpuLayout Layout);

/// <summary>A kernel of the program with the cost model's predicted cycles (reported next to the simulator's).</summary>
internal sealed record NpuKernelInfo(string Name, string Description, long PredictedCycles);

/// <summary>Everything the NPU emitter needs: the program and the host-side layout of CONST and I/O.</summary>
internal sealed record NpuLowered(
    IReadOnlyList<Instruction> Code,
    NpuStringTable Strings,
    IReadOnlyList<NpuConstEntry> Consts,
    long ConstBytes,
    long InputBytes,
    long OutputBytes,
    long WorkspaceBytes,
    IReadOnlyList<NpuSymbolInfo> Symbols,
    IReadOnlyList<NpuKernelInfo> Kernels,
    IReadOnlyList<string> Calibrated);

/// <summary>A node the NPU backend cannot compile; the generator reports it as a diagnostic and emits no NPU code.</summary>
internal sealed class NpuUnsupportedException : Exception
{
    public NpuUnsupportedException(string message) : base(message)
    {
    }
}

/// <summary>
/// A tensor in DRAM as a strided view: element [i0, i1, ...] lives at Offset + sum(i_k * Strides[k]) bytes. Reshape
/// and Transpose only make new views; kernels read a view as a matrix when its last axis is contiguous and its
/// leading axes collapse into one row stride.
/// </summary>
internal sealed record DramTensor(Region Region, long Offset, NpuDType DType, int[] Shape, long[] Strides, NpuLayout Layout)
{
    public int ElementBytes => NpuMatmul.ElementBytes(DType);

    public static DramTensor Contiguous(Region region, long offset, NpuDType dtype, int[] shape)
    {
        var strides = new long[shape.Length];
        long stride = NpuMatmul.ElementBytes(dtype);
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            strides[d] = stride;
            stride *= shape[d];
        }

        return new DramTensor(region, offset, dtype, shape, strides, NpuLayout.RowMajor);
    }

    public bool IsContiguous => Layout == NpuLayout.RowMajor && Strides.SequenceEqual(Contiguous(Region, Offset, DType, Shape).Strides);

    /// <summary>The view as [rows, last axis], or null when its rows are not evenly strided or its last axis is not contiguous.</summary>
    public DramMatrix? AsMatrix()
    {
        if (Layout != NpuLayout.RowMajor) return null;
        int rank = Shape.Length;
        if (rank == 0) return new DramMatrix(Region, Offset, ElementBytes, DType);
        if (Shape[rank - 1] > 1 && Strides[rank - 1] != ElementBytes) return null;
        long rowStride = rank >= 2 ? Strides[rank - 2] : Shape[rank - 1] * ElementBytes;
        for (int d = rank - 3; d >= 0; d--)
        {
            if (Shape[d] > 1 && Strides[d] != Strides[d + 1] * Shape[d + 1]) return null;
        }

        return new DramMatrix(Region, Offset, (int)rowStride, DType);
    }

    /// <summary>The view with axis <paramref name="axis"/> fixed at <paramref name="index"/>.</summary>
    public DramTensor Select(int axis, int index) => this with
    {
        Offset = Offset + index * Strides[axis],
        Shape = Shape.Where((_, d) => d != axis).ToArray(),
        Strides = Strides.Where((_, d) => d != axis).ToArray(),
    };
}

/// <summary>
/// Lowers an optimized graph to one NPU-1 program (fp16 mode): activations live in DRAM as fp16 (the model's inputs
/// in INPUT, intermediates in WORKSPACE) and the result as fp32 in OUTPUT; weights are packed into CONST in the
/// order the kernels consume them. Kernels: matmuls and convolutions with their bias and following activation fused
/// (<see cref="NpuMatmul"/>), attention with the scores in the accumulator (<see cref="NpuAttention"/>), softmax and
/// layernorm rows (<see cref="NpuRows"/>), elementwise graphs (<see cref="NpuElementwise"/>); Reshape and Transpose
/// are views. Kernels run one after another (each ends by waiting for its last store).
/// </summary>
internal sealed class NpuLowering
{
    private readonly Graph _graph;
    private readonly Dictionary<int, string> _weightMembers;
    private readonly NpuProgramBuilder _builder = new();
    private readonly List<NpuConstEntry> _consts = new();
    private readonly List<NpuSymbolInfo> _symbols = new();
    private readonly List<NpuKernelInfo> _kernels = new();
    private readonly Dictionary<int, DramTensor> _placed = new();
    private readonly Dictionary<int, NpuConstEntry> _constOf = new();
    private readonly Node?[] _producers;
    private readonly int[] _uses;
    private long _constBytes, _inputBytes, _outputBytes, _workspaceBytes;

    private readonly NpuPrecision _precision;
    private readonly List<string> _calibrated = new();

    private NpuLowering(Graph graph, IReadOnlyDictionary<int, string> weightMembers, NpuPrecision precision)
    {
        _precision = precision;
        _graph = graph;
        _weightMembers = weightMembers.ToDictionary(p => p.Key, p => p.Value);
        _producers = graph.Producers();
        _uses = graph.UseCounts();
    }

    /// <param name="weightMembers">The C# member that holds each weight value (by value id).</param>
    /// <param name="precision">Int8: activations that feed only matmuls and convolutions (and come from the model's
    /// inputs or from matmuls and convolutions) are stored as int8 with calibrated per-tensor scales, weights as int8
    /// per column; everything else stays fp16. Float16: the fp16 program also names those activations as symbols
    /// ("act:%id"), which is how calibration measures their ranges.</param>
    public static NpuLowered Lower(Graph graph, IReadOnlyDictionary<int, string> weightMembers, NpuPrecision precision = NpuPrecision.Float16)
    {
        var lowering = new NpuLowering(graph, weightMembers, precision);
        lowering.Run();
        return new NpuLowered(lowering._builder.Code.ToList(), lowering._builder.Strings, lowering._consts, lowering._constBytes,
            lowering._inputBytes, lowering._outputBytes, lowering._workspaceBytes, lowering._symbols, lowering._kernels, lowering._calibrated);
    }

    private void Run()
    {
        if (_graph.Outputs.Count != 1) throw new NpuUnsupportedException("the NPU backend compiles models with one output");
        foreach (var input in _graph.Inputs)
        {
            var t = _graph.TypeOf(input);
            RequireFloat(t, "input " + _graph.Values[input].Name);
            var layout = _graph.Nodes.Any(n => n.Op == OpKind.Conv2d && n.Inputs[0] == input) ? NpuLayout.Nhwc : NpuLayout.RowMajor;
            var dtype = Int8(input) ? NpuDType.Int8 : NpuDType.Float16;
            var placed = Place(Region.Input, ref _inputBytes, t, dtype, layout);
            _placed[input] = placed;
            _symbols.Add(new NpuSymbolInfo(_graph.Values[input].Name, Region.Input, dtype, placed.Offset, t.ShapeArray(), layout));
            if (dtype == NpuDType.Int8) _calibrated.Add(ScaleName(input));
        }

        // The scores, their scaling and the softmax of an attention are computed inside the attention kernel.
        var done = new HashSet<int>();
        foreach (var node in _graph.Nodes)
        {
            if (node.Op == OpKind.MatMul && !IsWeight(node.Inputs[1]) && _producers[node.Inputs[0]] is { Op: OpKind.Softmax } softmax)
            {
                done.Add(softmax.Output);
                var inner = _producers[softmax.Inputs[0]];
                if (inner?.Op == OpKind.Mul) done.Add(inner.Output);
                if (inner?.Op == OpKind.Mul) inner = _producers[inner.Inputs[0]];
                if (inner?.Op == OpKind.MatMul) done.Add(inner.Output);
            }
        }

        foreach (var node in _graph.Nodes)
        {
            if (done.Contains(node.Output)) continue;
            switch (node.Op)
            {
                case OpKind.Reshape:
                    Reshape(node);
                    break;
                case OpKind.Transpose:
                    Transpose(node);
                    break;
                case OpKind.Constant:
                    break;
                case OpKind.Gemm:
                case OpKind.MatMul when IsWeight(node.Inputs[1]):
                    Matmul(node, done);
                    break;
                case OpKind.MatMul:
                    Attention(node);
                    break;
                case OpKind.Conv2d:
                    Conv(node, done);
                    break;
                case OpKind.MaxPool2d:
                    MaxPool(node);
                    break;
                case OpKind.GlobalAvgPool:
                    GlobalAveragePool(node);
                    break;
                case OpKind.Softmax:
                    Rows(node, NpuRows.Kind.Softmax);
                    break;
                case OpKind.LayerNorm:
                    Rows(node, NpuRows.Kind.LayerNorm);
                    break;
                case OpKind.Fused:
                case var op when NpuElementwise.Supports(op):
                    Elementwise(node);
                    break;
                default:
                    throw new NpuUnsupportedException($"the NPU backend does not support {node.Op} yet (node %{node.Output})");
            }
        }

        _builder.Emit(Instruction.Halt());
        var output = _graph.Outputs[0];
        if (!_placed.TryGetValue(output, out var result) || result.Region != Region.Output || !(result.IsContiguous || result.Layout == NpuLayout.Nhwc))
        {
            throw new NpuUnsupportedException($"the model's output %{output} is not written by an NPU kernel (is it a view of an input?)");
        }

        _symbols.Add(new NpuSymbolInfo("output", Region.Output, NpuDType.Float32, result.Offset, _graph.TypeOf(output).ShapeArray(), result.Layout));
    }

    private static void RequireFloat(TensorType t, string what)
    {
        if (t.DType != DType.Float32) throw new NpuUnsupportedException($"{what} is {t.DType}; the NPU backend computes float tensors");
    }

    private static int RowsOf(TensorType t) => t.Rank == 0 ? 1 : (int)(t.ElementCount / t.Shape[t.Rank - 1]);

    private static int ColsOf(TensorType t) => t.Rank == 0 ? 1 : t.Shape[t.Rank - 1];

    private bool IsWeight(int value) => _graph.Values[value].Kind == ValueKind.Weight;

    private bool IsMatmulOrConv(Node? n) => n is not null && (n.Op is OpKind.Gemm or OpKind.Conv2d || (n.Op == OpKind.MatMul && IsWeight(n.Inputs[1])));

    /// <summary>
    /// An activation that can be stored as int8: a model input or a matmul/convolution result (whose epilogue can
    /// requantize it), read only as the streaming operand of matmuls and convolutions (through reshapes), and not the
    /// model's output.
    /// </summary>
    private bool Quantizable(int value)
    {
        if (_graph.Outputs.Contains(value)) return false;
        bool source = _graph.Values[value].Kind == ValueKind.Input || IsMatmulOrConv(_producers[value]) || IsFusedActivationOfMatmul(value);
        return source && OnlyMatmulOperand(value);
    }

    /// <summary>True when <paramref name="value"/> is an activation that a matmul/convolution epilogue computes.</summary>
    private bool IsFusedActivationOfMatmul(int value)
    {
        if (_producers[value] is not { Op: OpKind.Relu or OpKind.Sigmoid or OpKind.Tanh or OpKind.Gelu } activation) return false;
        int source = activation.Inputs[0];
        while (_producers[source] is { Op: OpKind.Reshape } reshape) source = reshape.Inputs[0];
        return IsMatmulOrConv(_producers[source]) && FusableActivation(source)?.Output == value;
    }

    private bool OnlyMatmulOperand(int value)
    {
        var consumers = _graph.Nodes.Where(n => n.Inputs.Contains(value)).ToList();
        return consumers.Count > 0 && consumers.All(n =>
            n.Op == OpKind.Reshape ? !_graph.Outputs.Contains(n.Output) && OnlyMatmulOperand(n.Output)
            : IsMatmulOrConv(n) && n.Inputs[0] == value && !n.Inputs.Skip(1).Contains(value));
    }

    private bool Int8(int value) => _precision == NpuPrecision.Int8 && Quantizable(value);

    /// <summary>The calibration name of an activation's scale: that of the tensor it is a reshape of.</summary>
    private string ScaleName(int value)
    {
        while (_producers[value] is { Op: OpKind.Reshape } reshape) value = reshape.Inputs[0];
        return _graph.Values[value].Kind == ValueKind.Input ? _graph.Values[value].Name : $"act:%{value}";
    }

    /// <summary>
    /// New DRAM for a tensor: row-major, or channels-last for convolution operands ([H, W, C'] with C' the channels
    /// rounded up to 32, so the convolution reads whole 64-byte channel blocks).
    /// </summary>
    private DramTensor Place(Region region, ref long bytes, TensorType t, NpuDType dtype, NpuLayout layout)
    {
        long at = Align(bytes, NpuTarget.DramBurstBytes);
        int es = NpuMatmul.ElementBytes(dtype);
        if (layout == NpuLayout.Nhwc)
        {
            if (t.Rank != 4 || t.Shape[0] != 1) throw new NpuUnsupportedException($"the NPU convolution takes one image [1, C, H, W], got {t}");
            int c = Blocks(t.Shape[1]) * NpuTarget.ArraySize, h = t.Shape[2], w = t.Shape[3];
            bytes = at + (long)h * w * c * es;
            return new DramTensor(region, at, dtype, t.ShapeArray(), new long[] { (long)h * w * c * es, es, (long)w * c * es, c * es }, NpuLayout.Nhwc);
        }

        bytes = at + t.ElementCount * es;
        return DramTensor.Contiguous(region, at, dtype, t.ShapeArray());
    }

    /// <summary>Where a kernel writes <paramref name="value"/>: the graph output (or what it is a view of) in OUTPUT as fp32, the rest in WORKSPACE as fp16.</summary>
    private DramTensor PlaceResult(int value, NpuLayout layout = NpuLayout.RowMajor)
    {
        var t = _graph.TypeOf(value);
        RequireFloat(t, $"%{value}");
        // A result read only through a Transpose is stored in the transposed order, so the transpose (and a reshape
        // after it, as in merging attention heads) is a plain view and the kernel writes through strides instead.
        var consumer = _uses[value] == 1 ? _graph.Nodes.FirstOrDefault(n => n.Inputs.Contains(value)) : null;
        int[]? perm = layout == NpuLayout.RowMajor && consumer?.Op == OpKind.Transpose ? consumer.Attrs.Ints(AttrNames.Perm) : null;
        var stored = perm is null ? t : t.WithShape(perm.Select(p => t.Shape[p]).ToArray());
        var target = perm is null ? value : consumer!.Output;
        var placed = ReachesOutput(target)
            ? Place(Region.Output, ref _outputBytes, stored, NpuDType.Float32, layout)
            : Place(Region.Workspace, ref _workspaceBytes, stored, Int8(value) ? NpuDType.Int8 : NpuDType.Float16, layout);
        if (Quantizable(value) && perm is null)
        {
            // Calibration reads the fp16 program's copy of the activation; the int8 program needs its scale.
            if (_precision == NpuPrecision.Float16) _symbols.Add(new NpuSymbolInfo(ScaleName(value), placed.Region, placed.DType, placed.Offset, stored.ShapeArray(), layout));
            else _calibrated.Add(ScaleName(value));
        }

        if (perm is not null)
        {
            var strides = new long[perm.Length];
            for (int i = 0; i < perm.Length; i++) strides[perm[i]] = placed.Strides[i];
            placed = placed with { Shape = t.ShapeArray(), Strides = strides };
        }

        _placed[value] = placed;
        return placed;
    }

    /// <summary>True when the graph output is <paramref name="value"/> or a chain of reshapes of it.</summary>
    private bool ReachesOutput(int value)
    {
        if (_graph.Outputs.Contains(value)) return true;
        return _graph.Nodes.Any(n => n.Op == OpKind.Reshape && n.Inputs[0] == value && ReachesOutput(n.Output));
    }

    private DramTensor Tensor(int value) => _placed.TryGetValue(value, out var t)
        ? t
        : throw new NpuUnsupportedException($"%{value} is used as an activation but no NPU kernel computes it (a weight used as data?)");

    private DramMatrix Matrix(int value, string user)
    {
        var t = Tensor(value);
        return t.AsMatrix() ?? throw new NpuUnsupportedException($"{user} reads %{value} through a transposed view {_graph.TypeOf(value)}; the NPU kernels read row-major matrices");
    }

    private void Reshape(Node node)
    {
        var source = Tensor(node.Inputs[0]);
        var t = _graph.TypeOf(node.Output);
        var sourceType = _graph.TypeOf(node.Inputs[0]);
        if (source.Layout == NpuLayout.Nhwc)
        {
            // One pixel: the channels are contiguous, so the tensor is also a row-major vector.
            if (sourceType.ElementCount != sourceType.Shape[1]) throw new NpuUnsupportedException($"Reshape %{node.Output} of the channels-last tensor %{node.Inputs[0]} {sourceType} is not supported on the NPU");
            _placed[node.Output] = DramTensor.Contiguous(source.Region, source.Offset, source.DType, t.ShapeArray());
            return;
        }

        if (!source.IsContiguous) throw new NpuUnsupportedException($"Reshape %{node.Output} of the transposed view %{node.Inputs[0]} needs a copy, which the NPU backend does not make yet");
        _placed[node.Output] = DramTensor.Contiguous(source.Region, source.Offset, source.DType, t.ShapeArray());
    }

    private void Transpose(Node node)
    {
        var source = Tensor(node.Inputs[0]);
        if (source.Layout != NpuLayout.RowMajor) throw new NpuUnsupportedException($"Transpose %{node.Output} of a channels-last tensor");
        var perm = node.Attrs.Ints(AttrNames.Perm);
        _placed[node.Output] = source with { Shape = perm.Select(p => source.Shape[p]).ToArray(), Strides = perm.Select(p => source.Strides[p]).ToArray() };
    }

    /// <summary>The single consumer of <paramref name="value"/> past any single-use reshapes, if it is an activation the VPU applies in a matmul epilogue.</summary>
    private (int Output, VActivation Function, List<int> Skipped)? FusableActivation(int value)
    {
        var skipped = new List<int>();
        while (true)
        {
            if (_uses[value] != 1 || _graph.Outputs.Contains(value)) return null;
            var consumer = _graph.Nodes.First(n => n.Inputs.Contains(value));
            if (consumer.Op == OpKind.Reshape)
            {
                skipped.Add(consumer.Output);
                value = consumer.Output;
                continue;
            }

            VActivation? f = consumer.Op switch
            {
                OpKind.Relu => VActivation.Relu,
                OpKind.Sigmoid => VActivation.Sigmoid,
                OpKind.Tanh => VActivation.Tanh,
                // The VPU has the tanh form only; it differs from the erf form by < 5e-4, inside the fp16 tolerance.
                OpKind.Gelu => VActivation.Gelu,
                _ => null,
            };
            return f is { } fn ? (consumer.Output, fn, skipped) : null;
        }
    }

    private NpuConstEntry ConstFor(int value, NpuConstLayout layout, int k, int n, bool transposed, float scale, int[]? kernel = null)
    {
        if (_constOf.TryGetValue(value, out var existing)) return existing;
        if (!_weightMembers.TryGetValue(value, out var member))
        {
            throw new NpuUnsupportedException($"%{value} must be a weight here (the NPU multiplies activations by weights, and activations by activations only inside attention)");
        }

        int bytes = layout == NpuConstLayout.Float32Vector
            ? Blocks(n) * NpuTarget.ArraySize * 4
            : Blocks(n) * Blocks(k) * NpuTarget.ArraySize * NpuTarget.ArraySize * (layout is NpuConstLayout.GemmPanelsInt8 or NpuConstLayout.ConvPanelsInt8 ? 1 : 2);
        var entry = AddConst(new NpuConstEntry(member, value, layout, 0, bytes, k, n, transposed, scale, kernel));
        _constOf[value] = entry;
        return entry;
    }

    private NpuConstEntry AddConst(NpuConstEntry entry)
    {
        long at = Align(_constBytes, NpuTarget.DramBurstBytes);
        _constBytes = at + entry.Bytes;
        entry = entry with { Offset = at };
        _consts.Add(entry);
        return entry;
    }

    /// <summary>The per-column scale that turns int32 sums of (activation x int8 panels) back into real values.</summary>
    private long Dequantize(NpuConstEntry panels, int activation) =>
        AddConst(new NpuConstEntry(panels.Member, panels.ValueId, NpuConstLayout.Dequantize, 0, Blocks(panels.N) * NpuTarget.ArraySize * 4, panels.K, panels.N, false, 1f,
            Activation: ScaleName(activation), Panels: panels)).Offset;

    /// <summary>1 / the scale of the int8 activation a kernel writes, as a vector of N.</summary>
    private long? Requantize(DramTensor output, int value, int n) => output.DType != NpuDType.Int8
        ? null
        : AddConst(new NpuConstEntry("", value, NpuConstLayout.Requantize, 0, Blocks(n) * NpuTarget.ArraySize * 4, 1, n, false, 1f, Activation: ScaleName(value))).Offset;

    /// <summary>The activation after the kernel (if any) is computed by the kernel: its output is placed instead, and the reshapes in between are skipped.</summary>
    private (int Result, VActivation Function) Epilogue(Node node, HashSet<int> done)
    {
        if (FusableActivation(node.Output) is not { } act) return (node.Output, VActivation.Identity);
        done.Add(act.Output);
        foreach (var skipped in act.Skipped) done.Add(skipped);
        return (act.Output, act.Function);
    }

    private void Matmul(Node node, HashSet<int> done)
    {
        var aType = _graph.TypeOf(node.Inputs[0]);
        var bType = _graph.TypeOf(node.Inputs[1]);
        bool transA = node.Op == OpKind.Gemm && node.Attrs.Has(AttrNames.TransA) && node.Attrs.Int(AttrNames.TransA) != 0;
        bool transB = node.Op == OpKind.Gemm && node.Attrs.Has(AttrNames.TransB) && node.Attrs.Int(AttrNames.TransB) != 0;
        if (transA) throw new NpuUnsupportedException($"Gemm %{node.Output} with transA is not supported on the NPU");
        if (bType.Rank != 2) throw new NpuUnsupportedException($"{node.Op} %{node.Output}: the NPU needs a 2-D weight B, got {bType}");
        int k = ColsOf(aType);
        int n = transB ? bType.Shape[0] : bType.Shape[1];
        int m = RowsOf(aType);
        float alpha = node.Op == OpKind.Gemm && node.Attrs.Has(AttrNames.Alpha) ? node.Attrs.Float(AttrNames.Alpha) : 1f;
        var a = Matrix(node.Inputs[0], $"{node.Op} %{node.Output}");
        bool int8 = a.DType == NpuDType.Int8;
        var panels = ConstFor(node.Inputs[1], int8 ? NpuConstLayout.GemmPanelsInt8 : NpuConstLayout.GemmPanelsFp16, k, n, transB, 1f);
        long? bias = null;
        if (node.Op == OpKind.Gemm && node.Inputs.Count > 2)
        {
            var cType = _graph.TypeOf(node.Inputs[2]);
            if (ColsOf(cType) != n || RowsOf(cType) != 1) throw new NpuUnsupportedException($"Gemm %{node.Output}: the NPU fuses a bias of [{n}], got C {cType}");
            float beta = node.Attrs.Has(AttrNames.Beta) ? node.Attrs.Float(AttrNames.Beta) : 1f;
            // act(alpha * A@B + beta * C): the kernel computes act(alpha * acc + bias), so the bias is packed times beta.
            bias = ConstFor(node.Inputs[2], NpuConstLayout.Float32Vector, 1, n, false, beta).Offset;
        }

        var (result, activation) = Epilogue(node, done);
        var placed = PlaceResult(result);
        var output = placed.AsMatrix()!.Value;
        var spec = new MatmulSpec($"gemm %{result}", new GemmOperand(a, m, k), n, panels.Offset, bias, activation, alpha, output,
            int8 ? Dequantize(panels, node.Inputs[0]) : null, Requantize(placed, result, n));
        EmitMatmul(spec, $"[{m}x{k}] @ [{k}x{n}]{(bias is null ? "" : " + bias")}{(activation == VActivation.Identity ? "" : ", " + activation)}");
    }

    private void EmitMatmul(MatmulSpec spec, string description)
    {
        var plan = NpuMatmul.Plan(spec);
        _builder.BeginKernel();
        NpuMatmul.Emit(_builder, spec, plan);
        long predicted = _builder.EndKernel();
        _kernels.Add(new NpuKernelInfo(spec.Name, $"{description}; tiles {plan.Tm}x{plan.Tn}{(plan.ResidentB ? ", weights resident" : "")}", predicted));
    }

    private void Conv(Node node, HashSet<int> done)
    {
        var xType = _graph.TypeOf(node.Inputs[0]);
        var wType = _graph.TypeOf(node.Inputs[1]);
        int group = node.Attrs.Has(AttrNames.Group) ? (int)node.Attrs.Int(AttrNames.Group) : 1;
        if (group != 1) throw new NpuUnsupportedException($"Conv2d %{node.Output} with {group} groups is not supported on the NPU yet");
        var x = Tensor(node.Inputs[0]);
        if (x.Layout != NpuLayout.Nhwc) throw new NpuUnsupportedException($"Conv2d %{node.Output} reads %{node.Inputs[0]}, which is not channels-last (only model inputs and convolution outputs are)");
        int c = xType.Shape[1], h = xType.Shape[2], w = xType.Shape[3];
        int kOut = wType.Shape[0], r = wType.Shape[2], s = wType.Shape[3];
        var strides = node.Attrs.Ints(AttrNames.Strides);
        var pads = node.Attrs.Ints(AttrNames.Pads);
        var dilations = node.Attrs.Ints(AttrNames.Dilations);
        var yType = _graph.TypeOf(node.Output);
        int oh = yType.Shape[2], ow = yType.Shape[3];
        int cPadded = Blocks(c) * NpuTarget.ArraySize;
        bool int8 = x.DType == NpuDType.Int8;
        var panels = ConstFor(node.Inputs[1], int8 ? NpuConstLayout.ConvPanelsInt8 : NpuConstLayout.ConvPanelsFp16, r * s * cPadded, kOut, false, 1f, new[] { c, r, s });
        long? bias = node.Inputs.Count > 2 ? ConstFor(node.Inputs[2], NpuConstLayout.Float32Vector, 1, kOut, false, 1f).Offset : null;
        var pixels = new DramMatrix(x.Region, x.Offset, cPadded * x.ElementBytes, x.DType);
        var operand = new ConvOperand(pixels, h, w, cPadded, r, s, strides[0], strides[1], pads[0], pads[1], pads[3], dilations[0], dilations[1], oh, ow);
        var (result, activation) = Epilogue(node, done);
        var y = PlaceResult(result, NpuLayout.Nhwc);
        int nPadded = Blocks(kOut) * NpuTarget.ArraySize;
        var output = new DramMatrix(y.Region, y.Offset, nPadded * y.ElementBytes, y.DType);
        var spec = new MatmulSpec($"conv %{result}", operand, nPadded, panels.Offset, bias, activation, 1f, output,
            int8 ? Dequantize(panels, node.Inputs[0]) : null, Requantize(y, result, nPadded));
        EmitMatmul(spec, $"conv {r}x{s} {c}->{kOut} at {h}x{w} (implicit GEMM {oh * ow}x{r * s * cPadded}x{kOut}){(bias is null ? "" : " + bias")}{(activation == VActivation.Identity ? "" : ", " + activation)}");
    }

    /// <summary>
    /// MatMul(Softmax(MatMul(q, k) * c), v), per attention head: q [.., Sq, d], k [.., d, Sk] (a transposed view of a
    /// [.., Sk, d] tensor), v [.., Sk, d], any number of leading (batch, head) axes, each run as one attention kernel.
    /// </summary>
    private void Attention(Node node)
    {
        string what = $"MatMul %{node.Output}";
        var probs = _producers[node.Inputs[0]];
        if (probs?.Op != OpKind.Softmax) throw new NpuUnsupportedException($"{what} multiplies two activations; the NPU does that only in attention (MatMul(Softmax(MatMul(q, k) * c), v))");
        var scaled = _producers[probs.Inputs[0]];
        float scale = 1f;
        var scores = scaled;
        if (scaled?.Op == OpKind.Mul && _producers[scaled.Inputs[1]] is { Op: OpKind.Constant } constant)
        {
            scale = constant.Attrs.Float(AttrNames.Value);
            scores = _producers[scaled.Inputs[0]];
        }

        if (scores?.Op != OpKind.MatMul || _uses[scores.Output] != 1 || _uses[probs.Output] != 1 || (scaled != scores && _uses[scaled!.Output] != 1))
        {
            throw new NpuUnsupportedException($"{what}: the NPU computes attention only as MatMul(Softmax(MatMul(q, k) * c), v) with single-use intermediates");
        }

        if (!_placed.ContainsKey(scores.Inputs[0]) || !_placed.ContainsKey(scores.Inputs[1])) throw new NpuUnsupportedException($"{what}: q and k must be activations");
        var q = Tensor(scores.Inputs[0]);
        var kT = Tensor(scores.Inputs[1]);
        var v = Tensor(node.Inputs[1]);
        var outType = _graph.TypeOf(node.Output);
        var o = PlaceResult(node.Output);
        int rank = outType.Rank;
        int queries = outType.Shape[rank - 2], d = outType.Shape[rank - 1], keys = kT.Shape[rank - 1];
        int heads = (int)(outType.ElementCount / ((long)queries * d));
        for (int head = 0; head < heads; head++)
        {
            var (qh, kh, vh, oh) = (q, kT, v, o);
            int rest = head;
            for (int axis = rank - 3; axis >= 0; axis--)
            {
                int index = rest % outType.Shape[axis];
                rest /= outType.Shape[axis];
                (qh, kh, vh, oh) = (qh.Select(axis, index), kh.Select(axis, index), vh.Select(axis, index), oh.Select(axis, index));
            }

            // k is [d, Sk]: as K [Sk, d] its rows are the Sk axis.
            var kRows = kh with { Shape = new[] { kh.Shape[1], kh.Shape[0] }, Strides = new[] { kh.Strides[1], kh.Strides[0] } };
            var spec = new AttentionSpec($"attention %{node.Output}[{head}]", queries, keys, d,
                qh.AsMatrix() ?? throw Strided("q"), kRows.AsMatrix() ?? throw Strided("k"), vh.AsMatrix() ?? throw Strided("v"), scale, oh.AsMatrix()!.Value);
            var plan = NpuAttention.Plan(spec);
            _builder.BeginKernel();
            NpuAttention.Emit(_builder, spec, plan);
            long predicted = _builder.EndKernel();
            _kernels.Add(new NpuKernelInfo(spec.Name, $"attention {queries}x{keys}, d {d}; {plan.TileQueries} queries per tile", predicted));
        }

        NpuUnsupportedException Strided(string operand) => new($"{what}: attention operand {operand} is not a row-major matrix per head");
    }

    private void Rows(Node node, NpuRows.Kind kind)
    {
        var t = _graph.TypeOf(node.Inputs[0]);
        int axis = (int)node.Attrs.Int(AttrNames.Axis);
        if (axis != t.Rank - 1) throw new NpuUnsupportedException($"{node.Op} %{node.Output} over axis {axis}: the NPU normalizes the last axis only");
        long? gamma = null, beta = null;
        float epsilon = 0f;
        if (kind == NpuRows.Kind.LayerNorm)
        {
            gamma = ConstFor(node.Inputs[1], NpuConstLayout.Float32Vector, 1, ColsOf(t), false, 1f).Offset;
            beta = ConstFor(node.Inputs[2], NpuConstLayout.Float32Vector, 1, ColsOf(t), false, 1f).Offset;
            epsilon = node.Attrs.Float(AttrNames.Epsilon);
        }

        var input = Matrix(node.Inputs[0], $"{node.Op} %{node.Output}");
        var output = PlaceResult(node.Output).AsMatrix()!.Value;
        var spec = new RowSpec($"{kind.ToString().ToLowerInvariant()} %{node.Output}", kind, RowsOf(t), ColsOf(t), input, output, gamma, beta, epsilon);
        var plan = NpuRows.Plan(spec);
        _builder.BeginKernel();
        NpuRows.Emit(_builder, spec, plan);
        long predicted = _builder.EndKernel();
        _kernels.Add(new NpuKernelInfo(spec.Name, $"{kind} over [{RowsOf(t)}x{ColsOf(t)}]; {plan.TileRows} rows per tile", predicted));
    }

    private DramTensor ChannelsLast(int value, string user)
    {
        var x = Tensor(value);
        return x.Layout == NpuLayout.Nhwc ? x : throw new NpuUnsupportedException($"{user} reads %{value}, which is not channels-last (only model inputs and convolution outputs are)");
    }

    private void MaxPool(Node node)
    {
        string what = $"MaxPool2d %{node.Output}";
        var x = ChannelsLast(node.Inputs[0], what);
        var kernel = node.Attrs.Ints(AttrNames.Kernel);
        var strides = node.Attrs.Ints(AttrNames.Strides);
        var pads = node.Attrs.Ints(AttrNames.Pads);
        if (kernel[0] != kernel[1] || strides[0] != strides[1] || pads.Any(p => p != 0)) throw new NpuUnsupportedException($"{what}: the NPU pools square windows with one stride and no padding");
        var xType = _graph.TypeOf(node.Inputs[0]);
        var yType = _graph.TypeOf(node.Output);
        int c = Blocks(xType.Shape[1]) * NpuTarget.ArraySize;
        var y = PlaceResult(node.Output, NpuLayout.Nhwc);
        var spec = new MaxPoolSpec($"maxpool %{node.Output}", xType.Shape[2], xType.Shape[3], c, kernel[0], strides[0], yType.Shape[2], yType.Shape[3],
            new DramMatrix(x.Region, x.Offset, c * x.ElementBytes, x.DType), new DramMatrix(y.Region, y.Offset, c * y.ElementBytes, y.DType));
        _builder.BeginKernel();
        NpuPool.EmitMaxPool(_builder, spec);
        _kernels.Add(new NpuKernelInfo(spec.Name, $"max pool {kernel[0]}x{kernel[0]} stride {strides[0]} over {xType}", _builder.EndKernel()));
    }

    private void GlobalAveragePool(Node node)
    {
        string what = $"GlobalAvgPool %{node.Output}";
        var x = ChannelsLast(node.Inputs[0], what);
        var xType = _graph.TypeOf(node.Inputs[0]);
        int c = Blocks(xType.Shape[1]) * NpuTarget.ArraySize;
        var y = PlaceResult(node.Output, NpuLayout.Nhwc);
        var spec = new GlobalAveragePoolSpec($"avgpool %{node.Output}", xType.Shape[2] * xType.Shape[3], c,
            new DramMatrix(x.Region, x.Offset, c * x.ElementBytes, x.DType), new DramMatrix(y.Region, y.Offset, c * y.ElementBytes, y.DType));
        _builder.BeginKernel();
        NpuPool.EmitGlobalAverage(_builder, spec);
        _kernels.Add(new NpuKernelInfo(spec.Name, $"global average pool over {xType}", _builder.EndKernel()));
    }

    /// <summary>A Fused node or a single elementwise op: operands are activations of the output's shape, row vectors (weights of the last axis) or scalar constants.</summary>
    private void Elementwise(Node node)
    {
        var outType = _graph.TypeOf(node.Output);
        string what = $"{node.Op} %{node.Output}";
        var operands = new List<ElementwiseOperand>();
        foreach (var input in node.Inputs)
        {
            var t = _graph.TypeOf(input);
            if (_producers[input] is { Op: OpKind.Constant } c) operands.Add(new ElementwiseOperand.Scalar(c.Attrs.Float(AttrNames.Value)));
            else if (IsWeight(input) && t.ElementCount == ColsOf(outType)) operands.Add(new ElementwiseOperand.RowVector(ConstFor(input, NpuConstLayout.Float32Vector, 1, ColsOf(outType), false, 1f).Offset));
            else if (t.Shape.Equals(outType.Shape)) operands.Add(new ElementwiseOperand.Activation(Matrix(input, what)));
            else throw new NpuUnsupportedException($"{what}: the NPU broadcasts only weights along the last axis and scalars, not {t} to {outType}");
        }

        var body = node.Op == OpKind.Fused
            ? node.Body.Select(b => new ElementwiseOp(b.Op, b.Inputs.ToArray(), b.Op == OpKind.Constant ? b.Attrs.Float(AttrNames.Value) : 0f)).ToList()
            : new List<ElementwiseOp> { new(node.Op, Enumerable.Range(0, node.Inputs.Count).ToArray()) };
        foreach (var op in body)
        {
            if (!NpuElementwise.Supports(op.Op)) throw new NpuUnsupportedException($"{what}: the NPU's VPU has no {op.Op}");
        }

        var output = PlaceResult(node.Output).AsMatrix()!.Value;
        var spec = new ElementwiseSpec($"elementwise %{node.Output}", RowsOf(outType), ColsOf(outType), operands, body, output);
        int rows = NpuElementwise.PlanRows(spec);
        _builder.BeginKernel();
        NpuElementwise.Emit(_builder, spec, rows);
        long predicted = _builder.EndKernel();
        _kernels.Add(new NpuKernelInfo(spec.Name, $"{string.Join(" ", body.Select(b => b.Op))} over [{spec.Rows}x{spec.Cols}]; {rows} rows per tile", predicted));
    }

    private static int Blocks(int n) => (n + NpuTarget.ArraySize - 1) / NpuTarget.ArraySize;

    private static long Align(long x, int to) => (x + to - 1) / to * to;
}
