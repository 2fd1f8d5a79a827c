using Aot.Dsl;
using Aot.Generator.IR;
using static Aot.Tests.Shared.CaseKit;

namespace Aot.Tests.Shared;

/// <summary>The op cases both backends check against the eager reference (graphs, shapes, attribute variants,
/// references, tolerances); each suite runs them through its own emitter.</summary>
internal static class SharedCases
{
    /// <summary>Operand shape pairs: same shape (vector path), row and column broadcasts, both sides broadcasting,
    /// rank-0 scalars on either side, size-1 everything, an empty result, rank 4.</summary>
    public static readonly (int[] A, int[] B)[] BinaryShapes =
    {
        (new[] { 17, 33 }, new[] { 17, 33 }),
        (new[] { 3, 17, 33 }, new[] { 33 }),
        (new[] { 3, 1, 33 }, new[] { 17, 1 }),
        (new int[0], new[] { 3, 17 }),
        (new[] { 33, 1 }, new int[0]),
        (new int[0], new int[0]),
        (new[] { 1 }, new[] { 1 }),
        (new[] { 17 }, new[] { 3, 1 }),
        (new[] { 3, 0, 17 }, new[] { 17 }),
        (new[] { 1, 3, 1, 17 }, new[] { 33, 1, 17, 1 }),
        (new[] { 1, 3, 1, 17 }, new[] { 3, 1, 17, 1 }),
    };

    /// <summary>Add/Sub/Mul/Div/Max/Min/Pow over <see cref="BinaryShapes"/> (broadcasting, weights on some).</summary>
    public static List<KernelCase> BinaryElementwise()
    {
        var ops = new (OpKind Op, Func<Tensor, Tensor, Tensor> Reference, float BLow, float BHigh, float ALow, Tolerance Tolerance)[]
        {
            (OpKind.Add, Ops.Add, -1f, 1f, -1f, Tolerance.Elementwise),
            (OpKind.Sub, Ops.Sub, -1f, 1f, -1f, Tolerance.Elementwise),
            (OpKind.Mul, Ops.Mul, -1f, 1f, -1f, Tolerance.Elementwise),
            (OpKind.Div, Ops.Div, 0.5f, 2f, -1f, Tolerance.Elementwise),
            (OpKind.Max, Ops.Max, -1f, 1f, -1f, Tolerance.Exact),
            (OpKind.Min, Ops.Min, -1f, 1f, -1f, Tolerance.Exact),
            (OpKind.Pow, Ops.Pow, -2f, 2f, 0.5f, Tolerance.Elementwise),
        };
        var cases = new List<KernelCase>();
        int seed = 100;
        foreach (var (op, reference, bLow, bHigh, aLow, tolerance) in ops)
        {
            for (int s = 0; s < BinaryShapes.Length; s++)
            {
                var (aShape, bShape) = BinaryShapes[s];
                var a = Rand(seed++, aLow, 2f, aShape);
                var b = Rand(seed++, bLow, bHigh, bShape);
                string name = $"[{string.Join(",", aShape)}] (.) [{string.Join(",", bShape)}]";
                cases.Add(Case(name, op, Aot.Generator.IR.Attrs.None, new[] { a, b }, reference(a, b), tolerance, weightMask: s % 3 == 2 ? 2 : 0));
            }
        }
        return cases;
    }

    /// <summary>Equal/Greater/GreaterOrEqual/Less/LessOrEqual over <see cref="BinaryShapes"/> on small whole numbers (so
    /// ties occur), Not of a mask, and Where over three broadcast operands (conditions with zeros, ones, other values,
    /// NaN and -0).</summary>
    public static List<KernelCase> Selection()
    {
        var ops = new (OpKind Op, Func<Tensor, Tensor, Tensor> Reference)[]
        {
            (OpKind.Equal, Ops.Equal), (OpKind.Greater, Ops.Greater), (OpKind.GreaterOrEqual, Ops.GreaterOrEqual),
            (OpKind.Less, Ops.Less), (OpKind.LessOrEqual, Ops.LessOrEqual),
        };
        var cases = new List<KernelCase>();
        int seed = 150;
        foreach (var (op, reference) in ops)
        {
            for (int s = 0; s < BinaryShapes.Length; s++)
            {
                var (aShape, bShape) = BinaryShapes[s];
                var a = Whole(seed++, aShape);
                var b = Whole(seed++, bShape);
                cases.Add(Case($"{S(aShape)} (.) {S(bShape)}", op, Aot.Generator.IR.Attrs.None, new[] { a, b }, reference(a, b), Tolerance.Exact, weightMask: s % 3 == 2 ? 2 : 0));
            }
        }

        foreach (var shape in new[] { new int[0], new[] { 3 }, new[] { 17, 33 }, new[] { 0, 3 } })
        {
            var mask = Ops.Greater(Rand(seed++, shape), 0f);
            cases.Add(Case(S(shape), OpKind.Not, Aot.Generator.IR.Attrs.None, new[] { mask }, Ops.Not(mask), Tolerance.Exact));
        }

        var special = new[] { 0f, 1f, -0f, float.NaN, 2.5f, 0f, -1f };
        foreach (var (c, a, b) in new[]
        {
            (new[] { 17, 33 }, new[] { 17, 33 }, new[] { 17, 33 }),
            (new[] { 17, 1 }, new[] { 33 }, new int[0]),
            (new[] { 1, 33 }, new[] { 3, 1, 1 }, new[] { 17, 33 }),
            (new int[0], new[] { 3, 17 }, new[] { 3, 17 }),
            (new[] { 3, 0, 17 }, new[] { 17 }, new[] { 1 }),
        })
        {
            var values = Rand(seed++, c).Floats.ToArray().Select((v, i) => special[(i + (int)(7 * MathF.Abs(v))) % special.Length]).ToArray();
            var condition = Tensor.FromArray(values, c);
            var ta = Rand(seed++, a);
            var tb = Rand(seed++, b);
            cases.Add(Case($"{S(c)} ? {S(a)} : {S(b)}", OpKind.Where, Aot.Generator.IR.Attrs.None, new[] { condition, ta, tb }, Ops.Where(condition, ta, tb), Tolerance.Exact, weightMask: seed % 2 == 0 ? 4 : 0));
        }

        return cases;
    }

    /// <summary>Whole numbers -2..2 as floats.</summary>
    private static Tensor Whole(int seed, int[] shape) => Tensor.FromArray(Rand(seed, -2.5f, 2.5f, shape).Floats.ToArray().Select(v => MathF.Round(v)).ToArray(), shape);

    /// <summary>Every unary op (both Gelu modes) over scalar, size-1, vector, matrix, broadcast-shaped and empty inputs.</summary>
    public static List<KernelCase> UnaryElementwise()
    {
        var shapes = new[] { new int[0], new[] { 1 }, new[] { 3 }, new[] { 17, 33 }, new[] { 3, 1, 33 }, new[] { 0, 3 } };
        var ops = new (OpKind Op, int Mode, Func<Tensor, Tensor> Reference, float Low, float High, Tolerance Tolerance)[]
        {
            (OpKind.Relu, 0, Ops.Relu, -2f, 2f, Tolerance.Exact),
            (OpKind.Neg, 0, Ops.Neg, -2f, 2f, Tolerance.Exact),
            (OpKind.Abs, 0, Ops.Abs, -2f, 2f, Tolerance.Exact),
            (OpKind.Gelu, 0, x => Ops.Gelu(x, GeluMode.Erf), -8f, 8f, Tolerance.Elementwise),
            (OpKind.Gelu, 1, x => Ops.Gelu(x, GeluMode.Tanh), -8f, 8f, Tolerance.Elementwise),
            (OpKind.Sigmoid, 0, Ops.Sigmoid, -12f, 12f, Tolerance.Elementwise),
            (OpKind.Tanh, 0, Ops.Tanh, -6f, 6f, Tolerance.Elementwise),
            (OpKind.Exp, 0, Ops.Exp, -10f, 10f, Tolerance.Elementwise),
            (OpKind.Log, 0, Ops.Log, 0.01f, 10f, Tolerance.Elementwise),
            (OpKind.Sqrt, 0, Ops.Sqrt, 0f, 10f, Tolerance.Elementwise),
            (OpKind.Rsqrt, 0, Ops.Rsqrt, 0.01f, 10f, Tolerance.Elementwise),
            (OpKind.Erf, 0, Ops.Erf, -5f, 5f, Tolerance.Elementwise),
        };
        var cases = new List<KernelCase>();
        int seed = 200;
        foreach (var (op, mode, reference, low, high, tolerance) in ops)
        {
            var attrs = op == OpKind.Gelu ? Attrs(Attr.OfInt(AttrNames.Mode, (long)mode)) : Aot.Generator.IR.Attrs.None;
            foreach (var shape in shapes)
            {
                var x = Rand(seed++, low, high, shape);
                cases.Add(Case($"mode {mode} [{string.Join(",", shape)}]", op, attrs, new[] { x }, reference(x), tolerance));
            }
        }
        return cases;
    }

    /// <summary>Reshape, Transpose (Float32 and Int32), Concat and Slice.</summary>
    public static List<KernelCase> Movement()
    {
        var cases = new List<KernelCase>();
        int seed = 800;

        // Reshape as the graph output is a real copy (elsewhere PlanMemory makes it an alias).
        foreach (var (from, to) in new[] { (new[] { 3, 17, 33 }, new[] { 33, 51 }), (new[] { 1 }, new int[0]), (new[] { 0, 3 }, new[] { 3, 0 }) })
        {
            var x = Rand(seed++, from);
            cases.Add(Case($"{S(from)} -> {S(to)}", OpKind.Reshape, Attrs(Attr.OfInts(AttrNames.Shape, to)), new[] { x }, Ops.Reshape(x, to), Tolerance.Exact));
        }

        foreach (var (shape, perm) in new[]
        {
            (new[] { 3, 17, 33 }, new[] { 2, 0, 1 }),
            (new[] { 3, 17, 33 }, new[] { 1, 0, 2 }),
            (new[] { 3, 17, 33 }, new[] { 0, 2, 1 }),
            (new[] { 17, 33 }, new[] { 1, 0 }),
            (new[] { 33 }, new[] { 0 }),
            (new int[0], new int[0]),
            (new[] { 1, 3, 1, 17 }, new[] { 3, 2, 1, 0 }),
            (new[] { 3, 0, 17 }, new[] { 2, 1, 0 }),
        })
        {
            var x = Rand(seed++, shape);
            cases.Add(Case($"{S(shape)} perm {S(perm)}", OpKind.Transpose, Attrs(Attr.OfInts(AttrNames.Perm, perm)), new[] { x }, Ops.Transpose(x, perm), Tolerance.Exact, weightMask: seed % 2));
        }

        // An Int32 transpose: movement kernels copy any element type.
        var ints = Ints(seed++, -100, 100, 3, 17);
        cases.Add(Case("int32 [3,17] perm [1,0]", OpKind.Transpose, Attrs(Attr.OfInts(AttrNames.Perm, 1, 0)), new[] { ints }, Ops.Transpose(ints, 1, 0), Tolerance.Exact));

        foreach (var (shapes, axis) in new[]
        {
            (new[] { new[] { 3, 17 }, new[] { 3, 1 }, new[] { 3, 33 } }, 1),
            (new[] { new[] { 1, 17 }, new[] { 3, 17 }, new[] { 1, 17 } }, 0),
            (new[] { new[] { 3, 0, 2 }, new[] { 3, 1, 2 }, new[] { 3, 17, 2 } }, 1),
            (new[] { new[] { 2, 3, 4 } }, 2),
            (new[] { new[] { 17, 3, 1 }, new[] { 17, 3, 33 } }, -1),
        })
        {
            var xs = shapes.Select(s => Rand(seed++, s)).ToArray();
            int normalized = axis < 0 ? axis + shapes[0].Length : axis;
            cases.Add(Case($"{string.Join(" ", shapes.Select(S))} axis {axis}", OpKind.Concat, Attrs(Attr.OfInt(AttrNames.Axis, (long)normalized)), xs, Ops.Concat(xs, axis), Tolerance.Exact, weightMask: 2));
        }

        foreach (var (shape, axis, start, end, step) in new[]
        {
            (new[] { 33, 17 }, 0, 1, 30, 3),
            (new[] { 33, 17 }, 1, 0, 17, 1),
            (new[] { 3, 17, 33 }, 2, 5, 6, 1),
            (new[] { 3, 17, 33 }, -1, -10, 100, 2),
            (new[] { 3, 17, 33 }, 1, 16, 0, 1),
            (new[] { 17 }, 0, -1, 17, 5),
            (new[] { 3, 17, 33 }, 0, 0, 3, 2),
            (new[] { 17, 3 }, 0, 2, 17, 1000),
        })
        {
            var x = Rand(seed++, shape);
            int a = axis < 0 ? axis + shape.Length : axis;
            var (s0, e0) = ShapeInference.NormalizeSliceBounds(start, end, shape[a]);
            var attrs = Attrs(Attr.OfInt(AttrNames.Axis, (long)a), Attr.OfInt(AttrNames.Start, (long)s0), Attr.OfInt(AttrNames.End, (long)e0), Attr.OfInt(AttrNames.Step, (long)step));
            cases.Add(Case($"{S(shape)} axis {axis} {start}:{end}:{step}", OpKind.Slice, attrs, new[] { x }, Ops.Slice(x, axis, start, end, step), Tolerance.Exact));
        }
        return cases;
    }

    /// <summary>Gather with negative indices, Int32 data and indices as a weight.</summary>
    public static List<KernelCase> Gather()
    {
        var cases = new List<KernelCase>();
        int seed = 900;
        foreach (var (dataShape, indexShape, axis) in new[]
        {
            (new[] { 17, 33 }, new[] { 3 }, 0),
            (new[] { 3, 17, 33 }, new[] { 2, 5 }, 1),
            (new[] { 33 }, new int[0], 0),
            (new[] { 3, 17 }, new[] { 17, 3 }, 1),
            (new[] { 3, 17, 1 }, new[] { 33 }, 1),
            (new[] { 1, 3 }, new[] { 0 }, 1),
        })
        {
            int dim = dataShape[axis];
            var data = Rand(seed++, dataShape);
            var indices = Ints(seed++, -dim, dim, indexShape);
            var attrs = Attrs(Attr.OfInt(AttrNames.Axis, (long)axis));
            cases.Add(Case($"{S(dataShape)} at {S(indexShape)} axis {axis}", OpKind.Gather, attrs, new[] { data, indices }, Ops.Gather(data, indices, axis), Tolerance.Exact, weightMask: seed % 3 == 0 ? 2 : 0));
        }

        // Int32 data, indices as a weight (stored in the float weights buffer and reinterpreted).
        var table = Ints(seed++, -1000, 1000, 17, 3);
        var rows = Tensor.FromArray(new[] { 0, -1, 16, 3, -17 }, 5);
        cases.Add(Case("int32 [17,3] at weight [5]", OpKind.Gather, Attrs(Attr.OfInt(AttrNames.Axis, 0L)), new[] { table, rows }, Ops.Gather(table, rows), Tolerance.Exact, weightMask: 2));

        // Float32 indices holding integers (integer ONNX inputs, e.g. token ids into an embedding table), 1-D and 2-D.
        foreach (var (dataShape, indexShape) in new[] { (new[] { 50, 8 }, new[] { 7 }), (new[] { 50, 8 }, new[] { 2, 5 }), (new[] { 30, 1 }, new[] { 3, 4 }) })
        {
            var data = Rand(seed++, dataShape);
            var ids = Ints(seed++, -dataShape[0], dataShape[0], indexShape);
            var floatIds = Tensor.FromArray(ids.Ints.ToArray().Select(i => (float)i).ToArray(), indexShape);
            cases.Add(Case($"{S(dataShape)} at float {S(indexShape)}", OpKind.Gather, Attrs(Attr.OfInt(AttrNames.Axis, 0L)), new[] { data, floatIds }, Ops.Gather(data, ids), Tolerance.Exact));
        }

        return cases;
    }

    /// <summary>Conv2d: strides, symmetric and asymmetric padding, dilation, groups, depthwise, 1x1, unequal strides,
    /// per-axis strides, padding and dilations.</summary>
    public static List<KernelCase> Conv2d()
    {
        var cases = new List<KernelCase>();
        int seed = 1000;

        // Symmetric configurations the DSL expresses directly: (x, w, bias, stride, padding, dilation, groups).
        foreach (var (xShape, wShape, bias, stride, pad, dilation, groups) in new[]
        {
            (new[] { 1, 3, 17, 17 }, new[] { 4, 3, 3, 3 }, true, 1, 1, 1, 1),
            (new[] { 2, 3, 17, 33 }, new[] { 3, 3, 3, 3 }, false, 2, 0, 1, 1),
            (new[] { 1, 3, 17, 17 }, new[] { 5, 3, 3, 3 }, true, 1, 2, 2, 1),
            (new[] { 1, 4, 9, 9 }, new[] { 6, 2, 3, 3 }, true, 1, 1, 1, 2),
            (new[] { 1, 3, 17, 17 }, new[] { 3, 1, 3, 3 }, true, 1, 1, 1, 3),   // depthwise
            (new[] { 2, 3, 17, 17 }, new[] { 6, 1, 3, 3 }, false, 2, 1, 1, 3),  // depthwise, multiplier 2, stride 2
            (new[] { 1, 17, 3, 3 }, new[] { 33, 17, 1, 1 }, true, 1, 0, 1, 1),  // 1x1: a plain GEMM on the planes
            (new[] { 2, 4, 5, 3 }, new[] { 6, 2, 1, 1 }, false, 1, 0, 1, 2),    // grouped 1x1
            (new[] { 1, 3, 3, 17 }, new[] { 2, 3, 1, 3 }, false, 1, 0, 1, 1),   // non-square kernel
            (new[] { 1, 1, 1, 1 }, new[] { 1, 1, 1, 1 }, true, 1, 0, 1, 1),
            (new[] { 1, 2, 5, 5 }, new[] { 2, 2, 1, 1 }, false, 2, 0, 1, 1),    // 1x1 with stride: im2col path
            (new[] { 1, 3, 33, 33 }, new[] { 3, 3, 5, 5 }, true, 3, 2, 2, 1),
            (new[] { 1, 3, 17, 17 }, new[] { 3, 3, 3, 3 }, false, 1, 3, 1, 1),  // padding wider than a tap reaches
            (new[] { 1, 3, 17, 33 }, new[] { 2, 3, 3, 3 }, true, 2, 0, 2, 1),   // dilation without padding
            (new[] { 1, 16, 24, 21 }, new[] { 17, 16, 3, 3 }, true, 1, 1, 1, 1), // Winograd on the CPU: 16+ channels, 32+ output tiles, beyond L1
            (new[] { 2, 16, 22, 30 }, new[] { 16, 16, 3, 3 }, false, 1, 0, 1, 1), // the same, batch 2, no padding
        })
        {
            var x = Rand(seed++, xShape);
            var w = Rand(seed++, wShape);
            var b = bias ? Rand(seed++, wShape[0]) : null;
            var operands = b is null ? new[] { x, w } : new[] { x, w, b };
            var attrs = ConvAttrs(new[] { stride, stride }, new[] { pad, pad, pad, pad }, new[] { dilation, dilation }, groups);
            string name = $"{S(xShape)} * {S(wShape)} bias {bias} stride {stride} pad {pad} dilation {dilation} groups {groups}";
            cases.Add(Case(name, OpKind.Conv2d, attrs, operands, Ops.Conv2d(x, w, b, stride, pad, dilation, groups), Tolerance.Accumulation, weightMask: 6));
        }

        // Asymmetric padding [top, left, bottom, right]: the reference pads with zeros explicitly.
        foreach (var (pads, stride) in new[] { (new[] { 0, 1, 2, 1 }, 2), (new[] { 2, 0, 0, 1 }, 1), (new[] { 1, 2, 0, 0 }, 3) })
        {
            var x = Rand(seed++, 1, 3, 17, 17);
            var w = Rand(seed++, 4, 3, 3, 3);
            var b = Rand(seed++, 4);
            var expected = Ops.Conv2d(Pad(x, pads[0], pads[1], pads[2], pads[3], 0f), w, b, stride);
            cases.Add(Case($"pads {S(pads)} stride {stride}", OpKind.Conv2d, ConvAttrs(new[] { stride, stride }, pads, new[] { 1, 1 }, 1), new[] { x, w, b }, expected, Tolerance.Accumulation, weightMask: 6));
        }

        // Unequal strides [1, 2] and [3, 1]: the reference subsamples a stride-1 convolution.
        foreach (var strides in new[] { new[] { 1, 2 }, new[] { 3, 1 } })
        {
            var x = Rand(seed++, 1, 3, 17, 33);
            var w = Rand(seed++, 3, 3, 3, 3);
            var expected = Subsample(Ops.Conv2d(x, w, null, 1, 1), strides[0], strides[1]);
            cases.Add(Case($"strides {S(strides)}", OpKind.Conv2d, ConvAttrs(strides, new[] { 1, 1, 1, 1 }, new[] { 1, 1 }, 1), new[] { x, w }, expected, Tolerance.Accumulation, weightMask: 2));
        }

        // Per-axis strides, padding and dilations (the DSL's per-axis overload): (x, w, strides, pads [h, w], dilations, groups).
        foreach (var (xShape, wShape, strides, pads, dilations, groups) in new[]
        {
            (new[] { 1, 3, 17, 16 }, new[] { 4, 3, 3, 3 }, new[] { 2, 1 }, new[] { 1, 0 }, new[] { 1, 2 }, 1),
            (new[] { 2, 4, 9, 19 }, new[] { 6, 2, 3, 2 }, new[] { 1, 3 }, new[] { 0, 2 }, new[] { 2, 1 }, 2),
            (new[] { 1, 3, 16, 17 }, new[] { 3, 1, 3, 3 }, new[] { 2, 3 }, new[] { 1, 1 }, new[] { 3, 1 }, 3),  // depthwise
            (new[] { 1, 17, 7, 9 }, new[] { 5, 17, 1, 1 }, new[] { 1, 2 }, new[] { 0, 0 }, new[] { 1, 1 }, 1),   // 1x1, strided on W only
        })
        {
            var x = Rand(seed++, xShape);
            var w = Rand(seed++, wShape);
            var b = Rand(seed++, wShape[0]);
            var attrs = ConvAttrs(strides, new[] { pads[0], pads[1], pads[0], pads[1] }, dilations, groups);
            var expected = Ops.Conv2d(x, w, b, strides[0], strides[1], pads[0], pads[1], dilations[0], dilations[1], groups);
            string name = $"{S(xShape)} * {S(wShape)} strides {S(strides)} pads {S(pads)} dilations {S(dilations)} groups {groups}";
            cases.Add(Case(name, OpKind.Conv2d, attrs, new[] { x, w, b }, expected, Tolerance.Accumulation, weightMask: 6));
        }
        return cases;
    }

    /// <summary>ConvTranspose2d: strides, padding, output padding, dilation, groups, depthwise, 1x1, rectangular kernels,
    /// asymmetric pads and unequal output padding, per-axis strides, padding and dilations.</summary>
    public static List<KernelCase> ConvTranspose2d()
    {
        var cases = new List<KernelCase>();
        int seed = 1050;

        // Symmetric configurations the DSL expresses directly: (x, w, bias, stride, padding, outputPadding, dilation, groups).
        foreach (var (xShape, wShape, bias, stride, pad, outPad, dilation, groups) in new[]
        {
            (new[] { 1, 3, 5, 5 }, new[] { 3, 4, 3, 3 }, true, 2, 1, 1, 1, 1),
            (new[] { 2, 3, 4, 7 }, new[] { 3, 2, 3, 3 }, false, 1, 0, 0, 1, 1),
            (new[] { 1, 3, 5, 6 }, new[] { 3, 5, 3, 3 }, true, 1, 1, 0, 1, 1),   // stride 1: the row axpy
            (new[] { 1, 4, 5, 5 }, new[] { 4, 3, 3, 3 }, true, 2, 0, 1, 2, 2),   // grouped, dilated
            (new[] { 2, 3, 4, 4 }, new[] { 3, 1, 4, 4 }, false, 2, 1, 0, 1, 3),  // depthwise, the usual 2x upsampler
            (new[] { 1, 17, 3, 3 }, new[] { 17, 9, 1, 1 }, true, 1, 0, 0, 1, 1), // 1x1
            (new[] { 1, 2, 3, 3 }, new[] { 2, 2, 1, 1 }, false, 3, 0, 2, 1, 1),  // 1x1 with stride: zeros between
            (new[] { 1, 2, 3, 17 }, new[] { 2, 3, 1, 4 }, true, 2, 1, 1, 1, 1),  // rectangular kernel
            (new[] { 1, 2, 6, 5 }, new[] { 2, 2, 5, 5 }, false, 3, 4, 2, 2, 1),  // padding wider than some taps reach
            (new[] { 1, 1, 1, 1 }, new[] { 1, 1, 1, 1 }, true, 1, 0, 0, 1, 1),
        })
        {
            var x = Rand(seed++, xShape);
            var w = Rand(seed++, wShape);
            var b = bias ? Rand(seed++, wShape[1] * groups) : null;
            var operands = b is null ? new[] { x, w } : new[] { x, w, b };
            var attrs = ConvTransposeAttrs(new[] { stride, stride }, new[] { pad, pad, pad, pad }, new[] { outPad, outPad }, new[] { dilation, dilation }, groups);
            string name = $"{S(xShape)} * {S(wShape)} bias {bias} stride {stride} pad {pad} output padding {outPad} dilation {dilation} groups {groups}";
            cases.Add(Case(name, OpKind.ConvTranspose2d, attrs, operands, Ops.ConvTranspose2d(x, w, b, stride, pad, outPad, dilation, groups), Tolerance.Accumulation, weightMask: 6));
        }

        // Asymmetric pads [top, left, bottom, right] and unequal output padding: the reference crops an unpadded result.
        foreach (var (pads, outPad) in new[] { (new[] { 0, 1, 2, 0 }, new[] { 1, 0 }), (new[] { 2, 0, 1, 1 }, new[] { 0, 1 }) })
        {
            var x = Rand(seed++, 1, 3, 5, 6);
            var w = Rand(seed++, 3, 2, 3, 3);
            var b = Rand(seed++, 2);
            var full = Ops.ConvTranspose2d(x, w, b, 2, 0, 1);
            var expected = Ops.Slice(Ops.Slice(full, 2, pads[0], full.Shape[2] - 1 + outPad[0] - pads[2]), 3, pads[1], full.Shape[3] - 1 + outPad[1] - pads[3]);
            var attrs = ConvTransposeAttrs(new[] { 2, 2 }, pads, outPad, new[] { 1, 1 }, 1);
            cases.Add(Case($"pads {S(pads)} output padding {S(outPad)}", OpKind.ConvTranspose2d, attrs, new[] { x, w, b }, expected, Tolerance.Accumulation, weightMask: 6));
        }

        // Per-axis strides, padding, output padding and dilations: (x, w, strides, pads [h, w], output padding, dilations, groups).
        foreach (var (xShape, wShape, strides, pads, outPad, dilations, groups) in new[]
        {
            (new[] { 1, 3, 5, 6 }, new[] { 3, 2, 3, 3 }, new[] { 2, 1 }, new[] { 1, 0 }, new[] { 1, 0 }, new[] { 1, 1 }, 1),
            (new[] { 1, 4, 4, 5 }, new[] { 4, 3, 3, 2 }, new[] { 1, 3 }, new[] { 0, 1 }, new[] { 0, 2 }, new[] { 2, 1 }, 2),
            (new[] { 2, 3, 4, 4 }, new[] { 3, 1, 4, 3 }, new[] { 3, 2 }, new[] { 2, 0 }, new[] { 1, 1 }, new[] { 1, 3 }, 3),  // depthwise
            (new[] { 1, 9, 3, 4 }, new[] { 9, 5, 1, 1 }, new[] { 1, 2 }, new[] { 0, 0 }, new[] { 0, 1 }, new[] { 1, 1 }, 1),  // 1x1
        })
        {
            var x = Rand(seed++, xShape);
            var w = Rand(seed++, wShape);
            var b = Rand(seed++, wShape[1] * groups);
            var attrs = ConvTransposeAttrs(strides, new[] { pads[0], pads[1], pads[0], pads[1] }, outPad, dilations, groups);
            var expected = Ops.ConvTranspose2d(x, w, b, strides[0], strides[1], pads[0], pads[1], outPad[0], outPad[1], dilations[0], dilations[1], groups);
            string name = $"{S(xShape)} * {S(wShape)} strides {S(strides)} pads {S(pads)} output padding {S(outPad)} dilations {S(dilations)} groups {groups}";
            cases.Add(Case(name, OpKind.ConvTranspose2d, attrs, new[] { x, w, b }, expected, Tolerance.Accumulation, weightMask: 6));
        }
        return cases;
    }


    /// <summary>Resize: nearest (every rounding) and bilinear with every coordinate mode, up- and downsampling, sizes
    /// with their ratio as the scale and explicit scales that differ from it, a 1-pixel axis.</summary>
    public static List<KernelCase> Resize()
    {
        var cases = new List<KernelCase>();
        int seed = 1200;
        var geometries = new (int[] In, int H, int W, float ScaleH, float ScaleW)[]
        {
            (new[] { 2, 3, 5, 7 }, 10, 14, 0f, 0f),
            (new[] { 1, 2, 9, 8 }, 4, 3, 0f, 0f),
            (new[] { 1, 3, 4, 5 }, 10, 7, 2.5f, 1.5f),
            (new[] { 2, 1, 6, 1 }, 1, 3, 0f, 0f),
        };
        foreach (var (shape, h, w, scaleH, scaleW) in geometries)
        {
            var x = Rand(seed++, shape);
            foreach (var mode in new[] { ResizeMode.Nearest, ResizeMode.Linear })
            {
                foreach (var coordinates in Enum.GetValues<ResizeCoordinates>())
                {
                    var roundings = mode == ResizeMode.Nearest ? Enum.GetValues<ResizeNearest>() : new[] { ResizeNearest.RoundPreferFloor };
                    foreach (var nearest in roundings)
                    {
                        var attrs = Attrs(
                            Attr.OfInts(AttrNames.Shape, h, w),
                            Attr.OfInt(AttrNames.Mode, (long)mode),
                            Attr.OfInt(AttrNames.Coordinates, (long)coordinates),
                            Attr.OfInt(AttrNames.Nearest, (long)nearest),
                            Attr.OfFloat(AttrNames.ScaleH, scaleH > 0 ? scaleH : (float)h / shape[2]),
                            Attr.OfFloat(AttrNames.ScaleW, scaleW > 0 ? scaleW : (float)w / shape[3]));
                        cases.Add(Case($"{S(shape)} -> {h}x{w} {mode} {coordinates} {nearest}", OpKind.Resize, attrs, new[] { x },
                            Ops.Resize(x, h, w, mode, coordinates, nearest, scaleH, scaleW), Tolerance.Elementwise));
                    }
                }
            }
        }

        return cases;
    }


    /// <summary>Max/average pooling (both count_include_pad modes, rectangular windows, asymmetric padding) and GlobalAvgPool.</summary>
    public static List<KernelCase> Pools()
    {
        var cases = new List<KernelCase>();
        int seed = 1100;
        foreach (var (shape, kernel, stride, pad) in new[]
        {
            (new[] { 1, 3, 17, 17 }, 3, 2, 1),
            (new[] { 2, 3, 33, 17 }, 2, 2, 0),
            (new[] { 1, 1, 3, 3 }, 3, 1, 1),
            (new[] { 1, 3, 17, 33 }, 3, 1, 0),
            (new[] { 1, 17, 3, 1 }, 1, 1, 0),
            (new[] { 1, 3, 17, 17 }, 5, 3, 2),
        })
        {
            var x = Rand(seed++, -4f, 4f, shape);
            var attrs = Attrs(Attr.OfInts(AttrNames.Kernel, kernel, kernel), Attr.OfInts(AttrNames.Strides, stride, stride), Attr.OfInts(AttrNames.Pads, pad, pad, pad, pad));
            string name = $"{S(shape)} kernel {kernel} stride {stride} pad {pad}";
            cases.Add(Case(name, OpKind.MaxPool2d, attrs, new[] { x }, Ops.MaxPool2d(x, kernel, stride, pad), Tolerance.Exact));
            foreach (bool include in new[] { true, false })
            {
                var avgAttrs = attrs.With(Attr.OfInt(AttrNames.CountIncludePad, include ? 1L : 0L));
                cases.Add(Case(name + $" count_include_pad {include}", OpKind.AvgPool2d, avgAttrs, new[] { x }, Ops.AvgPool2d(x, kernel, stride, pad, include), Tolerance.Accumulation));
            }
        }

        // Rectangular kernels, strides and padding (the DSL's kernelH/kernelW overloads).
        foreach (var (shape, kernel, stride, pad) in new[]
        {
            (new[] { 1, 3, 5, 16 }, new[] { 1, 2 }, new[] { 1, 2 }, new[] { 0, 0 }),
            (new[] { 2, 2, 17, 9 }, new[] { 3, 2 }, new[] { 2, 1 }, new[] { 1, 1 }),
            (new[] { 1, 3, 9, 17 }, new[] { 2, 5 }, new[] { 1, 3 }, new[] { 0, 2 }),
        })
        {
            var x = Rand(seed++, -4f, 4f, shape);
            var attrs = Attrs(Attr.OfInts(AttrNames.Kernel, kernel), Attr.OfInts(AttrNames.Strides, stride), Attr.OfInts(AttrNames.Pads, pad[0], pad[1], pad[0], pad[1]));
            string name = $"{S(shape)} kernel {S(kernel)} stride {S(stride)} pad {S(pad)}";
            cases.Add(Case(name, OpKind.MaxPool2d, attrs, new[] { x }, Ops.MaxPool2d(x, kernel[0], kernel[1], stride[0], stride[1], pad[0], pad[1]), Tolerance.Exact));
            foreach (bool include in new[] { true, false })
            {
                var avgAttrs = attrs.With(Attr.OfInt(AttrNames.CountIncludePad, include ? 1L : 0L));
                cases.Add(Case(name + $" count_include_pad {include}", OpKind.AvgPool2d, avgAttrs, new[] { x },
                    Ops.AvgPool2d(x, kernel[0], kernel[1], stride[0], stride[1], pad[0], pad[1], include), Tolerance.Accumulation));
            }
        }

        // Asymmetric padding: max pads with -infinity, an include-pad average with zeros divided by the kernel area.
        foreach (var pads in new[] { new[] { 1, 0, 0, 1 }, new[] { 0, 1, 1, 0 } })
        {
            var x = Rand(seed++, -4f, 4f, 1, 3, 17, 17);
            var attrs = Attrs(Attr.OfInts(AttrNames.Kernel, 3, 3), Attr.OfInts(AttrNames.Strides, 2, 2), Attr.OfInts(AttrNames.Pads, pads));
            cases.Add(Case($"pads {S(pads)}", OpKind.MaxPool2d, attrs, new[] { x },
                Ops.MaxPool2d(Pad(x, pads[0], pads[1], pads[2], pads[3], float.NegativeInfinity), 3, 2), Tolerance.Exact));
            cases.Add(Case($"pads {S(pads)} count_include_pad", OpKind.AvgPool2d, attrs.With(Attr.OfInt(AttrNames.CountIncludePad, 1L)), new[] { x },
                Ops.AvgPool2d(Pad(x, pads[0], pads[1], pads[2], pads[3], 0f), 3, 2), Tolerance.Accumulation));
        }

        foreach (var shape in new[] { new[] { 2, 3, 17, 33 }, new[] { 1, 1, 1, 1 }, new[] { 1, 17, 3, 1 } })
        {
            var x = Rand(seed++, shape);
            cases.Add(Case(S(shape), OpKind.GlobalAvgPool, Aot.Generator.IR.Attrs.None, new[] { x }, Ops.GlobalAvgPool(x), Tolerance.Accumulation));
        }
        return cases;
    }

    /// <summary>LSTM: each result (Y, Y_h, Y_c) with and without B and initial states, batch 1 and 3, one step and
    /// several, hidden sizes around the GEMM panel width, clip; W and R as weights.</summary>
    public static List<KernelCase> Lstm()
    {
        var cases = new List<KernelCase>();
        int seed = 1300;
        foreach (var (seq, batch, input, hidden, bias, initial, clip) in new[]
        {
            (1, 1, 3, 2, false, false, 0f),
            (5, 1, 7, 8, true, false, 0f),
            (4, 3, 5, 6, true, true, 0f),
            (3, 2, 4, 3, false, true, 0f),
            (6, 2, 16, 33, true, true, 0.5f),
        })
        {
            var x = Rand(seed++, -1f, 1f, seq, batch, input);
            var w = Rand(seed++, -0.6f, 0.6f, 1, 4 * hidden, input);
            var r = Rand(seed++, -0.6f, 0.6f, 1, 4 * hidden, hidden);
            var b = bias ? Rand(seed++, -0.5f, 0.5f, 1, 8 * hidden) : null;
            var h0 = initial ? Rand(seed++, -1f, 1f, 1, batch, hidden) : null;
            var c0 = initial ? Rand(seed++, -1f, 1f, 1, batch, hidden) : null;
            var operands = new[] { x, w, r, b, h0, c0 }.OfType<Tensor>().ToArray();
            foreach (var output in new[] { LstmOutput.Sequence, LstmOutput.LastHidden, LstmOutput.LastCell })
            {
                var attrs = Attrs(
                    Attr.OfInt(AttrNames.Output, (long)output),
                    Attr.OfFloat(AttrNames.Clip, clip),
                    Attr.OfInt(AttrNames.Optional, LstmOperands.Mask(bias, initial, initial)));
                string name = $"seq {seq} batch {batch} input {input} hidden {hidden}{(bias ? " B" : "")}{(initial ? " initial" : "")}{(clip > 0 ? " clip" : "")} {output}";
                cases.Add(Case(name, OpKind.Lstm, attrs, operands, Ops.Lstm(x, w, r, b, h0, c0, output, clip), Tolerance.Accumulation, weightMask: 0b110));
            }
        }

        return cases;
    }
}
