using Aot.Onnx;
using Aot.Tests.Onnx;
using static Aot.Tests.Onnx.OnnxAttr;

namespace Onnx.Tests;

/// <summary>Unsupported models are <see cref="OnnxUnsupportedException"/>s naming the node, op and value; malformed
/// files are <see cref="OnnxFormatException"/>s naming the field and offset; nothing else ever escapes.</summary>
public class RejectionTests
{
    private static readonly OnnxImportOptions Options = new() { ClassName = "Ns.M" };

    private static byte[] Model(Action<OnnxGraph> build, int opset = 17)
    {
        var g = new OnnxGraph("g");
        build(g);
        return g.ToModel(opset);
    }

    private static string Unsupported(byte[] model) => Assert.Throws<OnnxUnsupportedException>(() => OnnxImporter.Import(model, Options)).Message;

    private static string Malformed(byte[] model) => Assert.Throws<OnnxFormatException>(() => OnnxImporter.Import(model, Options)).Message;

    /// <summary>A small valid model with nodes, attributes and initializers: the base of the corruption tests.</summary>
    private static byte[] Valid() => Model(g =>
    {
        var h = g.Op("Conv", new[] { g.Input("x", 1, 2, 5, 5), g.Initializer("w", new float[2 * 2 * 9], 2, 2, 3, 3) }, List("pads", 1, 1, 1, 1), Str("auto_pad", "NOTSET"));
        var f = g.Op("Reshape", h, g.Int64s(1, -1));
        g.Output(g.Op("Gemm", new[] { f, g.Initializer("fc", new float[3 * 50], 3, 50) }, Int("transB", 1), Float("alpha", 0.5f)), 1, 3);
    });

    /// <summary>A second base for the corruption tests: the ops of the second slice (their int inputs and attributes).</summary>
    private static byte[] ValidComposite() => Model(g =>
    {
        var x = g.Input("x", 1, 2, 6, 6);
        var conv = g.Op("Conv", new[] { x, g.Initializer("w", new float[3 * 2 * 9], 3, 2, 3, 3) }, List("pads", 0, 1, 1, 1));
        var bn = g.Op("BatchNormalization", new[] { conv }.Concat(new[] { "s", "b", "m", "v" }.Select(n => g.Initializer(n, new[] { 1f, 1f, 1f }, 3))).ToArray());
        var clip = g.Op("Clip", new[] { bn, g.Scalar(0f), g.Scalar(6f) });
        var padded = g.Op("Pad", new[] { clip, g.Int64s(0, 0, 1, 0, 0, 0, 0, 1) }, Str("mode", "reflect"));
        var sliced = g.Op("Slice", new[] { padded, g.Int64s(1, -5), g.Int64s(3, long.MaxValue), g.Int64s(1, -1), g.Int64s(1, 2) });
        g.Node("Split", new[] { sliced, g.Int64s(1, 1) }, new[] { "left", "right" }, Int("axis", 1));
        var pooled = g.Op("MaxPool", "left", List("kernel_shape", 2, 2), List("strides", 2, 2), Int("ceil_mode", 1));
        g.Output(g.Op("ReduceMean", new[] { g.Op("LeakyRelu", pooled, Float("alpha", 0.1f)), g.Int64s(2, 3) }, Int("keepdims", 0)));
    }, opset: 18);

    public static IEnumerable<object[]> BaseModels => new[] { new object[] { "conv" }, new object[] { "composite" } };

    private static byte[] BaseModel(string name) => name == "conv" ? Valid() : ValidComposite();

    [Fact]
    public void TheCompositeBaseModelImports() => Assert.Contains("ReduceMean(", OnnxImporter.Import(ValidComposite(), Options).Source);

    [Fact]
    public void TheValidBaseModelImports() => Assert.Contains("Conv2d(x, W!, padding: 1)", OnnxImporter.Import(Valid(), Options).Source);

    [Fact]
    public void UnknownOperatorNamesNodeAndOp()
    {
        string message = Unsupported(Model(g => g.Output(g.Op("Hardmax", g.Input("x", 2, 3)))));
        Assert.Contains("'n0_Hardmax'", message);
        Assert.Contains("operator 'Hardmax' is not supported", message);
    }

    [Fact]
    public void UnsupportedAttributeValueNamesIt()
    {
        string message = Unsupported(Model(g => g.Output(g.Op("AveragePool", g.Input("x", 1, 1, 5, 5), List("kernel_shape", 3, 3), List("pads", 0, 1, 1, 1)))));
        Assert.Contains("(AveragePool)", message);
        Assert.Contains("'pads' = [0, 1, 1, 1]", message);
    }

    [Fact]
    public void UnknownAttributeIsNotIgnored()
    {
        string message = Unsupported(Model(g => g.Output(g.Op("Relu", g.Input("x", 2), Int("alpha", 1)))));
        Assert.Contains("attribute 'alpha' is not supported", message);
    }

    [Fact]
    public void CeilModeThatChangesTheSizeIsRejected()
    {
        string message = Unsupported(Model(g => g.Output(g.Op("AveragePool", g.Input("x", 1, 1, 5, 5), List("kernel_shape", 2, 2), List("strides", 2, 2), Int("ceil_mode", 1)))));
        Assert.Contains("ceil_mode 1", message);
    }

    [Fact]
    public void ThreeDimensionalConvIsRejected() =>
        Assert.Contains("only 1-D and 2-D convolutions", Unsupported(Model(g => g.Output(g.Op("Conv", g.Input("x", 1, 1, 3, 3, 3), g.Initializer("w", new float[8], 1, 1, 2, 2, 2))))));

    [Fact]
    public void ThreeDimensionalConvTransposeIsRejected() =>
        Assert.Contains("only 1-D and 2-D transposed convolutions", Unsupported(Model(g => g.Output(g.Op("ConvTranspose", g.Input("x", 1, 1, 3, 3, 3), g.Initializer("w", new float[8], 1, 1, 2, 2, 2))))));

    [Fact]
    public void ConvTransposeWithUnequalStridesUsesThePerAxisOverload() =>
        Assert.Contains("ConvTranspose2d(x, W!, null, 1, 2, 0, 0, 0, 0, 1, 1)",
            OnnxImporter.Import(Model(g => g.Output(g.Op("ConvTranspose", new[] { g.Input("x", 1, 1, 3, 3), g.Initializer("w", new float[4], 1, 1, 2, 2) }, List("strides", 1, 2)))), Options).Source);

    [Fact]
    public void ConvWithAZeroStrideIsMalformed() =>
        Assert.Contains("strides and dilations must be positive",
            Malformed(Model(g => g.Output(g.Op("Conv", new[] { g.Input("x", 1, 1, 3, 3), g.Initializer("w", new float[4], 1, 1, 2, 2) }, List("strides", 1, 0))))));

    [Theory]
    [InlineData(6)]
    [InlineData(22)]
    public void OpsetOutOfRangeIsNamed(int opset) =>
        Assert.Contains($"opset {opset}", Unsupported(Model(g => g.Output(g.Op("Relu", g.Input("x", 2))), opset)));

    /// <summary>An LSTM node (seq 3, batch 2, input 4, hidden 2) with extra inputs (by position, "" skips one) and attributes.</summary>
    private static byte[] Lstm(Func<OnnxGraph, string[]> extraInputs, params OnnxAttr[] attrs) => Model(g =>
    {
        var inputs = new[] { g.Input("x", 3, 2, 4), g.Initializer("w", new float[8 * 4], 1, 8, 4), g.Initializer("r", new float[8 * 2], 1, 8, 2) };
        g.Node("LSTM", inputs.Concat(extraInputs(g)).ToArray(), new[] { "y" }, attrs);
        g.Output("y", 3, 1, 2, 2);
    }, opset: 14);

    public static TheoryData<string, string> LstmRejections => new()
    {
        { "direction", "direction 'bidirectional' is not supported (only forward)" },
        { "reverse", "direction 'reverse' is not supported (only forward)" },
        { "activations", "activations [Relu, Tanh, Tanh] are not supported; only the defaults [Sigmoid, Tanh, Tanh]" },
        { "activation_alpha", "attribute 'activation_alpha' [0.5] is not supported" },
        { "input_forget", "input_forget 1 (coupled input and forget gates) is not supported" },
        { "peepholes", "peephole weights (input P 'p') are not supported" },
        { "sequence_lens", "sequence_lens [3, 2] is not supported; only every sequence the full length 3" },
        { "sequence_lens_input", "sequence_lens 'lens' is computed at run time" },
        { "clip", "clip -1 is not supported; it must be positive and finite" },
    };

    [Theory]
    [MemberData(nameof(LstmRejections))]
    public void LstmFeaturesBeyondTheForwardDefaultAreNamed(string feature, string expected)
    {
        string[] None(OnnxGraph g) => Array.Empty<string>();
        string Lengths(OnnxGraph g, params long[] v) => g.Initializer("lens", OnnxTensor.Of(v, v.Length) with { Int32 = true });
        byte[] model = feature switch
        {
            "direction" => Lstm(None, Str("direction", "bidirectional")),
            "reverse" => Lstm(None, Str("direction", "reverse")),
            "activations" => Lstm(None, StrList("activations", "Relu", "Tanh", "Tanh")),
            "activation_alpha" => Lstm(None, FloatList("activation_alpha", 0.5f)),
            "input_forget" => Lstm(None, Int("input_forget", 1)),
            "peepholes" => Lstm(g => new[] { "", "", "", "", g.Initializer("p", new float[6], 1, 6) }),
            "sequence_lens" => Lstm(g => new[] { "", Lengths(g, 3, 2) }),
            "sequence_lens_input" => Lstm(g => new[] { "", g.Input("lens", 2) }),
            _ => Lstm(None, Float("clip", -1f)),
        };
        string message = Unsupported(model);
        Assert.Contains("(LSTM)", message);
        Assert.Contains(expected, message);
    }

    [Fact]
    public void SymbolicDimensionNeedsAValue()
    {
        byte[] model = Model(g => g.Output(g.Op("Relu", g.SymbolicInput("x", new[] { 0, 4 }, new[] { "batch", null }))));
        Assert.Contains("symbolic ('batch')", Unsupported(model));
        var import = OnnxImporter.Import(model, new OnnxImportOptions { ClassName = "M", Dimensions = new Dictionary<string, int> { ["batch"] = 3 } });
        Assert.Contains("[Input(3, 4)] Tensor x", import.Source);
        Assert.DoesNotContain("namespace", import.Source);
    }

    [Fact]
    public void ComputedShapeIsRejected()
    {
        string message = Unsupported(Model(g => g.Output(g.Op("Reshape", g.Input("x", 2, 3), g.Input("s", 2)))));
        Assert.Contains("'s' is computed at run time", message);
    }

    [Fact]
    public void SeveralOutputsAreRejected() =>
        Assert.Contains("2 outputs", Unsupported(Model(g =>
        {
            var x = g.Input("x", 2);
            g.Output(g.Op("Relu", x));
            g.Output(g.Op("Neg", x));
        })));

    [Fact]
    public void OneOfSeveralOutputsIsImportedWithItsNodesOnly()
    {
        var model = Model(g =>
        {
            var x = g.Input("x", 2);
            g.Output(g.Op("Relu", x));
            g.Output(g.Op("Neg", g.Op("Exp", x)));
        });
        var result = OnnxImporter.Import(model, new OnnxImportOptions { ClassName = "Ns.M", Output = "neg2" });
        Assert.DoesNotContain("Relu", result.Source);
        Assert.Contains("Neg(", result.Source);
        Assert.Contains("no output 'zz'", Assert.Throws<OnnxUnsupportedException>(() => OnnxImporter.Import(model, new OnnxImportOptions { ClassName = "Ns.M", Output = "zz" })).Message);
    }

    [Fact]
    public void IntegerInputsOnlyFlowThroughExactOps()
    {
        // Div truncates on integers: not computed with float semantics.
        string div = Unsupported(Model(g => g.Output(g.Op("Cast", g.Op("Div", g.Int64Input("ids", 4), g.Int64Input("d", 4)), Int("to", 1)))));
        Assert.Contains("the integer tensor 'ids'", div);
        Assert.Contains("operand of Div", div);
        // A float tensor cast to an integer type would truncate.
        Assert.Contains("cast of a run-time float tensor to Int64", Unsupported(Model(g => g.Output(g.Op("Gather", g.Initializer("e", new float[8], 4, 2), g.Op("Cast", g.Input("x", 3), Int("to", 7)))))));
    }

    [Fact]
    public void UsedSecondOutputIsRejected()
    {
        string message = Unsupported(Model(g =>
        {
            g.Node("MaxPool", new[] { g.Input("x", 1, 1, 4, 4) }, new[] { "y", "indices" }, List("kernel_shape", 2, 2));
            g.Output("indices");
        }));
        Assert.Contains("output 1 ('indices') is not supported", message);
    }

    [Fact]
    public void MissingValueIsMalformed() =>
        Assert.Contains("value 'nope' is not", Malformed(Model(g => g.Output(g.Op("Add", g.Input("x", 2), "nope")))));

    [Fact]
    public void ShortRawDataIsMalformed()
    {
        var t = OnnxTensor.Of(new float[5], 2, 3);
        string message = Malformed(Model(g => g.Output(g.Op("Add", g.Input("x", 2, 3), g.Initializer("w", t)))));
        Assert.Contains("raw_data has 20 bytes", message);
    }

    [Fact]
    public void WrongOutputShapeIsMalformed() =>
        Assert.Contains("declared [2, 4]", Malformed(Model(g => g.Output(g.Op("Relu", g.Input("x", 2, 3)), 2, 4))));

    [Theory]
    [MemberData(nameof(BaseModels))]
    public void EveryTruncationIsAFormatOrUnsupportedError(string baseModel)
    {
        byte[] model = BaseModel(baseModel);
        for (int length = 0; length < model.Length; length++)
        {
            var prefix = model.AsMemory(0, length);
            var e = Record.Exception(() => OnnxImporter.Import(prefix, Options));
            Assert.True(e is OnnxException, $"truncated to {length} of {model.Length} bytes: {e?.GetType().Name ?? "no exception"}: {e?.Message}");
        }

        Assert.Contains("byte offset", Malformed(model.AsSpan(0, model.Length / 2).ToArray()));
    }

    [Theory]
    [MemberData(nameof(BaseModels))]
    public void CorruptedBytesNeverEscapeAsAnotherException(string baseModel)
    {
        byte[] model = BaseModel(baseModel);
        var rng = new Random(12345);
        foreach (byte value in new byte[] { 0x00, 0x07, 0x7F, 0x80, 0xFF })
        {
            for (int i = 0; i < model.Length; i++)
            {
                var copy = (byte[])model.Clone();
                copy[i] = value == 0x07 ? (byte)rng.Next(256) : value;
                var e = Record.Exception(() => OnnxImporter.Import(copy, Options));
                Assert.True(e is null or OnnxException, $"byte {i} set to 0x{copy[i]:X2}: {e?.GetType().Name}: {e}");
            }
        }
    }

    [Fact]
    public void WrongWireTypeNamesTheField()
    {
        // ModelProto field 7 (graph) written as a varint instead of a message.
        byte[] model = { 0x08, 0x08, 0x38, 0x01 };
        string message = Malformed(model);
        Assert.Contains("field 7 (graph)", message);
        Assert.Contains("wire type 0", message);
        Assert.Contains("byte offset 2", message);
    }

    [Fact]
    public void NoGraphIsMalformed() => Assert.Contains("no graph", Malformed(new byte[] { 0x08, 0x08 }));

    private static string[] BatchNormParams(OnnxGraph g, int channels) =>
        new[] { "s", "b", "m", "v" }.Select(name => g.Initializer(name, Enumerable.Repeat(1f, channels).ToArray(), channels)).ToArray();

    [Fact]
    public void NegativeSliceStepOnARunTimeTensorIsRejected()
    {
        string message = Unsupported(Model(g => g.Output(g.Op("Slice", new[] { g.Input("x", 4), g.Int64s(-1), g.Int64s(-5), g.Int64s(0), g.Int64s(-1) }))));
        Assert.Contains("(Slice)", message);
        Assert.Contains("steps [-1]: negative steps", message);
    }

    [Fact]
    public void ComputedSliceBoundsAreRejected() =>
        Assert.Contains("starts 's' is computed at run time", Unsupported(Model(g => g.Output(g.Op("Slice", new[] { g.Input("x", 4), g.Input("s", 1), g.Int64s(3) })))));

    [Fact]
    public void EmptySliceIsRejected() =>
        Assert.Contains("is empty", Unsupported(Model(g => g.Output(g.Op("Slice", new[] { g.Input("x", 4, 2), g.Int64s(3), g.Int64s(1) })))));

    [Fact]
    public void BatchNormalizationInTrainingModeIsRejected()
    {
        string message = Unsupported(Model(g => g.Output(g.Op("BatchNormalization", new[] { g.Input("x", 1, 2, 3, 3) }.Concat(BatchNormParams(g, 2)).ToArray(), Int("training_mode", 1))), opset: 15));
        Assert.Contains("(BatchNormalization)", message);
        Assert.Contains("'training_mode' = 1", message);
    }

    [Fact]
    public void BatchNormalizationWithRunTimeStatisticsIsRejected()
    {
        string message = Unsupported(Model(g =>
        {
            var p = BatchNormParams(g, 2);
            p[2] = g.Input("mean", 2);
            g.Output(g.Op("BatchNormalization", new[] { g.Input("x", 1, 2, 3, 3) }.Concat(p).ToArray()));
        }));
        Assert.Contains("must be constants", message);
    }

    [Fact]
    public void SplitNumOutputsBeforeOpset18IsNotIgnored()
    {
        string message = Unsupported(Model(g =>
        {
            g.Node("Split", new[] { g.Input("x", 4) }, new[] { "a", "b" }, Int("num_outputs", 2));
            g.Output("a");
        }, opset: 13));
        Assert.Contains("attribute 'num_outputs' is not supported", message);
    }

    [Fact]
    public void UnevenSplitWithoutSizesIsMalformed()
    {
        string message = Malformed(Model(g =>
        {
            g.Node("Split", new[] { g.Input("x", 5) }, new[] { "a", "b" });
            g.Output("a");
        }));
        Assert.Contains("does not split into 2 equal parts", message);
    }

    [Fact]
    public void NaNClipBoundIsRejected() =>
        Assert.Contains("NaN", Unsupported(Model(g => g.Output(g.Op("Clip", g.Input("x", 3), Float("min", float.NaN))), opset: 9)));

    [Fact]
    public void CastOfARunTimeTensorToAnIntegerTypeIsRejected()
    {
        string message = Unsupported(Model(g => g.Output(g.Op("Cast", g.Op("Cast", g.Input("x", 3), Int("to", 7)), Int("to", 1)))));
        Assert.Contains("(Cast)", message);
        Assert.Contains("cast of a run-time float tensor to Int64 is not supported", message);
    }

    [Fact]
    public void IfWithARunTimeConditionAndBranchesOfDifferentShapesIsRejected()
    {
        string message = Unsupported(Model(g =>
        {
            var x = g.Input("x", 2, 3);
            var then = new OnnxGraph("then", "t_");
            then.Output(then.Op("Relu", x));
            var otherwise = new OnnxGraph("else", "e_");
            otherwise.Output(otherwise.Op("ReduceSum", x, List("axes", 1), Int("keepdims", 0)));
            g.Node("If", new[] { g.Op("Greater", g.Op("ReduceMean", x, Int("keepdims", 0)), g.Scalar(0f)) }, new[] { "y" }, Graph("then_branch", then), Graph("else_branch", otherwise));
            g.Output("y");
        }, opset: 11));
        Assert.Contains("'n2_If' (If)", message);
        Assert.Contains("is [2, 3] in then_branch and [2] in else_branch", message);
    }

    [Fact]
    public void UnknownGeluApproximationIsNamed() =>
        Assert.Contains("'approximate' = 'erf2'", Unsupported(Model(g => g.Output(g.Op("Gelu", g.Input("x", 3), Str("approximate", "erf2"))), opset: 20)));
}
