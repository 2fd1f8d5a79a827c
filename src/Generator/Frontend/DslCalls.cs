using System;
using System.Collections.Generic;
using System.Linq;
using Aot.Generator.Diagnostics;
using Aot.Generator.IR;
using Microsoft.CodeAnalysis;

namespace Aot.Generator.Frontend;

/// <summary>
/// Lowers one call of the DSL (Aot.Dsl.Ops, tensor operators and indexers) onto IR nodes: checks that the
/// arguments that must be compile-time constants are, normalizes axes and slice bounds, and reports shape errors at
/// the call. Composite DSL ops are expanded here (Linear becomes Gemm with reshapes, indexing becomes Slice+Reshape),
/// so the IR stays small.
/// </summary>
internal sealed class DslCalls
{
    private readonly GraphBuilder _graph;
    private readonly ForwardLowering _owner;

    public DslCalls(GraphBuilder graph, ForwardLowering owner)
    {
        _graph = graph;
        _owner = owner;
    }

    public static bool IsOps(INamedTypeSymbol? type) => type is { Name: "Ops" } && type.ContainingNamespace?.ToDisplayString() == "Aot.Dsl";

    public static bool IsTensor(ITypeSymbol? type) => type is INamedTypeSymbol { Name: "Tensor" } named && named.ContainingNamespace?.ToDisplayString() == "Aot.Dsl";

    private static readonly Dictionary<string, OpKind> Binary = new()
    {
        ["Add"] = OpKind.Add, ["Sub"] = OpKind.Sub, ["Mul"] = OpKind.Mul, ["Div"] = OpKind.Div,
        ["Max"] = OpKind.Max, ["Min"] = OpKind.Min, ["Pow"] = OpKind.Pow,
        ["Equal"] = OpKind.Equal, ["Greater"] = OpKind.Greater, ["GreaterOrEqual"] = OpKind.GreaterOrEqual,
        ["Less"] = OpKind.Less, ["LessOrEqual"] = OpKind.LessOrEqual,
    };

    private static readonly Dictionary<string, OpKind> Unary = new()
    {
        ["Relu"] = OpKind.Relu, ["Sigmoid"] = OpKind.Sigmoid, ["Tanh"] = OpKind.Tanh, ["Exp"] = OpKind.Exp, ["Log"] = OpKind.Log,
        ["Sqrt"] = OpKind.Sqrt, ["Rsqrt"] = OpKind.Rsqrt, ["Neg"] = OpKind.Neg, ["Abs"] = OpKind.Abs, ["Erf"] = OpKind.Erf,
        ["Not"] = OpKind.Not,
    };

    private static readonly Dictionary<string, OpKind> Reductions = new()
    {
        ["ReduceSum"] = OpKind.ReduceSum, ["ReduceMean"] = OpKind.ReduceMean, ["ReduceMax"] = OpKind.ReduceMax,
    };

    /// <summary>Lowers Ops.<paramref name="name"/> with its arguments keyed by parameter name.</summary>
    public FrontendValue Lower(string name, Dictionary<string, FrontendValue> args, Location at)
    {
        var call = new Call(name, args, at, this);
        try
        {
            if (Binary.TryGetValue(name, out var binary)) return Node(binary, at, Attrs.None, call.Tensor("a"), call.Tensor("b"));
            if (Unary.TryGetValue(name, out var unary)) return Node(unary, at, Attrs.None, call.Tensor("x"));
            if (Reductions.TryGetValue(name, out var reduction)) return Reduce(reduction, call);
            return name switch
            {
                "MatMul" => Node(OpKind.MatMul, at, Attrs.None, call.Tensor("a"), call.Tensor("b")),
                "Linear" => Linear(call),
                "Gemm" => Gemm(call),
                "Where" => Node(OpKind.Where, at, Attrs.None, call.Tensor("condition"), call.Tensor("a"), call.Tensor("b")),
                "Gelu" => Node(OpKind.Gelu, at, Attrs.Of(Attr.OfInt(AttrNames.Mode, call.Int("mode"))), call.Tensor("x")),
                "Softmax" => Softmax(call),
                "LayerNorm" => LayerNorm(call),
                "Reshape" => Reshape(call.Tensor("x"), call.Ints("shape"), at),
                "Transpose" => Transpose(call),
                "Concat" => Concat(call),
                "Slice" => Slice(call),
                "Select" => Select(args["x"], args["index"], at),
                "Gather" => Gather(call),
                "Conv2d" => Convolution(OpKind.Conv2d, call),
                "ConvTranspose2d" => Convolution(OpKind.ConvTranspose2d, call),
                "MaxPool2d" => Pool(OpKind.MaxPool2d, call),
                "AvgPool2d" => Pool(OpKind.AvgPool2d, call),
                "GlobalAvgPool" => Node(OpKind.GlobalAvgPool, at, Attrs.None, call.Tensor("x")),
                "Resize" => Resize(call),
                "Lstm" => Lstm(call),
                _ => _owner.Report(DiagnosticDescriptors.UnsupportedConstruct, at, $"Ops.{name} is not supported by the compiler yet"),
            };
        }
        catch (BadArgument bad)
        {
            return _owner.Report(bad.Descriptor, at, bad.Message, bad.Properties);
        }
    }

    /// <summary>A tensor for a value used where a tensor is expected: a number becomes a scalar Constant node.</summary>
    public FrontendValue AsTensor(FrontendValue value, Location at)
    {
        if (value.IsNumber)
        {
            return Node(OpKind.Constant, at, Attrs.Of(Attr.OfFloat(AttrNames.Value, (float)value.AsDouble)));
        }

        return value;
    }

    /// <summary>t[i]: index i of the first axis, which is dropped.</summary>
    public FrontendValue Select(FrontendValue target, FrontendValue index, Location at)
    {
        if (target.IsPoison || index.IsPoison) return FrontendValue.Poison;
        if (target.Kind != FrontendValueKind.Tensor || index.Kind != FrontendValueKind.Int)
        {
            return _owner.Report(DiagnosticDescriptors.InvalidArgument, at, "indexing needs a tensor and a compile-time integer index");
        }

        var type = _graph.TypeOf(target.TensorId);
        if (type.Rank == 0) return _owner.Report(DiagnosticDescriptors.AxisOutOfRange, at, $"cannot index a scalar tensor {type.ShapeText}");
        long i = index.Int < 0 ? index.Int + type.Shape[0] : index.Int;
        if (i < 0 || i >= type.Shape[0])
        {
            return _owner.Report(DiagnosticDescriptors.InvalidArgument, at, $"index {index.Int} is out of range for the first dimension of {type.ShapeText} (size {type.Shape[0]})");
        }

        var slice = Node(OpKind.Slice, at, SliceAttrs(0, (int)i, (int)i + 1, 1), target);
        return Reshape(slice, type.Shape.Items.Skip(1).ToArray(), at);
    }

    private FrontendValue Node(OpKind op, Location at, Attrs attrs, params FrontendValue[] inputs)
    {
        if (inputs.Any(i => i.IsPoison)) return FrontendValue.Poison;
        var result = _graph.TryAdd(op, inputs.Select(i => i.TensorId).ToArray(), attrs, out int output);
        return result.Error is { } error
            ? _owner.Report(DiagnosticDescriptors.ForShapeError(error.Kind), at, error.Message, op == OpKind.MatMul ? MatMulWeightHint(inputs, attrs) : null)
            : FrontendValue.Tensor(output);
    }

    /// <summary>
    /// For a code fix: names the [Weight] member whose two dimensions, swapped, make the operands fit (the usual cause
    /// of AOT0001: a weight declared [in, out] where [out, in] is expected, or the reverse). Null when no such weight.
    /// </summary>
    private DiagnosticProperty[]? WeightSwapHint(FrontendValue operand, Func<TensorType, bool> fitsWhenSwapped)
    {
        var value = _graph.ValueOf(operand.TensorId);
        if (value.Kind != ValueKind.Weight || value.Type.Rank != 2 || value.Type.Shape[0] == value.Type.Shape[1]) return null;
        var swapped = value.Type.WithShape(new[] { value.Type.Shape[1], value.Type.Shape[0] });
        return fitsWhenSwapped(swapped) ? new[] { new DiagnosticProperty(DiagnosticProperties.WeightMember, value.Name) } : null;
    }

    private DiagnosticProperty[]? MatMulWeightHint(FrontendValue[] inputs, Attrs attrs)
    {
        for (int i = inputs.Length - 1; i >= 0; i--)
        {
            var hint = WeightSwapHint(inputs[i], swapped =>
            {
                var types = inputs.Select(TypeOf).ToArray();
                types[i] = swapped;
                return ShapeInference.Infer(OpKind.MatMul, types, attrs).Error is null;
            });
            if (hint is not null) return hint;
        }

        return null;
    }

    private TensorType TypeOf(FrontendValue tensor) => _graph.TypeOf(tensor.TensorId);

    private int NormalizeAxis(string op, int axis, int rank)
    {
        return ShapeInference.NormalizeAxis(axis, rank)
            ?? throw new BadArgument(DiagnosticDescriptors.AxisOutOfRange, ShapeInference.AxisError(op, axis, rank));
    }

    private FrontendValue Linear(Call call)
    {
        var x = call.Tensor("x");
        var weight = call.Tensor("weight");
        var bias = call.OptionalTensor("bias");
        if (x.IsPoison || weight.IsPoison || bias.IsPoison) return FrontendValue.Poison;
        var xt = TypeOf(x);
        var wt = TypeOf(weight);
        if (xt.Rank == 0 || wt.Rank != 2)
        {
            throw new BadArgument(DiagnosticDescriptors.OperandShape, $"Linear: needs an input of rank >= 1 and a weight [out, in], got {xt.ShapeText} and {wt.ShapeText}");
        }

        int features = xt.Shape[xt.Rank - 1];
        if (features != wt.Shape[1])
        {
            throw new BadArgument(DiagnosticDescriptors.MatMulInnerDimension, $"Linear: input {xt.ShapeText} has {features} features, weight {wt.ShapeText} expects {wt.Shape[1]} (weights are [out, in])")
            {
                Properties = WeightSwapHint(weight, swapped => swapped.Shape[1] == features),
            };
        }

        // Gemm is 2-D: fold leading dimensions into rows and restore them afterwards.
        var rows = xt.Rank == 2 ? x : Reshape(x, new[] { (int)(xt.ElementCount / features), features }, call.At);
        var gemmAttrs = GemmAttrs(1f, 1f, false, true);
        var gemm = bias.Kind == FrontendValueKind.Null ? Node(OpKind.Gemm, call.At, gemmAttrs, rows, weight) : Node(OpKind.Gemm, call.At, gemmAttrs, rows, weight, bias);
        if (xt.Rank == 2) return gemm;
        var shape = xt.ShapeArray();
        shape[shape.Length - 1] = wt.Shape[0];
        return Reshape(gemm, shape, call.At);
    }

    private static Attrs GemmAttrs(float alpha, float beta, bool transA, bool transB) => Attrs.Of(
        Attr.OfFloat(AttrNames.Alpha, alpha),
        Attr.OfFloat(AttrNames.Beta, beta),
        Attr.OfInt(AttrNames.TransA, transA ? 1L : 0L),
        Attr.OfInt(AttrNames.TransB, transB ? 1L : 0L));

    private FrontendValue Gemm(Call call)
    {
        var attrs = GemmAttrs(call.Float("alpha"), call.Float("beta"), call.Bool("transA"), call.Bool("transB"));
        var c = call.OptionalTensor("c");
        return c.Kind == FrontendValueKind.Null
            ? Node(OpKind.Gemm, call.At, attrs, call.Tensor("a"), call.Tensor("b"))
            : Node(OpKind.Gemm, call.At, attrs, call.Tensor("a"), call.Tensor("b"), c);
    }

    private FrontendValue Softmax(Call call)
    {
        var x = call.Tensor("x");
        if (x.IsPoison) return x;
        int axis = NormalizeAxis("Softmax", call.Int("axis"), TypeOf(x).Rank);
        return Node(OpKind.Softmax, call.At, Attrs.Of(Attr.OfInt(AttrNames.Axis, axis)), x);
    }

    private FrontendValue LayerNorm(Call call)
    {
        var x = call.Tensor("x");
        var gamma = call.Tensor("gamma");
        var beta = call.Tensor("beta");
        if (x.IsPoison || gamma.IsPoison || beta.IsPoison) return FrontendValue.Poison;
        var xt = TypeOf(x);
        var gt = TypeOf(gamma);
        if (gt.Rank == 0 || gt.Rank > xt.Rank)
        {
            throw new BadArgument(DiagnosticDescriptors.OperandShape, $"LayerNorm: gamma has shape {gt.ShapeText}; it must have the shape of the trailing dimensions of the input {xt.ShapeText}");
        }

        var attrs = Attrs.Of(Attr.OfInt(AttrNames.Axis, xt.Rank - gt.Rank), Attr.OfFloat(AttrNames.Epsilon, call.Float("epsilon")));
        return Node(OpKind.LayerNorm, call.At, attrs, x, gamma, beta);
    }

    private FrontendValue Reduce(OpKind op, Call call)
    {
        var x = call.Tensor("x");
        if (x.IsPoison) return x;
        int rank = TypeOf(x).Rank;
        int[] axes = call.Has("axes") ? call.Ints("axes") : new[] { call.Int("axis") };
        var normalized = axes.Select(a => NormalizeAxis(op.ToString(), a, rank)).OrderBy(a => a).ToArray();
        var attrs = Attrs.Of(Attr.OfInts(AttrNames.Axes, normalized), Attr.OfInt(AttrNames.KeepDims, call.Bool("keepDims") ? 1L : 0L));
        return Node(op, call.At, attrs, x);
    }

    private FrontendValue Reshape(FrontendValue x, int[] requested, Location at)
    {
        if (x.IsPoison) return x;
        var resolved = ShapeInference.ResolveReshape(TypeOf(x).Shape, requested, out var error);
        if (resolved is null) throw new BadArgument(DiagnosticDescriptors.ReshapeElementCount, error!);
        return Node(OpKind.Reshape, at, Attrs.Of(Attr.OfInts(AttrNames.Shape, resolved)), x);
    }

    private FrontendValue Transpose(Call call)
    {
        var x = call.Tensor("x");
        if (x.IsPoison) return x;
        int rank = TypeOf(x).Rank;
        var perm = call.Ints("perm");
        perm = perm.Length == 0
            ? Enumerable.Range(0, rank).Reverse().ToArray()
            : perm.Select(p => ShapeInference.NormalizeAxis(p, rank) ?? p).ToArray();
        return Node(OpKind.Transpose, call.At, Attrs.Of(Attr.OfInts(AttrNames.Perm, perm)), x);
    }

    private FrontendValue Concat(Call call)
    {
        var inputs = call.Tensors("inputs");
        if (inputs.Length == 0) throw new BadArgument(DiagnosticDescriptors.InvalidArgument, "Concat: needs at least one input");
        int axis = NormalizeAxis("Concat", call.Int("axis"), TypeOf(inputs[0]).Rank);
        return Node(OpKind.Concat, call.At, Attrs.Of(Attr.OfInt(AttrNames.Axis, axis)), inputs);
    }

    private static Attrs SliceAttrs(int axis, int start, int end, int step) => Attrs.Of(
        Attr.OfInt(AttrNames.Axis, axis), Attr.OfInt(AttrNames.Start, start), Attr.OfInt(AttrNames.End, end), Attr.OfInt(AttrNames.Step, step));

    private FrontendValue Slice(Call call)
    {
        var x = call.Tensor("x");
        if (x.IsPoison) return x;
        var type = TypeOf(x);
        int axis = NormalizeAxis("Slice", call.Int("axis"), type.Rank);
        int step = call.Int("step");
        if (step <= 0) throw new BadArgument(DiagnosticDescriptors.InvalidArgument, $"Slice: step must be positive, got {step}");
        var (start, end) = ShapeInference.NormalizeSliceBounds(call.Int("start"), call.Int("end"), type.Shape[axis]);
        return Node(OpKind.Slice, call.At, SliceAttrs(axis, start, Math.Max(start, end), step), x);
    }

    private FrontendValue Gather(Call call)
    {
        var data = call.Tensor("data");
        var indices = call.Tensor("indices");
        if (data.IsPoison || indices.IsPoison) return FrontendValue.Poison;
        int axis = NormalizeAxis("Gather", call.Int("axis"), TypeOf(data).Rank);
        return Node(OpKind.Gather, call.At, Attrs.Of(Attr.OfInt(AttrNames.Axis, axis)), data, indices);
    }

    /// <summary>Conv2d and ConvTranspose2d (which adds outputPadding), both overloads: the square one (stride,
    /// padding, dilation) and the per-axis one (strideH, strideW, padH, padW, dilationH, dilationW).</summary>
    private FrontendValue Convolution(OpKind op, Call call)
    {
        bool square = call.Has("stride");
        int sh = call.Int(square ? "stride" : "strideH"), sw = call.Int(square ? "stride" : "strideW");
        int ph = call.Int(square ? "padding" : "padH"), pw = call.Int(square ? "padding" : "padW");
        int dh = call.Int(square ? "dilation" : "dilationH"), dw = call.Int(square ? "dilation" : "dilationW");
        var attrs = new List<Attr>
        {
            Attr.OfInts(AttrNames.Strides, sh, sw),
            Attr.OfInts(AttrNames.Pads, ph, pw, ph, pw),
            Attr.OfInts(AttrNames.Dilations, dh, dw),
            Attr.OfInt(AttrNames.Group, (long)call.Int("groups")),
        };
        if (op == OpKind.ConvTranspose2d)
        {
            attrs.Add(Attr.OfInts(AttrNames.OutputPadding, call.Int(square ? "outputPadding" : "outputPaddingH"), call.Int(square ? "outputPadding" : "outputPaddingW")));
        }

        var bias = call.OptionalTensor("bias");
        return bias.Kind == FrontendValueKind.Null
            ? Node(op, call.At, Attrs.Of(attrs.ToArray()), call.Tensor("x"), call.Tensor("weight"))
            : Node(op, call.At, Attrs.Of(attrs.ToArray()), call.Tensor("x"), call.Tensor("weight"), bias);
    }

    /// <summary>Both overloads: the square one (kernel, stride, padding) and the rectangular one (kernelH, kernelW,
    /// strideH, strideW, padH, padW); a stride of 0 is the kernel size on its axis.</summary>
    private FrontendValue Pool(OpKind op, Call call)
    {
        bool square = call.Has("kernel");
        int kh = call.Int(square ? "kernel" : "kernelH"), kw = call.Int(square ? "kernel" : "kernelW");
        int sh = call.Int(square ? "stride" : "strideH"), sw = call.Int(square ? "stride" : "strideW");
        int ph = call.Int(square ? "padding" : "padH"), pw = call.Int(square ? "padding" : "padW");
        var attrs = new List<Attr>
        {
            Attr.OfInts(AttrNames.Kernel, kh, kw),
            Attr.OfInts(AttrNames.Strides, sh == 0 ? kh : sh, sw == 0 ? kw : sw),
            Attr.OfInts(AttrNames.Pads, ph, pw, ph, pw),
        };
        if (op == OpKind.AvgPool2d) attrs.Add(Attr.OfInt(AttrNames.CountIncludePad, call.Bool("countIncludePad") ? 1L : 0L));
        return Node(op, call.At, Attrs.Of(attrs.ToArray()), call.Tensor("x"));
    }

    private FrontendValue Resize(Call call)
    {
        var x = call.Tensor("x");
        if (x.IsPoison) return x;
        var type = TypeOf(x);
        int height = call.Int("height"), width = call.Int("width");
        float scaleH = call.Float("scaleHeight"), scaleW = call.Float("scaleWidth");
        if (height < 1 || width < 1) throw new BadArgument(DiagnosticDescriptors.InvalidArgument, $"Resize: the output size {height} x {width} must be positive");
        if (!(scaleH >= 0f) || !(scaleW >= 0f) || float.IsInfinity(scaleH) || float.IsInfinity(scaleW))
        {
            throw new BadArgument(DiagnosticDescriptors.InvalidArgument, $"Resize: scales {scaleH} and {scaleW} must be positive and finite (or 0: the size ratio)");
        }

        // A scale left 0 is the size ratio (what the eager reference uses); the input's rank is checked by the shape rule.
        if (type.Rank == 4 && type.Shape[2] > 0 && type.Shape[3] > 0)
        {
            if (scaleH == 0f) scaleH = (float)height / type.Shape[2];
            if (scaleW == 0f) scaleW = (float)width / type.Shape[3];
        }

        var attrs = Attrs.Of(
            Attr.OfInts(AttrNames.Shape, height, width),
            Attr.OfInt(AttrNames.Mode, call.Int("mode")),
            Attr.OfInt(AttrNames.Coordinates, call.Int("coordinates")),
            Attr.OfInt(AttrNames.Nearest, call.Int("nearest")),
            Attr.OfFloat(AttrNames.ScaleH, scaleH),
            Attr.OfFloat(AttrNames.ScaleW, scaleW));
        return Node(OpKind.Resize, call.At, attrs, x);
    }

    private FrontendValue Lstm(Call call)
    {
        var b = call.OptionalTensor("b");
        var h = call.OptionalTensor("initialH");
        var c = call.OptionalTensor("initialC");
        var present = new[] { b, h, c }.Where(v => v.Kind != FrontendValueKind.Null);
        var attrs = Attrs.Of(
            Attr.OfInt(AttrNames.Output, call.Int("output")),
            Attr.OfFloat(AttrNames.Clip, call.Float("clip")),
            Attr.OfInt(AttrNames.Optional, LstmOperands.Mask(b.Kind != FrontendValueKind.Null, h.Kind != FrontendValueKind.Null, c.Kind != FrontendValueKind.Null)));
        return Node(OpKind.Lstm, call.At, attrs, new[] { call.Tensor("x"), call.Tensor("w"), call.Tensor("r") }.Concat(present).ToArray());
    }

    /// <summary>An argument that cannot be used: reported once, at the call.</summary>
    private sealed class BadArgument : Exception
    {
        public BadArgument(DiagnosticDescriptor descriptor, string message)
            : base(message) => Descriptor = descriptor;

        public DiagnosticDescriptor Descriptor { get; }

        /// <summary>Diagnostic.Properties for a code fix, if any.</summary>
        public DiagnosticProperty[]? Properties { get; init; }
    }

    /// <summary>Typed access to a call's arguments; a wrong kind of argument is a BadArgument.</summary>
    private sealed class Call
    {
        private readonly string _name;
        private readonly Dictionary<string, FrontendValue> _args;
        private readonly DslCalls _dsl;

        public Call(string name, Dictionary<string, FrontendValue> args, Location at, DslCalls dsl)
        {
            _name = name;
            _args = args;
            At = at;
            _dsl = dsl;
        }

        public Location At { get; }

        public bool Has(string parameter) => _args.ContainsKey(parameter);

        public FrontendValue Tensor(string parameter)
        {
            var v = Get(parameter);
            if (v.IsNumber) return _dsl.AsTensor(v, At);
            return v.Kind is FrontendValueKind.Tensor or FrontendValueKind.Poison ? v : throw Expected(parameter, "a tensor");
        }

        public FrontendValue OptionalTensor(string parameter) =>
            _args.TryGetValue(parameter, out var v) && v.Kind != FrontendValueKind.Null ? Tensor(parameter) : FrontendValue.Null;

        public int Int(string parameter)
        {
            var v = Get(parameter);
            return v.Kind == FrontendValueKind.Int ? checked((int)v.Int) : throw Expected(parameter, "a compile-time integer");
        }

        public float Float(string parameter)
        {
            var v = Get(parameter);
            return v.IsNumber ? (float)v.AsDouble : throw Expected(parameter, "a compile-time number");
        }

        public bool Bool(string parameter)
        {
            var v = Get(parameter);
            return v.Kind == FrontendValueKind.Bool ? v.Bool : throw Expected(parameter, "a compile-time bool");
        }

        public int[] Ints(string parameter)
        {
            var v = Get(parameter);
            return v.Kind == FrontendValueKind.IntArray ? v.Array! : throw Expected(parameter, "compile-time integers");
        }

        public FrontendValue[] Tensors(string parameter)
        {
            var v = Get(parameter);
            return v.Kind == FrontendValueKind.TensorArray ? v.Array!.Select(FrontendValue.Tensor).ToArray() : throw Expected(parameter, "an array of tensors");
        }

        private FrontendValue Get(string parameter) =>
            _args.TryGetValue(parameter, out var v) ? v : throw new BadArgument(DiagnosticDescriptors.InvalidArgument, $"{_name}: argument '{parameter}' is missing");

        private BadArgument Expected(string parameter, string what) =>
            new(DiagnosticDescriptors.InvalidArgument, $"{_name}: argument '{parameter}' must be {what}");
    }
}
