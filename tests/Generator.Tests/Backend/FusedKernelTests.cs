using Aot.Dsl;
using Aot.Generator.IR;
using Aot.Generator.Passes;
using static Aot.Tests.Shared.CaseKit;
using static Generator.Tests.Backend.Kernel;

namespace Generator.Tests.Backend;

/// <summary>Fused elementwise kernels, from graphs run through the fusion pass (as the pipeline does).</summary>
public class FusedKernelTests
{
    /// <summary>A graph builder that records the eager value of every node next to it.</summary>
    private sealed class Dual
    {
        private readonly GraphBuilder _g = new("Fusion");
        private readonly Dictionary<int, Tensor> _eager = new();

        public List<Tensor> Inputs { get; } = new();

        public int Input(Tensor t)
        {
            int id = _g.AddInput("in" + Inputs.Count, TypeOf(t));
            Inputs.Add(t);
            _eager[id] = t;
            return id;
        }

        public int Const(float value)
        {
            _g.TryAdd(OpKind.Constant, Array.Empty<int>(), Attrs(Attr.OfFloat(AttrNames.Value, value)), out int id);
            _eager[id] = Tensor.Scalar(value);
            return id;
        }

        public int Op(OpKind op, Func<Tensor, Tensor> eager, int x) => Add(op, Aot.Generator.IR.Attrs.None, eager(_eager[x]), x);

        public int Op(OpKind op, Func<Tensor, Tensor, Tensor> eager, int x, int y) => Add(op, Aot.Generator.IR.Attrs.None, eager(_eager[x], _eager[y]), x, y);

        public int Where(int c, int x, int y) => Add(OpKind.Where, Aot.Generator.IR.Attrs.None, Ops.Where(_eager[c], _eager[x], _eager[y]), c, x, y);

        public int Gelu(int x) => Add(OpKind.Gelu, Attrs(Attr.OfInt(AttrNames.Mode, 0)), Ops.Gelu(_eager[x]), x);

        private int Add(OpKind op, Attrs attrs, Tensor value, params int[] inputs)
        {
            var result = _g.TryAdd(op, inputs, attrs, out int id);
            if (result.Error is { } e) throw new InvalidOperationException(e.Message);
            _eager[id] = value;
            return id;
        }

        public KernelCase Finish(string name, int output)
        {
            _g.AddOutput(output);
            var graph = new EliminateDeadCode().Run(new FuseElementwise().Run(_g.Build()));
            Assert.Contains(graph.Nodes, n => n.Op == OpKind.Fused);
            return new KernelCase(name, graph, Array.Empty<Tensor>(), Inputs.ToArray(), _eager[output], Tolerance.Elementwise);
        }
    }

    [Fact]
    public void Fused_chains_match_the_reference()
    {
        var cases = new List<KernelCase>();

        // relu(x * a + b) * sigmoid(x) + 0.5 with broadcast operands: scalar loop (Sigmoid has no vector form).
        {
            var d = new Dual();
            int x = d.Input(Rand(1, 3, 17, 33)), a = d.Input(Rand(2, 33)), b = d.Input(Rand(3, 17, 1));
            int h = d.Op(OpKind.Relu, Ops.Relu, d.Op(OpKind.Add, Ops.Add, d.Op(OpKind.Mul, Ops.Mul, x, a), b));
            int o = d.Op(OpKind.Add, Ops.Add, d.Op(OpKind.Mul, Ops.Mul, h, d.Op(OpKind.Sigmoid, Ops.Sigmoid, x)), d.Const(0.5f));
            cases.Add(d.Finish("relu(x*a+b)*sigmoid(x)+0.5", o));
        }

        // Only vectorizable ops, same shapes and a scalar: the vector path, with a value used three times.
        {
            var d = new Dual();
            int x = d.Input(Rand(4, 17, 33)), y = d.Input(Rand(5, 17, 33)), z = d.Input(Rand(6, 0.5f, 2f, 17, 33)), s = d.Input(Rand(7));
            int t = d.Op(OpKind.Add, Ops.Add, d.Op(OpKind.Mul, Ops.Mul, x, d.Const(2f)), y);
            int u = d.Op(OpKind.Sub, Ops.Sub, d.Op(OpKind.Mul, Ops.Mul, t, t), d.Op(OpKind.Div, Ops.Div, t, d.Op(OpKind.Sqrt, Ops.Sqrt, z)));
            int o = d.Op(OpKind.Max, Ops.Max, d.Op(OpKind.Neg, Ops.Neg, d.Op(OpKind.Abs, Ops.Abs, u)), s);
            cases.Add(d.Finish("max(-|t*t - t/sqrt(z)|, s), t = 2x+y", o));
        }

        // A rank-0 result, and Gelu (several uses of its operand inside its formula) on a temporary.
        {
            var d = new Dual();
            int x = d.Input(Rand(8)), y = d.Input(Rand(9, 1));
            int o = d.Op(OpKind.Tanh, Ops.Tanh, d.Gelu(d.Op(OpKind.Sub, Ops.Sub, x, d.Op(OpKind.Exp, Ops.Exp, x))));
            cases.Add(d.Finish("tanh(gelu(x - exp x))", d.Op(OpKind.Mul, Ops.Mul, o, y)));
        }

        // Comparisons, Not and Where in one body (leaky relu by selection, clamped by a mask): the vector path, with a
        // broadcast operand.
        {
            var d = new Dual();
            int x = d.Input(Rand(10, 17, 33)), limit = d.Input(Rand(11, 0f, 1f, 33));
            int leaky = d.Where(d.Op(OpKind.Greater, Ops.Greater, x, d.Const(0f)), x, d.Op(OpKind.Mul, Ops.Mul, x, d.Const(0.1f)));
            int inside = d.Op(OpKind.Not, Ops.Not, d.Op(OpKind.GreaterOrEqual, Ops.GreaterOrEqual, leaky, limit));
            int o = d.Op(OpKind.Add, Ops.Add, d.Op(OpKind.Mul, Ops.Mul, leaky, inside), d.Op(OpKind.Equal, Ops.Equal, x, x));
            cases.Add(d.Finish("where(x > 0, x, 0.1x) * !(. >= limit) + (x == x)", o));
        }

        Check(cases);
    }
}
