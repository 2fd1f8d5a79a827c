using System;
using System.Collections.Generic;
using System.Linq;
using Aot.Generator.IR;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends.Cpu;

// Elementwise ops, single or fused: one broadcasting emitter, driven by a table of expressions.
internal static partial class CpuKernels
{
    /// <summary>
    /// An elementwise function as C# format strings over its operands {0}, {1} (locals of type float, or vectors for
    /// <see cref="Vector"/>, written for any <see cref="VectorType"/> with its tokens: see <see cref="VectorType.Expand"/>).
    /// <see cref="Vector"/> is null when no vector form computes exactly what the scalar form does; such ops run the
    /// scalar loop only.
    /// </summary>
    internal sealed record ElementwiseExpr(string Scalar, string? Vector);

    private static readonly ElementwiseExpr AddExpr = new("{0} + {1}", "{0} + {1}"), MulExpr = new("{0} * {1}", "{0} * {1}");

    /// <summary>The table: what each elementwise op computes.</summary>
    private static ElementwiseExpr ElementwiseOf(Node node) => node.Op switch
    {
        OpKind.Add => AddExpr,
        OpKind.Sub => new("{0} - {1}", "{0} - {1}"),
        OpKind.Mul => MulExpr,
        OpKind.Div => new("{0} / {1}", "{0} / {1}"),
        OpKind.Max => new(FMath + ".Max({0}, {1})", KernelMath + ".Max({0}, {1})"),
        OpKind.Min => new(FMath + ".Min({0}, {1})", KernelMath + ".Min({0}, {1})"),
        OpKind.Pow => new(FMath + ".Pow({0}, {1})", null),
        OpKind.Equal => new("{0} == {1} ? 1f : 0f", KernelMath + ".Equal({0}, {1})"),
        OpKind.Greater => new("{0} > {1} ? 1f : 0f", KernelMath + ".Greater({0}, {1})"),
        OpKind.GreaterOrEqual => new("{0} >= {1} ? 1f : 0f", KernelMath + ".GreaterOrEqual({0}, {1})"),
        OpKind.Less => new("{0} < {1} ? 1f : 0f", KernelMath + ".Less({0}, {1})"),
        OpKind.LessOrEqual => new("{0} <= {1} ? 1f : 0f", KernelMath + ".LessOrEqual({0}, {1})"),
        OpKind.Where => new("{0} != 0f ? {1} : {2}", KernelMath + ".Where({0}, {1}, {2})"),
        OpKind.Not => new("1f - {0}", VectorType.One + " - {0}"),
        OpKind.Relu => new(FMath + ".Max({0}, 0f)", KernelMath + ".Relu({0})"),

        // Exact Gelu as 0.5 x erfc(-x / sqrt 2) (= 0.5 x (1 + erf(x / sqrt 2)), without the cancellation for x << 0);
        // tanh Gelu as x / (1 + exp(-2u)) (= 0.5 x (1 + tanh u), u = sqrt(2/pi) (x + 0.044715 x^3), likewise).
        // The vector forms use KernelMath's polynomial exp/erf (stated error bounds there, a few times faster than
        // MathF per element); the scalar tails keep MathF and the accurate erfc.
        OpKind.Gelu => node.Attrs.Int(AttrNames.Mode) == 0
            ? new("0.5f * {0} * " + KernelMath + ".Erfc({0} * -0.70710677f)", KernelMath + ".Gelu({0})")
            : new("{0} / (1f + " + FMath + ".Exp(-1.5957692f * ({0} + 0.044715f * {0} * {0} * {0})))",
                  "{0} / (" + VectorType.One + " + " + KernelMath + ".Exp(({0} + {0} * {0} * {0} * 0.044715f) * -1.5957692f))"),
        OpKind.Sigmoid => new("1f / (1f + " + FMath + ".Exp(-{0}))", KernelMath + ".Sigmoid({0})"),
        OpKind.Tanh => new(FMath + ".Tanh({0})", KernelMath + ".Tanh({0})"),
        OpKind.Exp => new(FMath + ".Exp({0})", KernelMath + ".Exp({0})"),
        OpKind.Log => new(FMath + ".Log({0})", null),
        OpKind.Sqrt => new(FMath + ".Sqrt({0})", VectorType.Sqrt + "({0})"),
        OpKind.Rsqrt => new("1f / " + FMath + ".Sqrt({0})", VectorType.One + " / " + VectorType.Sqrt + "({0})"),
        OpKind.Neg => new("-{0}", "-{0}"),
        OpKind.Abs => new(FMath + ".Abs({0})", VectorType.Abs + "({0})"),
        OpKind.Erf => new(KernelMath + ".Erf({0})", KernelMath + ".Erf({0})"),
        _ => throw new NotSupportedException(node.Op + " is not elementwise"),
    };

    /// <summary>
    /// The per-element function of an elementwise kernel, in SSA over registers: registers 0..Arity-1 are the
    /// operands, step j reads earlier registers (<see cref="Step.Args"/>) and defines register Arity + j, and the
    /// last step is the result. A single op is one step; a <see cref="OpKind.Fused"/> node's body is several.
    /// </summary>
    internal sealed record ElementwiseProgram(int Arity, IReadOnlyList<ElementwiseProgram.Step> Steps)
    {
        internal sealed record Step(ElementwiseExpr Expr, int[] Args);

        /// <summary>One expression over all operands in order.</summary>
        public static ElementwiseProgram Single(int arity, ElementwiseExpr expr) => new(arity, new[] { new Step(expr, Enumerable.Range(0, arity).ToArray()) });

        /// <summary>Whether every step has an exact vector form.</summary>
        public bool Vectorizable => Steps.All(s => s.Expr.Vector is not null);

        /// <summary>
        /// Writes a local per intermediate step (t0, t1, ... or vt0, vt1, ... for vectors of <paramref name="vector"/>)
        /// and returns the result's expression, given the operands' locals.
        /// </summary>
        /// <remarks>Vector code contracts an Add of a Mul that nothing else reads into one fused multiply-add
        /// (<c>KernelMath.MultiplyAdd</c>: one instruction and one rounding instead of two), as C compilers do by default;
        /// scalar code keeps both roundings.</remarks>
        public string Emit(CodeWriter w, IReadOnlyList<string> operands, VectorType? vector)
        {
            var contracted = vector is null ? new HashSet<int>() : ContractibleProducts();
            var registers = new List<string>(operands);
            for (int j = 0; j < Steps.Count; j++)
            {
                var step = Steps[j];
                string value;
                if (contracted.Contains(j))
                {
                    registers.Add(""); // read only by the Add that consumes it
                    continue;
                }

                if (step.Expr == AddExpr && step.Args.Any(r => contracted.Contains(r - Arity)))
                {
                    int mul = step.Args.First(r => contracted.Contains(r - Arity));
                    int addend = step.Args[0] == mul ? step.Args[1] : step.Args[0];
                    var factors = Steps[mul - Arity].Args;
                    value = $"{KernelMath}.MultiplyAdd({registers[factors[0]]}, {registers[factors[1]]}, {registers[addend]})";
                }
                else
                {
                    value = string.Format(vector is null ? step.Expr.Scalar : vector.Expand(step.Expr.Vector!), step.Args.Select(r => (object)registers[r]).ToArray());
                }

                if (j == Steps.Count - 1) return value;
                string local = (vector is null ? "t" : "vt") + Lit(j);
                w.Line($"{(vector is null ? "float" : "var")} {local} = {value};");
                registers.Add(local);
            }

            throw new InvalidOperationException("an elementwise program needs at least one step");
        }

        /// <summary>Steps that are a Mul read exactly once, by an Add (and not the result).</summary>
        private HashSet<int> ContractibleProducts()
        {
            var uses = new int[Steps.Count];
            foreach (var step in Steps)
            {
                foreach (int r in step.Args) if (r >= Arity) uses[r - Arity]++;
            }

            var products = new HashSet<int>();
            foreach (var step in Steps)
            {
                if (step.Expr != AddExpr || step.Args.Length != 2) continue;
                foreach (int r in step.Args)
                {
                    int j = r - Arity;
                    if (j >= 0 && Steps[j].Expr == MulExpr && uses[j] == 1 && !products.Contains(j))
                    {
                        products.Add(j);
                        break;
                    }
                }
            }

            return products;
        }
    }

    private static void EmitElementwiseNode(CodeWriter w, Graph graph, Node node, bool staticLambdas)
    {
        var operands = node.Inputs.Select((v, i) => new ElementwiseOperand("x" + Lit(i), Shapes.Of(graph, v))).ToArray();
        var outShape = Shapes.Of(graph, node.Output);
        string args = string.Join(", ", operands.Select(o => o.Span + Fmt(o.Shape)));
        string broadcast = operands.Any(o => !o.Shape.SequenceEqual(outShape)) ? " with broadcasting" : "";
        ElementwiseProgram program;
        if (node.Op == OpKind.Fused)
        {
            // Body node j defines register Inputs.Count + j; Constants are steps without operands.
            program = new ElementwiseProgram(operands.Length, node.Body.Select(b => new ElementwiseProgram.Step(
                b.Op == OpKind.Constant ? ConstantExpr(b.Attrs.Float(AttrNames.Value)) : ElementwiseOf(b),
                b.Inputs.ToArray())).ToArray());
            w.Line($"// y{Fmt(outShape)} = fused elementwise ops over ({args}){broadcast}, registers r0..r{operands.Length - 1} being the operands:");
            foreach (var b in node.Body) w.Line($"//   r{b.Output} = {b.Op}({string.Join(", ", b.Inputs.Select(r => "r" + r))}){(b.Attrs.Items.IsEmpty ? "" : " " + b.Attrs)}");
        }
        else
        {
            program = ElementwiseProgram.Single(operands.Length, ElementwiseOf(node));
            w.Line($"// y{Fmt(outShape)} = {node.Op}({args}), elementwise{broadcast}");
        }

        EmitElementwise(w, outShape, operands, program, parallel: staticLambdas && node.Inputs.All(v => graph.TypeOf(v).DType == DType.Float32) && graph.TypeOf(node.Output).DType == DType.Float32);
    }

    /// <summary>Most operands a threaded elementwise kernel passes to <c>ParallelLoops.Elementwise</c>.</summary>
    private const int MaxParallelOperands = 6;

    /// <summary>Output elements from which an elementwise kernel is split between threads (the runtime's
    /// <c>ParallelLoops.MinElements</c>; below it the loops are emitted inline).</summary>
    private const int ParallelMinElements = 1 << 15;

    /// <summary>Flat rows split between threads are cut at multiples of this many elements (a multiple of every
    /// vector width), so each chunk's vector loop covers it whole and the results do not depend on the split.</summary>
    private const int ParallelAlign = 64;

    private static ElementwiseExpr ConstantExpr(float value) => new(Lit(value), VectorType.Splat + $"({Lit(value)})");

    /// <summary>An operand of <see cref="EmitElementwise"/>: a span local and the shape it holds.</summary>
    internal sealed record ElementwiseOperand(string Span, int[] Shape);

    /// <summary>
    /// <c>y = f(operands)</c> over <paramref name="outShape"/>, operands broadcast with numpy rules. The iteration
    /// space is coalesced (see <see cref="Coalesce"/>), so same-shape operands and scalars become a single
    /// contiguous row; outer dimensions become loops that advance each operand by its broadcast stride (0 on
    /// broadcast axes), and every row runs a <c>Vector&lt;float&gt;</c> loop plus a scalar tail when every step of
    /// the function has a vector form and each operand is either contiguous or constant along the row, the scalar
    /// loop otherwise.
    /// </summary>
    /// <para>
    /// With <paramref name="parallel"/> (the operands are the kernel's float spans x0, x1, ... and y), a large output
    /// runs through <c>ParallelLoops.Elementwise</c>: the loop nest becomes a non-capturing lambda over a range of its
    /// outermost dimension (or of the elements of a single flat row, cut at multiples of <see cref="ParallelAlign"/>),
    /// which the runtime splits between the pool's threads; one thread runs the whole range in one call.
    /// </para>
    internal static void EmitElementwise(CodeWriter w, int[] outShape, IReadOnlyList<ElementwiseOperand> operands, ElementwiseProgram f, bool parallel = false)
    {
        var strides = new List<int[]> { RowMajorStrides(outShape) };
        strides.AddRange(operands.Select(o => BroadcastStrides(o.Shape, outShape)));
        var (shape, coalesced) = Coalesce(outShape, strides);
        if (shape.Length == 0)
        {
            // A single element.
            for (int k = 0; k < operands.Count; k++) w.Line($"float {OperandName(k)} = {operands[k].Span}[0];");
            w.Line($"y[0] = {f.Emit(w, operands.Select((_, k) => OperandName(k)).ToArray(), vector: null)};");
            return;
        }

        int rank = shape.Length;
        var names = new[] { "oy" }.Concat(operands.Select((_, k) => "o" + OperandName(k))).ToArray();
        var outerViews = names.Select((name, k) => new View(name, coalesced[k].Take(rank - 1).ToArray())).ToArray();
        var rowStrides = coalesced.Select(s => s[rank - 1]).ToArray();
        if (rank > 1) w.Line($"// {Lit(shape.Take(rank - 1).Aggregate(1L, (p, d) => p * d))} rows of {Lit(shape[rank - 1])}");
        long elements = shape.Aggregate(1L, (p, d) => p * d);
        if (parallel && operands.Count <= MaxParallelOperands && elements >= ParallelMinElements
            && operands.Select((o, k) => o.Span == "x" + Lit(k)).All(ok => ok))
        {
            int align = rank > 1 ? 1 : ParallelAlign;
            w.Line($"// Split between threads over {(rank > 1 ? "rows of the outermost loop" : "chunks of " + Lit(align) + " elements")} when there is a pool.");
            // Bytes the kernel touches (operands read once, y written): beyond the last-level cache, y cannot stay cached
            // for its consumer anyway, so its stores go around the cache (no read-for-ownership).
            long footprint = 4 * (elements + operands.Sum(o => (long)o.Shape.Aggregate(1, (p, d) => p * d)));
            bool streamStores = footprint > CpuTarget.Default.LastLevelCacheBytes;
            if (streamStores) w.Line("// The output is written with non-temporal stores: the kernel's operands and output exceed the last-level cache.");
            EmitParallelLoops(w, shape[0], align, elements, operands.Count, range =>
            {
                if (rank > 1)
                {
                    EmitLoops(w, shape.Take(rank - 1).ToArray(), outerViews, offsets => EmitElementwiseRow(w, shape[rank - 1], offsets, rowStrides, operands, f, streamStores: streamStores), outerRange: range);
                }
                else
                {
                    EmitElementwiseRow(w, shape[0], names.Select(_ => "0").ToArray(), rowStrides, operands, f, range: range, streamStores: streamStores);
                }

                if (streamStores) w.Line($"{KernelMath}.FenceNonTemporalStores();");
            });
            return;
        }

        EmitLoops(w, shape.Take(rank - 1).ToArray(), outerViews, offsets => EmitElementwiseRow(w, shape[rank - 1], offsets, rowStrides, operands, f));
    }

    /// <summary>
    /// <c>ParallelLoops.Elementwise(_pool, units, ...)</c> around <paramref name="body"/>, which emits the loops over the
    /// range (first, last) of the outermost dimension as the body of a non-capturing lambda over the kernel's float
    /// spans x0 .. x{operands - 1} and y (cached by the compiler: no allocation per call).
    /// </summary>
    private static void EmitParallelLoops(CodeWriter w, int units, int align, long elements, int operands, System.Action<(string From, string To)> body)
    {
        var parameters = Enumerable.Range(0, MaxParallelOperands).Select(k => "x" + Lit(k)).ToArray();
        var arguments = Enumerable.Range(0, MaxParallelOperands).Select(k => k < operands ? "x" + Lit(k) : "default").ToArray();
        w.Line($"global::Aot.Runtime.Cpu.ParallelLoops.Elementwise(_pool, {Lit(units)}, {Lit(align)}, {Lit(elements)}, static ({string.Join(", ", parameters)}, y, first, last) =>");
        using (w.Block("", suffix: ", " + string.Join(", ", arguments) + ", y);"))
        {
            body(("first", "last"));
        }
    }

    /// <summary>a, b, c, ...: the local holding operand k's element inside a row (v + that for its vector).</summary>
    private static string OperandName(int k) => k < 26 ? ((char)('a' + k)).ToString() : "in" + Lit(k);

    /// <summary>
    /// The <see cref="VectorType.Wide"/> loop of a row over [j, <paramref name="to"/>): blocks of 16 from y's first
    /// 64-byte boundary, a first block before it and a last block ending at the row's end overlapping their neighbours
    /// (they rewrite a few elements with the same values; y never overlaps an operand), or partial blocks in rows too
    /// short for that. Every element goes through the same arithmetic (a local function inlined where it is called),
    /// so the values do not depend on where a thread's chunk starts; no cache line is written by both ordinary and
    /// non-temporal stores (which costs a flush per line). Whole blocks read and write through refs (no bounds checks:
    /// the generator derived every offset from the shapes, and the spans' lengths are those shapes' sizes).
    /// </summary>
    private static void EmitWideRow(CodeWriter w, string to, string oy, System.Func<string, int, string> at, int[] rowStrides, IReadOnlyList<ElementwiseOperand> operands, ElementwiseProgram f, bool streamStores)
    {
        var wide = VectorType.Wide;
        string v = wide.Name;
        var parameters = operands.Select((_, k) => "w" + OperandName(k)).ToArray();
        string block = wide.Lanes;
        string marshal = "global::System.Runtime.InteropServices.MemoryMarshal";
        w.Line("[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]");
        using (w.Block($"static {v} Block({string.Join(", ", parameters.Select(p => v + " " + p))})"))
        {
            w.Line($"return {f.Emit(w, parameters, wide)};");
        }

        for (int k = 0; k < operands.Count; k++)
        {
            if (rowStrides[k + 1] == 0) w.Line($"var s{parameters[k]} = {wide.Expand(VectorType.Splat)}({OperandName(k)});");
            else w.Line($"ref float r{parameters[k]} = ref {marshal}.GetReference({operands[k].Span});");
        }

        w.Line($"ref float ry = ref {marshal}.GetReference(y);");
        // y can be an operand too (an epilogue in place over y, or a buffer the memory plan reuses in place).
        var sameShaped = Enumerable.Range(0, operands.Count).Where(k => rowStrides[k + 1] != 0).Select(k => $"global::System.Runtime.CompilerServices.Unsafe.AreSame(ref r{parameters[k]}, ref ry)").ToArray();
        w.Line($"bool wInPlace = {(sameShaped.Length == 0 ? "false" : string.Join(" || ", sameShaped))};");
        string Arguments(System.Func<int, string> load) => string.Join(", ", operands.Select((_, k) => rowStrides[k + 1] == 0 ? "s" + parameters[k] : load(k)));
        string Partial(string count) =>
            $"{KernelMath}.StorePartial(Block({Arguments(k => $"{KernelMath}.LoadPartial({operands[k].Span}.Slice({at("j", k)}), {count})")}), y.Slice({Plus(oy, "j")}), {count});";
        string Whole(bool stream)
        {
            string result = $"Block({Arguments(k => $"{wide.Ops}.LoadUnsafe(ref r{parameters[k]}, (nuint)({at("j", k)}))")})";
            return stream
                ? $"{KernelMath}.StoreNonTemporal({result}, ref ry, (nuint)({Plus(oy, "j")}));"
                : $"{wide.Ops}.StoreUnsafe({result}, ref ry, (nuint)({Plus(oy, "j")}));";
        }

        // Rows long enough: whole blocks only, the first and last ones overlapping their neighbours (recomputing a few
        // elements beats a partial block). Not in place: an overlapping block would read what its neighbour already
        // wrote (a bias added twice); those rows take the partial blocks below. With non-temporal stores, the lines the
        // overlapping blocks touch (the first two and the last two) are written with ordinary stores and only the lines
        // between with non-temporal ones.
        using (w.Block($"if (!wInPlace && {to} - j >= {(streamStores ? 3 : 1) * VectorType.WideLanes})"))
        {
            w.Line($"int head = {KernelMath}.ElementsToAlignment(y.Slice({Plus(oy, "j")}));");
            w.Line(Whole(stream: false));
            w.Line("j += head;");
            if (streamStores)
            {
                // The lines this row's last blocks and the next row's first blocks write with ordinary stores: the one
                // holding element to - 16 and the next (the next row's first), and in rows that start mid-line the one after.
                w.Line($"{KernelMath}.PrefetchLines(ref ry, {Plus(oy, to)} - {block}, head < {block} ? 3 : 2);");
                using (w.Block($"if (head < {block})"))
                {
                    w.Line(Whole(stream: false));
                    w.Line($"j += {block};");
                }

                using (w.Block($"for (; j <= {to} - {2 * VectorType.WideLanes}; j += {block})"))
                {
                    w.Line(Whole(stream: true));
                }

                w.Line(Whole(stream: false));
                w.Line($"j += {block};");
            }
            else
            {
                using (w.Block($"for (; j <= {to} - {block}; j += {block})"))
                {
                    w.Line(Whole(stream: false));
                }
            }

            using (w.Block($"if (j < {to})"))
            {
                w.Line($"j = {to} - {block};");
                w.Line(Whole(stream: false));
            }

            w.Line($"j = {to};");
        }

        // Short rows and rows in place: consecutive blocks, the last one partial.
        using (w.Block($"for (int count = {DMath}.Min({block}, {to} - j); j < {to}; j += count, count = {DMath}.Min({block}, {to} - j))"))
        {
            w.Line(Partial("count"));
        }
    }

    /// <summary>One row of <paramref name="n"/> outputs, contiguous in y; operand k starts at offsets[k + 1] and
    /// steps by rowStrides[k + 1] (offsets[0] is y's).</summary>
    /// <remarks>
    /// Vectorizable rows get two vector loops: a <see cref="VectorType.Wide"/> one where
    /// <c>Vector512.IsHardwareAccelerated</c>, in blocks of 16 that start at y's first 64-byte boundary, the head and
    /// tail blocks loaded and stored partially so that every element of the row goes through the same arithmetic (the
    /// values do not depend on where a thread's chunk starts); else a <see cref="VectorType.Numerics"/> loop and a
    /// scalar tail. With <paramref name="streamStores"/> (y pinned by the caller) whole blocks are written with
    /// non-temporal stores.
    /// </remarks>
    /// <param name="range">When set, only elements [first, second) of the row (a chunk run by one thread).</param>
    private static void EmitElementwiseRow(CodeWriter w, int n, string[] offsets, int[] rowStrides, IReadOnlyList<ElementwiseOperand> operands, ElementwiseProgram f, (string From, string To)? range = null, bool streamStores = false)
    {
        var (from, to) = range ?? ("0", Lit(n));
        string oy = offsets[0];
        bool vector = f.Vectorizable && n >= MinVectorLength && rowStrides.Skip(1).All(s => s is 0 or 1);
        var scalars = operands.Select((_, k) => OperandName(k)).ToArray();
        var vectors = scalars.Select(name => "v" + name).ToArray();
        for (int k = 0; k < operands.Count; k++)
        {
            if (rowStrides[k + 1] != 0) continue;

            // Constant along the row (broadcast): load once.
            w.Line($"float {scalars[k]} = {operands[k].Span}[{offsets[k + 1]}];");
            if (vector) w.Line($"var {vectors[k]} = {VectorType.Numerics.Expand(VectorType.Splat)}({scalars[k]});");
        }

        string At(int k) => Plus(offsets[k + 1], Times("j", rowStrides[k + 1]));

        if (vector)
        {
            w.Line($"int j = {from};");
            using (w.Block($"if ({VectorType.Wide.Ops}.IsHardwareAccelerated)"))
            {
                EmitWideRow(w, to, oy, (index, k) => Plus(offsets[k + 1], Times(index, rowStrides[k + 1])), rowStrides, operands, f, streamStores);
            }

            using (w.Block($"for (; j <= {to} - {Lanes}; j += {Lanes})"))
            {
                for (int k = 0; k < operands.Count; k++)
                {
                    if (rowStrides[k + 1] != 0) w.Line($"var {vectors[k]} = new {Vec}({operands[k].Span}.Slice({At(k)}));");
                }

                string result = f.Emit(w, vectors, VectorType.Numerics);
                w.Line($"{(result.All(char.IsLetterOrDigit) ? result : "(" + result + ")")}.CopyTo(y.Slice({Plus(oy, "j")}));");
            }
        }

        using (w.Block(vector ? $"for (; j < {to}; j++)" : $"for (int j = {from}; j < {to}; j++)"))
        {
            for (int k = 0; k < operands.Count; k++)
            {
                if (rowStrides[k + 1] != 0) w.Line($"float {scalars[k]} = {operands[k].Span}[{At(k)}];");
            }

            w.Line($"y[{Plus(oy, "j")}] = {f.Emit(w, scalars, vector: null)};");
        }
    }
}
