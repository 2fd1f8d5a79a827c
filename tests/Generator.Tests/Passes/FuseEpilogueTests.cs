using System.Text;
using Aot.Dsl;
using Aot.Generator;
using Aot.Generator.IR;
using Aot.Generator.Passes;
using Aot.Tests.Shared;
using Generator.Tests.Backend;
using static Aot.Tests.Shared.CaseKit;
using DType = Aot.Generator.IR.DType;
using IrAttrs = Aot.Generator.IR.Attrs;

namespace Generator.Tests.Passes;

/// <summary>
/// FuseEpilogue: which chains become one product node (structure of the output IR), and that the compiled result is
/// the eager one with the pass on and off (GEMV rows, narrow panels, every activation, residuals before and after the
/// activation, convolutions with groups, an unpacked MatMul through the in-place fallback).
/// </summary>
public class FuseEpilogueTests
{
    private static readonly IrAttrs GemmT = Attrs(Attr.OfFloat(AttrNames.Alpha, 1f), Attr.OfFloat(AttrNames.Beta, 1f), Attr.OfInt(AttrNames.TransA, 0L), Attr.OfInt(AttrNames.TransB, 1L));

    /// <summary>The frontend's graph through the shared passes and the CPU passes, <paramref name="disabled"/> skipped.</summary>
    internal static Graph Optimize(Graph graph, params string[] disabled) =>
        PassPipeline.Run(graph, new HashSet<string>(disabled), null, CancellationToken.None, PassPipeline.CpuPasses);

    private static int N(GraphBuilder g, OpKind op, IrAttrs attrs, params int[] inputs)
    {
        var result = g.TryAdd(op, inputs, attrs, out int id);
        if (result.Error is { } e) throw new InvalidOperationException(op + ": " + e.Message);
        return id;
    }

    [Fact]
    public void LinearBiasAndReluBecomeOnePackedGemm()
    {
        var g = new GraphBuilder("G");
        int x = g.AddInput("x", new TensorType(DType.Float32, 1, 40));
        int w = g.AddWeight("w", new TensorType(DType.Float32, 24, 40));
        int b = g.AddWeight("b", new TensorType(DType.Float32, 24));
        int y = N(g, OpKind.Relu, IrAttrs.None, N(g, OpKind.Gemm, GemmT, x, w, b));
        g.AddOutput(y);

        var graph = Optimize(g.Build());

        Assert.Empty(IrVerifier.Verify(graph));
        var gemm = Assert.Single(graph.Nodes, n => n.Op == OpKind.PackedGemm);
        Assert.DoesNotContain(graph.Nodes, n => n.Op is OpKind.Relu or OpKind.Add);
        Assert.Equal(1L, gemm.Attrs.Int(Epilogue.Operands));
        Assert.Equal(new[] { x, b }, new[] { gemm.Inputs[0], gemm.Inputs[2] }); // A, packed B, then the bias as r1
        Assert.Equal(3, gemm.Inputs.Count);
        Assert.Equal(new[] { "r2 = Add(r0, r1)", "r3 = Relu(r2)" }, gemm.Body.Select(Print));
        Assert.Equal(graph.Outputs[0], gemm.Output);
    }

    [Fact]
    public void ConvolutionBiasMovesToAChannelOperandAndTheActivationFollows()
    {
        var g = new GraphBuilder("G");
        int x = g.AddInput("x", new TensorType(DType.Float32, 1, 3, 8, 8));
        int w = g.AddWeight("w", new TensorType(DType.Float32, 8, 3, 3, 3));
        int b = g.AddWeight("b", new TensorType(DType.Float32, 8));
        int conv = N(g, OpKind.Conv2d, ConvAttrs(new[] { 1, 1 }, new[] { 1, 1, 1, 1 }, new[] { 1, 1 }, 1), x, w, b);
        g.AddOutput(N(g, OpKind.Gelu, Attrs(Attr.OfInt(AttrNames.Mode, 0L)), conv));

        var graph = Optimize(g.Build(), nameof(LowerSmallConv)); // a convolution this small would run direct

        Assert.Empty(IrVerifier.Verify(graph));
        var convGemm = Assert.Single(graph.Nodes, n => n.Op == OpKind.ConvGemm);
        Assert.DoesNotContain(graph.Nodes, n => n.Op == OpKind.Gelu);
        var bias = graph.Nodes.Single(n => n.Output == convGemm.Inputs[2]);
        Assert.Equal(OpKind.Reshape, bias.Op);
        Assert.Equal(new[] { 8, 1, 1 }, graph.TypeOf(bias.Output).ShapeArray());
        Assert.Equal(new[] { "r2 = Add(r0, r1)", "r3 = Gelu(r2) {mode=0}" }, convGemm.Body.Select(Print));
    }

    [Fact]
    public void AResidualBehindReshapesIsReshapedToTheProductAndTheResultBack()
    {
        // The transformer's x + Linear(h): the product is [7, 16], the residual [1, 7, 16].
        var g = new GraphBuilder("G");
        int x = g.AddInput("x", new TensorType(DType.Float32, 1, 7, 16));
        int w = g.AddWeight("w", new TensorType(DType.Float32, 16, 16));
        int b = g.AddWeight("b", new TensorType(DType.Float32, 16));
        int h = N(g, OpKind.Reshape, Attrs(Attr.OfInts(AttrNames.Shape, 7, 16)), x);
        int lin = N(g, OpKind.Reshape, Attrs(Attr.OfInts(AttrNames.Shape, 1, 7, 16)), N(g, OpKind.Gemm, GemmT, h, w, b));
        g.AddOutput(N(g, OpKind.Add, IrAttrs.None, x, lin));

        var graph = Optimize(g.Build());

        Assert.Empty(IrVerifier.Verify(graph));
        var gemm = Assert.Single(graph.Nodes, n => n.Op == OpKind.PackedGemm);
        Assert.DoesNotContain(graph.Nodes, n => n.Op == OpKind.Add);
        Assert.Equal(2L, gemm.Attrs.Int(Epilogue.Operands));
        Assert.Equal(new[] { "r3 = Add(r0, r1)", "r4 = Add(r3, r2)" }, gemm.Body.Select(Print));
        var residual = graph.Nodes.Single(n => n.Output == gemm.Inputs[3]);
        Assert.Equal(OpKind.Reshape, residual.Op);
        Assert.Equal(x, residual.Inputs[0]);
        var output = graph.Nodes.Single(n => n.Output == graph.Outputs[0]);
        Assert.Equal(OpKind.Reshape, output.Op);
        Assert.Equal(gemm.Output, output.Inputs[0]);
    }

    [Fact]
    public void ChainsStopAtSharedValuesGraphOutputsAndOpsOutOfOrder()
    {
        var g = new GraphBuilder("G");
        int x = g.AddInput("x", new TensorType(DType.Float32, 3, 40));
        int w = g.AddWeight("w", new TensorType(DType.Float32, 24, 40));
        int b = g.AddWeight("b", new TensorType(DType.Float32, 24));
        // Read twice: the product (with its own bias) stays materialized, the Relu and Sigmoid stay separate.
        int shared = N(g, OpKind.Gemm, GemmT, x, w, b);
        int twice = N(g, OpKind.Add, IrAttrs.None, N(g, OpKind.Relu, IrAttrs.None, shared), N(g, OpKind.Sigmoid, IrAttrs.None, shared));
        // A bias after the activation is not the kernel's order: the Relu fuses, the Add stays.
        int late = N(g, OpKind.Add, IrAttrs.None, N(g, OpKind.Relu, IrAttrs.None, N(g, OpKind.Gemm, GemmT, x, w, b)), b);
        // A graph output in the middle: the Tanh after it stays separate.
        int exposed = N(g, OpKind.Gemm, GemmT, x, w, b);
        int tanh = N(g, OpKind.Tanh, IrAttrs.None, exposed);
        g.AddOutput(N(g, OpKind.Add, IrAttrs.None, N(g, OpKind.Add, IrAttrs.None, twice, late), tanh));
        g.AddOutput(exposed);

        // FuseElementwise would merge these elementwise ops into one Fused node: run the CPU passes alone.
        var graph = new FuseEpilogue().Run(new PackGemmWeights().Run(g.Build()));

        Assert.Empty(IrVerifier.Verify(graph));
        var gemms = graph.Nodes.Where(n => n.Op == OpKind.PackedGemm).ToArray();
        Assert.Equal(3, gemms.Length);
        Assert.Equal(new[] { "r2 = Add(r0, r1)" }, gemms[0].Body.Select(Print));
        Assert.Equal(new[] { "r2 = Add(r0, r1)", "r3 = Relu(r2)" }, gemms.Single(n => n.Body.Count == 2).Body.Select(Print));
        Assert.Single(graph.Nodes, n => n.Op == OpKind.Sigmoid);
        Assert.Single(graph.Nodes, n => n.Op == OpKind.Relu);
        Assert.Single(graph.Nodes, n => n.Op == OpKind.Tanh);
        Assert.Contains(graph.Nodes, n => n.Op == OpKind.Add && n.Inputs.Contains(b));
    }

    [Fact]
    public void AFusedResidualAndActivationIsAbsorbedWhole()
    {
        // relu(Linear(x) + skip): FuseElementwise makes the Add and the Relu one Fused node, which fits the kernel.
        var g = new GraphBuilder("G");
        int x = g.AddInput("x", new TensorType(DType.Float32, 3, 40));
        int skip = g.AddInput("skip", new TensorType(DType.Float32, 3, 24));
        int w = g.AddWeight("w", new TensorType(DType.Float32, 24, 40));
        int b = g.AddWeight("b", new TensorType(DType.Float32, 24));
        g.AddOutput(N(g, OpKind.Relu, IrAttrs.None, N(g, OpKind.Add, IrAttrs.None, skip, N(g, OpKind.Gemm, GemmT, x, w, b))));
        // exp(Linear2(x)) * 2 + skip is fused too, but is no kernel epilogue: it stays a Fused node. (Its own weight: the
        // same Gemm twice would be computed once.)
        int w2 = g.AddWeight("w2", new TensorType(DType.Float32, 24, 40));
        int other = N(g, OpKind.Gemm, GemmT, x, w2, b);
        int two = N(g, OpKind.Constant, Attrs(Attr.OfFloat(AttrNames.Value, 2f)));
        g.AddOutput(N(g, OpKind.Add, IrAttrs.None, N(g, OpKind.Mul, IrAttrs.None, N(g, OpKind.Exp, IrAttrs.None, other), two), skip));

        var graph = Optimize(g.Build());

        Assert.Empty(IrVerifier.Verify(graph));
        var fused = graph.Nodes.Single(n => Epilogue.Has(n) && n.Body.Count == 3);
        Assert.Equal(new[] { "r3 = Add(r0, r1)", "r4 = Add(r3, r2)", "r5 = Relu(r4)" }, fused.Body.Select(Print));
        Assert.Equal(skip, fused.Inputs[3]);
        Assert.Single(graph.Nodes, n => n.Op == OpKind.Fused);
    }

    [Fact]
    public void ThePassIsSwitchedOffByName()
    {
        var g = new GraphBuilder("G");
        int x = g.AddInput("x", new TensorType(DType.Float32, 1, 40));
        int w = g.AddWeight("w", new TensorType(DType.Float32, 24, 40));
        int b = g.AddWeight("b", new TensorType(DType.Float32, 24));
        g.AddOutput(N(g, OpKind.Relu, IrAttrs.None, N(g, OpKind.Gemm, GemmT, x, w, b)));

        var graph = Optimize(g.Build(), nameof(FuseEpilogue));

        Assert.DoesNotContain(graph.Nodes, Epilogue.Has);
        Assert.Single(graph.Nodes, n => n.Op == OpKind.Relu);
    }

    [Fact]
    public void TheVerifierRejectsAMalformedEpilogue()
    {
        var g = new GraphBuilder("G");
        int x = g.AddInput("x", new TensorType(DType.Float32, 2, 3));
        int z = g.AddInput("z", new TensorType(DType.Float32, 3, 4));
        int bias = g.AddInput("bias", new TensorType(DType.Float32, 5));
        var body = new EquatableArray<Node>(System.Collections.Immutable.ImmutableArray.Create(
            new Node(OpKind.Add, new EquatableArray<int>(System.Collections.Immutable.ImmutableArray.Create(0, 1)), 2, IrAttrs.None)));
        int y = g.AddNode(OpKind.MatMul, new[] { x, z, bias }, Attrs(Attr.OfInt(Epilogue.Operands, 1L)), new TensorType(DType.Float32, 2, 4), body);
        g.AddOutput(y);

        var problems = IrVerifier.Verify(g.Build());

        Assert.Contains(problems, p => p.Contains("does not broadcast"));
    }

    // ---- Numerics: the compiled model against the eager reference, with the pass on and off ----------------------

    /// <summary>Graphs and their eager results built side by side.</summary>
    private sealed class Net
    {
        public readonly GraphBuilder G = new("Net");
        public readonly List<Tensor> Weights = new();
        public readonly List<Tensor> Inputs = new();

        public (int Id, Tensor Value) Input(Tensor t) { Inputs.Add(t); return (G.AddInput("in" + Inputs.Count, TypeOf(t)), t); }

        public (int Id, Tensor Value) Weight(Tensor t) { Weights.Add(t); return (G.AddWeight("w" + Weights.Count, TypeOf(t)), t); }

        public (int Id, Tensor Value) Op(OpKind op, IrAttrs attrs, Tensor value, params (int Id, Tensor Value)[] inputs) =>
            (N(G, op, attrs, inputs.Select(i => i.Id).ToArray()), value);

        public KernelCase Case(string name, (int Id, Tensor Value) output)
        {
            G.AddOutput(output.Id);
            return new KernelCase(name, G.Build(), Weights.ToArray(), Inputs.ToArray(), output.Value, Tolerance.Accumulation);
        }
    }

    private static (int Id, Tensor Value) Linear(Net net, (int Id, Tensor Value) x, (int Id, Tensor Value) w, (int Id, Tensor Value) b) =>
        net.Op(OpKind.Gemm, GemmT, Ops.Linear(x.Value, w.Value, b.Value), x, w, b);

    private static (int Id, Tensor Value) Activate(Net net, OpKind op, (int Id, Tensor Value) x) => op switch
    {
        OpKind.Relu => net.Op(op, IrAttrs.None, Ops.Relu(x.Value), x),
        OpKind.Sigmoid => net.Op(op, IrAttrs.None, Ops.Sigmoid(x.Value), x),
        OpKind.Tanh => net.Op(op, IrAttrs.None, Ops.Tanh(x.Value), x),
        _ => throw new ArgumentException(op.ToString()),
    };

    private static (int Id, Tensor Value) Gelu(Net net, (int Id, Tensor Value) x, GeluMode mode) =>
        net.Op(OpKind.Gelu, Attrs(Attr.OfInt(AttrNames.Mode, mode == GeluMode.Erf ? 0L : 1L)), Ops.Gelu(x.Value, mode), x);

    private static (int Id, Tensor Value) Add(Net net, (int Id, Tensor Value) a, (int Id, Tensor Value) b) => net.Op(OpKind.Add, IrAttrs.None, Ops.Add(a.Value, b.Value), a, b);

    private static (int Id, Tensor Value) Reshape(Net net, (int Id, Tensor Value) x, params int[] shape) =>
        net.Op(OpKind.Reshape, Attrs(Attr.OfInts(AttrNames.Shape, shape)), Ops.Reshape(x.Value, shape), x);

    /// <summary>Models whose products carry every kind of epilogue the pass makes.</summary>
    internal static List<KernelCase> EpilogueCases()
    {
        var cases = new List<KernelCase>();
        int seed = 900;

        // MLPs: GEMV (batch 1), 5 and 7 rows, narrow and partial panels, every activation, a last layer without one.
        foreach (var (batch, act) in new[] { (1, OpKind.Relu), (5, OpKind.Sigmoid), (7, OpKind.Tanh), (13, OpKind.Gelu) })
        {
            var net = new Net();
            var x = net.Input(Rand(seed++, batch, 33));
            var h = Linear(net, x, net.Weight(Rand(seed++, 70, 33)), net.Weight(Rand(seed++, 70)));
            h = act == OpKind.Gelu ? Gelu(net, h, GeluMode.Tanh) : Activate(net, act, h);
            h = Linear(net, h, net.Weight(Rand(seed++, 31, 70)), net.Weight(Rand(seed++, 31)));
            h = Gelu(net, h, GeluMode.Erf);
            cases.Add(net.Case($"mlp batch {batch} {act}", Linear(net, h, net.Weight(Rand(seed++, 10, 31)), net.Weight(Rand(seed++, 10)))));
        }

        // A pre-norm block's residuals: x + Linear(h) behind reshapes, then Relu before and a residual after it.
        {
            var net = new Net();
            var x = net.Input(Rand(seed++, 1, 7, 16));
            var h = Reshape(net, x, 7, 16);
            var x1 = Add(net, x, Reshape(net, Linear(net, h, net.Weight(Rand(seed++, 16, 16)), net.Weight(Rand(seed++, 16))), 1, 7, 16));
            var f = Linear(net, Reshape(net, x1, 7, 16), net.Weight(Rand(seed++, 16, 16)), net.Weight(Rand(seed++, 16)));
            var y = Add(net, Reshape(net, Gelu(net, f, GeluMode.Erf), 1, 7, 16), x1);
            cases.Add(net.Case("residual before and after the activation", y));
        }

        // Convolutions: bias + Relu, a residual of the same shape, grouped with a separate channel bias.
        {
            var net = new Net();
            var x = net.Input(Rand(seed++, 1, 3, 9, 9));
            var w1 = net.Weight(Rand(seed++, 8, 3, 3, 3));
            var b1 = net.Weight(Rand(seed++, 8));
            var conv = ConvAttrs(new[] { 1, 1 }, new[] { 1, 1, 1, 1 }, new[] { 1, 1 }, 1);
            var c1 = Activate(net, OpKind.Relu, net.Op(OpKind.Conv2d, conv, Ops.Conv2d(x.Value, w1.Value, b1.Value, 1, 1), x, w1, b1));
            var w2 = net.Weight(Rand(seed++, 8, 8, 3, 3));
            var b2 = net.Weight(Rand(seed++, 8));
            var c2 = Add(net, net.Op(OpKind.Conv2d, conv, Ops.Conv2d(c1.Value, w2.Value, b2.Value, 1, 1), c1, w2, b2), c1);
            var w3 = net.Weight(Rand(seed++, 12, 4, 3, 3));
            var grouped = ConvAttrs(new[] { 1, 1 }, new[] { 0, 0, 0, 0 }, new[] { 1, 1 }, 2);
            var c3 = net.Op(OpKind.Conv2d, grouped, Ops.Conv2d(c2.Value, w3.Value, null, 1, 0, 1, 2), c2, w3);
            var bias = net.Weight(Rand(seed++, 1, 12, 1, 1));
            cases.Add(net.Case("convolutions", Activate(net, OpKind.Tanh, Add(net, c3, bias))));
        }

        // A product of two activations (not packed): its epilogue runs in place after the loops.
        {
            var net = new Net();
            var a = net.Input(Rand(seed++, 2, 5, 7));
            var z = net.Input(Rand(seed++, 2, 7, 9));
            var mm = net.Op(OpKind.MatMul, IrAttrs.None, Ops.MatMul(a.Value, z.Value), a, z);
            cases.Add(net.Case("unpacked MatMul", Activate(net, OpKind.Sigmoid, Add(net, mm, net.Weight(Rand(seed++, 9))))));
        }

        return cases;
    }

    [Fact]
    public void EveryEpilogueCaseIsFused()
    {
        foreach (var c in EpilogueCases())
        {
            var fused = Optimize(c.Graph);
            Assert.True(fused.Nodes.Any(Epilogue.Has), c.Name + ":\n" + fused);
            Assert.DoesNotContain(fused.Nodes, n => n.Op is OpKind.Relu or OpKind.Sigmoid or OpKind.Tanh or OpKind.Gelu);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EpilogueModelsMatchTheEagerReference(bool fuse)
    {
        CheckThroughPipeline(EpilogueCases(), fuse);
    }

    private static void CheckThroughPipeline(IReadOnlyList<KernelCase> cases, bool fuse) =>
        CheckThroughPipeline(cases, fuse ? Array.Empty<string>() : new[] { nameof(FuseEpilogue) });

    /// <summary>Compiles every case through the shared and CPU passes (<paramref name="disabled"/> skipped) and compares with eager.</summary>
    internal static void CheckThroughPipeline(IReadOnlyList<KernelCase> cases, string[] disabled)
    {
        var optimized = cases.Select(c => c with { Graph = Optimize(c.Graph, disabled) }).ToList();
        using var compiled = CompiledGraphs.Compile(optimized.Select(c => c.Graph).ToArray());
        var failures = new StringBuilder();
        for (int i = 0; i < optimized.Count; i++)
        {
            var c = optimized[i];
            string? problem;
            try
            {
                problem = Compare(c.Expected, compiled.Run(i, c.Weights, c.Inputs), c.Tolerance);
            }
            catch (Exception e)
            {
                problem = "threw " + e;
            }

            if (problem is not null) Report(failures, c, problem);
        }

        Assert.True(failures.Length == 0, failures.ToString());
    }

    private static string Print(Node b) =>
        $"r{b.Output} = {b.Op}({string.Join(", ", b.Inputs.Select(r => "r" + r))}){(b.Attrs.Items.IsEmpty ? "" : " " + b.Attrs)}";
}
