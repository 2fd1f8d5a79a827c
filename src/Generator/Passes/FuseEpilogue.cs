using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Aot.Generator.IR;

namespace Aot.Generator.Passes;

/// <summary>
/// CPU pass: a matrix product (PackedGemm, ConvGemm, and MatMul/Gemm left unpacked) followed by a bias add, an
/// activation and/or a residual add becomes one node carrying an epilogue (<see cref="Epilogue"/>), so the GEMM
/// applies them to each tile of its result while it is still in registers or L1, instead of writing the product
/// and re-reading it once per op. Chains follow the order the GEMM kernel applies them in:
/// <c>act(product + bias [+ residual]) [+ residual]</c>, each part optional, at most one residual; the product's
/// own bias (a PackedGemm's per-column C with beta = 1, a ConvGemm's per-channel bias) becomes the epilogue's bias.
/// <list type="bullet">
/// <item>bias: Add of a vector along the product's columns (PackedGemm, MatMul, Gemm: shape [n], [1, n], ...) or,
/// for ConvGemm, along its output channels ([K, 1, 1] or [1, K, 1, 1]);</item>
/// <item>activation: Relu, Gelu (erf or tanh form), Sigmoid, Tanh;</item>
/// <item>residual: Add of a tensor with exactly the shape of the running value.</item>
/// </list>
/// These ops may stand alone or make up a whole Fused node (FuseElementwise runs first and turns
/// <c>relu(conv + skip)</c> into one); a Fused node is absorbed whole or not at all.
/// Reshapes between the product and the ops are looked through (they keep the row-major order, so element i of the
/// reshaped value is element i of the product); the fused node keeps the product's shape, a Reshape after it gives
/// the chain's, and a residual is reshaped (an alias) to the product's shape.
/// <para>
/// Every value inside a chain must have one use and not be a graph output, so nothing else reads what the epilogue
/// no longer materializes. The fused node is placed where the chain ended, after every operand it reads.
/// </para>
/// Requires: a verified graph, after the CPU layout passes (PackGemmWeights, LowerConvToGemm). Guarantees: the same
/// values at the graph outputs; every epilogue is one the CPU GEMM runs in its store (<c>GemmEpilogue</c>) for
/// PackedGemm and ConvGemm; MatMul and Gemm apply it in place right after their loops.
/// </summary>
internal sealed class FuseEpilogue : IPass
{
    public string Name => nameof(FuseEpilogue);

    /// <summary>An epilogue body operand: the running value, or epilogue operand i (register 1 + i).</summary>
    private readonly record struct Ref(int Operand)
    {
        public static readonly Ref Running = new(-1);
    }

    private sealed record Step(OpKind Op, Attrs Attrs, Ref A, Ref? B);

    /// <summary>An epilogue operand: an old value, reshaped to <see cref="ReshapeTo"/> (an alias) when not null.</summary>
    private sealed record Operand(int Value, int[]? ReshapeTo);

    /// <summary>What one product absorbs: its own inputs (without a bias that moved into the epilogue), the epilogue's
    /// operands and steps, the nodes it replaces and the value it ends at; and how far along the kernel's order
    /// (bias, residual, activation, residual) the chain is.</summary>
    private sealed class Plan
    {
        public required Node Product { get; init; }
        public required int[] Shape { get; init; }
        public List<int> OwnInputs { get; } = new();
        public List<Operand> Operands { get; } = new();
        public List<Step> Steps { get; } = new();
        public List<int> Absorbed { get; } = new();
        public int End { get; set; }
        public bool Bias, Residual, Activation, Finished;

        public (int, int, bool, bool, bool, bool) Save() => (Operands.Count, Steps.Count, Bias, Residual, Activation, Finished);

        public void Restore((int Operands, int Steps, bool Bias, bool Residual, bool Activation, bool Finished) s)
        {
            Operands.RemoveRange(s.Operands, Operands.Count - s.Operands);
            Steps.RemoveRange(s.Steps, Steps.Count - s.Steps);
            (Bias, Residual, Activation, Finished) = (s.Bias, s.Residual, s.Activation, s.Finished);
        }

        public void AddOperandStep(int value, int[]? reshapeTo)
        {
            Operands.Add(new Operand(value, reshapeTo));
            Steps.Add(new Step(OpKind.Add, Attrs.None, Ref.Running, new Ref(Operands.Count - 1)));
        }
    }

    public Graph Run(Graph graph)
    {
        var users = Users(graph);
        var outputs = new HashSet<int>(graph.Outputs);
        var plans = new Dictionary<int, Plan>();
        var claimed = new HashSet<int>();
        foreach (var node in graph.Nodes)
        {
            if (!Epilogue.CanCarry(node.Op) || Epilogue.Has(node) || claimed.Contains(node.Output)) continue;
            if (Match(graph, node, users, outputs, claimed) is not { } plan) continue;
            plans[plan.End] = plan;
            claimed.Add(node.Output);
            foreach (var v in plan.Absorbed) claimed.Add(v);
        }

        if (plans.Count == 0) return graph;

        var rewriter = new GraphRewriter(graph);
        foreach (var node in graph.Nodes)
        {
            if (plans.TryGetValue(node.Output, out var plan))
            {
                Emit(graph, rewriter, plan);
            }
            else if (!claimed.Contains(node.Output))
            {
                rewriter.Copy(node);
            }
        }

        return rewriter.Finish();
    }

    /// <summary>The longest chain after <paramref name="product"/> that fits the epilogue, or null when nothing fits.</summary>
    private static Plan? Match(Graph graph, Node product, List<Node>[] users, HashSet<int> outputs, HashSet<int> claimed)
    {
        var type = graph.TypeOf(product.Output);
        if (type.DType != DType.Float32 || type.Rank < 2) return null;
        var shape = type.ShapeArray();
        var plan = new Plan { Product = product, Shape = shape, End = product.Output };
        plan.OwnInputs.AddRange(product.Inputs);

        // The product's own bias moves into the epilogue (so the GEMM no longer starts from a broadcast copy of it).
        if (product.Op == OpKind.PackedGemm && product.Inputs.Count > 2 && product.Attrs.Float(AttrNames.Beta) == 1f
            && IsColumnVector(graph.TypeOf(product.Inputs[2]).ShapeArray(), shape))
        {
            plan.OwnInputs.RemoveAt(2);
            AddBias(plan, product.Inputs[2], graph);
        }
        else if (Epilogue.IsConvolution(product.Op) && product.Inputs.Count > 2)
        {
            plan.OwnInputs.RemoveAt(2);
            plan.AddOperandStep(product.Inputs[2], new[] { shape[1], 1, 1 });
            plan.Bias = true;
        }

        int value = product.Output;
        var pendingReshapes = new List<int>();
        while (!plan.Finished && !outputs.Contains(value) && users[value].Count == 1 && !claimed.Contains(users[value][0].Output))
        {
            var user = users[value][0];
            var current = graph.TypeOf(value).ShapeArray();
            if (user.Op == OpKind.Reshape)
            {
                pendingReshapes.Add(user.Output);
                value = user.Output;
                continue;
            }

            var userType = graph.TypeOf(user.Output);
            if (userType.DType != DType.Float32 || !userType.Shape.SequenceEqual(current)) break;
            bool fits = user.Op switch
            {
                _ when IsActivation(user.Op) => TryActivation(plan, user.Op, user.Attrs),
                OpKind.Add => user.Inputs[0] != user.Inputs[1] && TryAdd(plan, graph, user.Inputs[0] == value ? user.Inputs[1] : user.Inputs[0], current),
                OpKind.Fused => TryFused(plan, graph, user, value, current),
                _ => false,
            };
            if (!fits) break;

            // The reshapes looked through and this op now belong to the chain, which ends here.
            plan.Absorbed.AddRange(pendingReshapes);
            pendingReshapes.Clear();
            plan.Absorbed.Add(user.Output);
            plan.End = user.Output;
            value = user.Output;
        }

        return plan.Steps.Count > 0 ? plan : null;
    }

    private static bool TryActivation(Plan plan, OpKind op, Attrs attrs)
    {
        if (plan.Activation || plan.Finished) return false;
        plan.Steps.Add(new Step(op, attrs, Ref.Running, null));
        plan.Activation = true;
        return true;
    }

    /// <summary>running + <paramref name="other"/>, where the running value has shape <paramref name="current"/>: a
    /// residual (same shape), or a bias (columns; ConvGemm: channels) while nothing but a bias came before.</summary>
    private static bool TryAdd(Plan plan, Graph graph, int other, int[] current)
    {
        var otherType = graph.TypeOf(other);
        var otherShape = otherType.ShapeArray();
        var shape = plan.Shape;
        bool conv = Epilogue.IsConvolution(plan.Product.Op);
        if (otherType.DType != DType.Float32 || plan.Finished) return false;
        if (!plan.Residual && otherShape.SequenceEqual(current))
        {
            // A residual, before the activation or after it (then it ends the chain).
            plan.AddOperandStep(other, current.SequenceEqual(shape) ? null : shape);
            plan.Residual = true;
            plan.Finished = plan.Activation;
            return true;
        }

        if (plan.Bias || plan.Residual || plan.Activation) return false;
        if (!conv && current[current.Length - 1] == shape[shape.Length - 1] && IsColumnVector(otherShape, current))
        {
            AddBias(plan, other, graph);
            return true;
        }

        if (conv && current.SequenceEqual(shape) && IsChannelVector(otherShape, shape))
        {
            plan.AddOperandStep(other, null);
            plan.Bias = true;
            return true;
        }

        return false;
    }

    /// <summary>
    /// A fused elementwise node (FuseElementwise ran first) reading the running value once, whose body is nothing but
    /// a chain of kernel steps on it: absorbed whole, or not at all.
    /// </summary>
    private static bool TryFused(Plan plan, Graph graph, Node fused, int value, int[] current)
    {
        if (fused.Inputs.Count(i => i == value) != 1) return false;
        var saved = plan.Save();
        int running = fused.Inputs.Items.IndexOf(value);
        foreach (var step in fused.Body)
        {
            bool ok;
            if (IsActivation(step.Op) && step.Inputs.Count == 1 && step.Inputs[0] == running)
            {
                ok = TryActivation(plan, step.Op, step.Attrs);
            }
            else if (step.Op == OpKind.Add && step.Inputs.Count == 2 && (step.Inputs[0] == running) != (step.Inputs[1] == running))
            {
                int register = step.Inputs[0] == running ? step.Inputs[1] : step.Inputs[0];
                ok = register < fused.Inputs.Count && fused.Inputs[register] != value && TryAdd(plan, graph, fused.Inputs[register], current);
            }
            else
            {
                ok = false;
            }

            if (!ok)
            {
                plan.Restore(saved);
                return false;
            }

            running = step.Output;
        }

        return true;
    }

    private static void AddBias(Plan plan, int value, Graph graph)
    {
        var t = graph.TypeOf(value);
        plan.AddOperandStep(value, t.Rank == 1 ? null : new[] { t.Shape[t.Rank - 1] });
        plan.Bias = true;
    }

    /// <summary>The GEMM kernel's activations.</summary>
    private static bool IsActivation(OpKind op) => op is OpKind.Relu or OpKind.Gelu or OpKind.Sigmoid or OpKind.Tanh;

    /// <summary>A vector along the last axis of <paramref name="of"/>: [n], [1, n], [1, 1, n], ...</summary>
    private static bool IsColumnVector(int[] shape, int[] of) =>
        shape.Length >= 1 && shape.Length <= of.Length && shape[shape.Length - 1] == of[of.Length - 1] && shape.Take(shape.Length - 1).All(d => d == 1);

    /// <summary>A vector along axis 1 (the channels) of an [N, K, H, W] result: [K, 1, 1] or [1, K, 1, 1].</summary>
    private static bool IsChannelVector(int[] shape, int[] of)
    {
        if (of.Length != 4 || shape.Length < 3 || shape.Length > 4) return false;
        var aligned = Enumerable.Repeat(1, 4 - shape.Length).Concat(shape).ToArray();
        return aligned[0] == 1 && aligned[1] == of[1] && aligned[2] == 1 && aligned[3] == 1;
    }

    private static void Emit(Graph graph, GraphRewriter rewriter, Plan plan)
    {
        var product = plan.Product;
        var type = graph.TypeOf(product.Output);
        var inputs = plan.OwnInputs.Select(rewriter.Map).ToList();
        foreach (var operand in plan.Operands)
        {
            int id = rewriter.Map(operand.Value);
            if (operand.ReshapeTo is { } to)
            {
                id = rewriter.Add(OpKind.Reshape, new[] { id }, Attrs.Of(Attr.OfInts(AttrNames.Shape, to)), graph.TypeOf(operand.Value).WithShape(to));
            }

            inputs.Add(id);
        }

        // Registers: r0 the product, r1..rE the operands, then one per step.
        int e = plan.Operands.Count;
        int Register(Ref r, int running) => r.Operand < 0 ? running : 1 + r.Operand;
        var body = ImmutableArray.CreateBuilder<Node>();
        int current = 0;
        foreach (var step in plan.Steps)
        {
            int output = 1 + e + body.Count;
            var operands = step.B is { } b ? ImmutableArray.Create(Register(step.A, current), Register(b, current)) : ImmutableArray.Create(Register(step.A, current));
            body.Add(new Node(step.Op, new EquatableArray<int>(operands), output, step.Attrs));
            current = output;
        }

        var attrs = product.Attrs.With(Attr.OfInt(Epilogue.Operands, e));
        var endType = graph.TypeOf(plan.End);
        if (endType.Shape.Equals(type.Shape))
        {
            rewriter.Add(product.Op, inputs, attrs, type, replaces: plan.End, body: new EquatableArray<Node>(body.ToImmutable()));
        }
        else
        {
            int fused = rewriter.Add(product.Op, inputs, attrs, type, body: new EquatableArray<Node>(body.ToImmutable()));
            rewriter.Add(OpKind.Reshape, new[] { fused }, Attrs.Of(Attr.OfInts(AttrNames.Shape, endType.ShapeArray())), endType, replaces: plan.End);
        }
    }

    /// <summary>The nodes reading each value, once per operand position (a node reading it twice is listed twice).</summary>
    private static List<Node>[] Users(Graph graph)
    {
        var users = Enumerable.Range(0, graph.Values.Count).Select(_ => new List<Node>()).ToArray();
        foreach (var node in graph.Nodes)
        {
            foreach (var input in node.Inputs) users[input].Add(node);
        }

        return users;
    }
}
