using System;
using System.Linq;
using Aot.Generator.IR;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends.Gpu;

// Reductions (ReduceSum/Mean/Max, GlobalAvgPool), Softmax and LayerNorm: a group per row (or per output) with a
// shared-memory tree reduction, or a thread per row when rows are short.
internal static partial class GpuKernels
{
    /// <summary>Rows shorter than this are reduced by one thread each (a group would idle most of its threads).</summary>
    private const int ShortRow = 32;

    private enum ReduceKind
    {
        Sum,
        Mean,
        Max,
    }

    private static GpuKernel Reduce(Graph graph, Node node, GpuTarget target)
    {
        var kind = node.Op switch
        {
            OpKind.ReduceSum => ReduceKind.Sum,
            OpKind.ReduceMean => ReduceKind.Mean,
            _ => ReduceKind.Max,
        };
        var axes = node.Attrs.Ints(AttrNames.Axes);
        var inShape = Shapes.Of(graph, node.Inputs[0]);
        string summary = $"{node.Op} of x0{Fmt(inShape)} over axes {Fmt(axes)} -> y{Fmt(Shapes.Of(graph, node.Output))}";
        return EmitReduce(node, inShape, axes, kind, summary, target);
    }

    private static GpuKernel GlobalAvgPool(Graph graph, Node node, GpuTarget target)
    {
        var x = Shapes.Of(graph, node.Inputs[0]);
        return EmitReduce(node, x, new[] { 2, 3 }, ReduceKind.Mean, $"GlobalAvgPool x0{Fmt(x)} -> y{Fmt(Shapes.Of(graph, node.Output))}: the mean of each H x W plane", target);
    }

    /// <summary>
    /// y = reduce(x0) over <paramref name="axes"/>, y holding the kept axes in order. Output o starts at the offset of
    /// its kept coordinates; reduced element r adds the offset of its reduced coordinates (both coalesced). Short
    /// reductions, and strided ones with many outputs (neighbouring outputs are then neighbours in memory), run one
    /// thread per output; the others one group per output whose threads stride over the reduced elements and combine
    /// their partial results in a tree. Max propagates NaN like MathF.Max; the mean of nothing is NaN, its max -infinity.
    /// </summary>
    private static GpuKernel EmitReduce(Node node, int[] inShape, int[] axes, ReduceKind kind, string summary, GpuTarget target)
    {
        var inStrides = RowMajorStrides(inShape);
        var kept = Enumerable.Range(0, inShape.Length).Where(d => !axes.Contains(d)).ToArray();
        var reduced = axes.OrderBy(d => d).ToArray();
        var keptShape = kept.Select(d => inShape[d]).ToArray();
        var reducedShape = reduced.Select(d => inShape[d]).ToArray();
        long outputs = Count(keptShape), count = Count(reducedShape);
        var (outer, outerStrides) = Coalesce(keptShape, new[] { kept.Select(d => inStrides[d]).ToArray() });
        var (inner, innerStrides) = Coalesce(reducedShape, new[] { reduced.Select(d => inStrides[d]).ToArray() });
        string init = kind == ReduceKind.Max ? "float.NegativeInfinity" : "0f";
        string combine = kind == ReduceKind.Max ? GMath + ".Max({0}, {1})" : "{0} + {1}";
        string Finish(string acc) => kind == ReduceKind.Mean ? $"{acc} / {Lit((float)count)}" : acc;
        bool innermostContiguous = innerStrides[0].Length > 0 && innerStrides[0][innerStrides[0].Length - 1] == 1;
        bool perThread = count <= ShortRow || (!innermostContiguous && outputs >= 256);

        if (perThread)
        {
            var (groups, groupSize) = target.GridStride(outputs);
            return new GpuKernel(summary + $"; one thread per output ({count} elements each)", NodeParams(node), groups, groupSize, 0, w =>
            {
                GridStrideLoop(w, outputs, groups, groupSize, "o", () =>
                {
                    string start = EmitOffsets(w, "o", outer, new[] { new StridedView("x", outerStrides[0]) }, "o_")[0];
                    w.Line($"float acc = {init};");
                    using (w.Block($"for (int r = 0; r < {Lit(count)}; r++)"))
                    {
                        string at = EmitOffsets(w, "r", inner, new[] { new StridedView("x", innerStrides[0], start) }, "r_")[0];
                        w.Line($"acc = {string.Format(combine, "acc", $"x0[{at}]")};");
                    }

                    w.Line($"y[o] = {Finish("acc")};");
                });
            });
        }

        int g = target.ReductionGroup(count);
        int rowGroups = (int)Math.Min(outputs, (long)target.Multiprocessors * (target.MaxThreadsPerMultiprocessor / g));
        return new GpuKernel(summary + $"; one group of {g} per output ({count} elements each)", NodeParams(node), rowGroups, g, g * sizeof(float), w =>
        {
            w.Line($"var scratch = {Shared}.Allocate<float>({Lit(g)});");
            w.Line($"int t = {Group}.IdxX;");
            using (w.Block($"for (int o = {Grid}.IdxX; o < {Lit(outputs)}; o += {Lit(rowGroups)})"))
            {
                string start = EmitOffsets(w, "o", outer, new[] { new StridedView("x", outerStrides[0]) }, "o_")[0];
                w.Line($"float acc = {init};");
                using (w.Block($"for (int r = t; r < {Lit(count)}; r += {Lit(g)})"))
                {
                    string at = EmitOffsets(w, "r", inner, new[] { new StridedView("x", innerStrides[0], start) }, "r_")[0];
                    w.Line($"acc = {string.Format(combine, "acc", $"x0[{at}]")};");
                }

                EmitGroupReduce(w, g, "scratch", "acc", combine, "total");
                w.Line($"if (t == 0) y[o] = {Finish("total")};");
            }
        });
    }

    /// <summary>
    /// Splits <paramref name="shape"/> around the axes [from, to): rows of n = product(from..to) elements with
    /// stride inner = product(to..), starting at (row / inner) * n * inner + row % inner.
    /// </summary>
    private static (int Rows, int N, int Inner) Rows(int[] shape, int from, int to) =>
        (Product(shape, 0, from) * Product(shape, to, shape.Length), Product(shape, from, to), Product(shape, to, shape.Length));

    private static string RowStart(int n, int inner) =>
        inner == 1 ? $"row * {Lit(n)}" : $"row / {Lit(inner)} * {Lit((long)n * inner)} + row % {Lit(inner)}";

    /// <summary>
    /// Softmax along one axis: exp(x - max) / sum per row. Rows of up to 32 elements take one thread each (and with
    /// a non-last axis, neighbouring threads then read neighbouring addresses); longer rows one group each, which
    /// reduces the max, then the sum of exponentials (kept in y), then scales y.
    /// </summary>
    private static GpuKernel Softmax(Graph graph, Node node, GpuTarget target)
    {
        var shape = Shapes.Of(graph, node.Inputs[0]);
        int axis = (int)node.Attrs.Int(AttrNames.Axis);
        var (rows, n, inner) = Rows(shape, axis, axis + 1);
        string summary = $"Softmax of x0{Fmt(shape)} along axis {axis}: {rows} rows of {n} elements with stride {inner}; exp(x - max) / sum";
        string At(string t) => inner == 1 ? $"start + {t}" : $"start + ({t}) * {Lit(inner)}";
        if (n <= ShortRow)
        {
            var (groups, groupSize) = target.GridStride(rows);
            return new GpuKernel(summary + "; one thread per row", NodeParams(node), groups, groupSize, 0, w =>
            {
                GridStrideLoop(w, rows, groups, groupSize, "row", () =>
                {
                    w.Line($"int start = {RowStart(n, inner)};");
                    w.Line("float max = float.NegativeInfinity;");
                    w.Line($"for (int j = 0; j < {Lit(n)}; j++) max = {GMath}.Max(max, x0[{At("j")}]);");
                    w.Line("float sum = 0f;");
                    using (w.Block($"for (int j = 0; j < {Lit(n)}; j++)"))
                    {
                        w.Line($"float e = {GMath}.FastExp(x0[{At("j")}] - max);");
                        w.Line($"y[{At("j")}] = e;");
                        w.Line("sum += e;");
                    }

                    w.Line("float scale = 1f / sum;");
                    w.Line($"for (int j = 0; j < {Lit(n)}; j++) y[{At("j")}] *= scale;");
                });
            });
        }

        if (WarpRows(rows, n, inner, target) is { } warp)
        {
            // One warp per row, the row in registers, reductions by shuffles: no shared memory, no barriers.
            int cachedW = CeilDiv(n, target.WarpSize);
            return new GpuKernel(summary + $"; one warp per row, {cachedW} elements per lane kept in registers, shuffle reductions", NodeParams(node), warp.Groups, warp.GroupSize, 0, w =>
            {
                EmitWarpRowLoop(w, rows, warp, target, () =>
                {
                    w.Line($"int start = row * {Lit(n)};");
                    EmitCachedRow(w, n, target.WarpSize, "v", j => $"x0[start + {j}]", "float.NegativeInfinity");
                    w.Line("float max = v0;");
                    for (int e = 1; e < cachedW; e++) w.Line($"max = {GMath}.Max(max, v{e});");
                    EmitWarpReduce(w, target, "max", GMath + ".Max({0}, {1})");
                    for (int e = 0; e < cachedW; e++)
                    {
                        string exp = $"{GMath}.FastExp(v{e} - max)";
                        w.Line(Guarded(n, target.WarpSize, e) is { } guard ? $"float e{e} = {guard} ? {exp} : 0f;" : $"float e{e} = {exp};");
                    }

                    w.Line("float sum = " + string.Join(" + ", Enumerable.Range(0, cachedW).Select(e => "e" + e)) + ";");
                    EmitWarpReduce(w, target, "sum", "{0} + {1}");
                    w.Line("float scale = 1f / sum;");
                    for (int e = 0; e < cachedW; e++)
                    {
                        string j = Plus("t", Lit(e * target.WarpSize));
                        string store = $"y[start + {j}] = e{e} * scale;";
                        w.Line(Guarded(n, target.WarpSize, e) is { } guard ? $"if ({guard}) {store}" : store);
                    }
                });
            });
        }

        int g = target.ReductionGroup(n);
        int rowGroups = Math.Min(rows, target.Multiprocessors * (target.MaxThreadsPerMultiprocessor / g));
        int cached = CeilDiv(n, g);
        if (cached <= MaxCachedPerThread)
        {
            // The row stays in registers: one read and one write per element.
            return new GpuKernel(summary + $"; one group of {g} per row, {cached} elements per thread kept in registers", NodeParams(node), rowGroups, g, g * sizeof(float), w =>
            {
                w.Line($"var scratch = {Shared}.Allocate<float>({Lit(g)});");
                w.Line($"int t = {Group}.IdxX;");
                using (w.Block($"for (int row = {Grid}.IdxX; row < {Lit(rows)}; row += {Lit(rowGroups)})"))
                {
                    w.Line($"int start = {RowStart(n, inner)};");
                    EmitCachedRow(w, n, g, "v", j => $"x0[{At(j)}]", "float.NegativeInfinity");
                    w.Line("float max = v0;");
                    for (int e = 1; e < cached; e++) w.Line($"max = {GMath}.Max(max, v{e});");
                    EmitGroupReduce(w, g, "scratch", "max", GMath + ".Max({0}, {1})", "rowMax");
                    for (int e = 0; e < cached; e++)
                    {
                        string exp = $"{GMath}.FastExp(v{e} - rowMax)";
                        w.Line(Guarded(n, g, e) is { } guard ? $"float e{e} = {guard} ? {exp} : 0f;" : $"float e{e} = {exp};");
                    }

                    w.Line("float sum = " + string.Join(" + ", Enumerable.Range(0, cached).Select(e => "e" + e)) + ";");
                    EmitGroupReduce(w, g, "scratch", "sum", "{0} + {1}", "rowSum");
                    w.Line("float scale = 1f / rowSum;");
                    for (int e = 0; e < cached; e++)
                    {
                        string j = Plus("t", Lit(e * g));
                        string store = $"y[{At(j)}] = e{e} * scale;";
                        w.Line(Guarded(n, g, e) is { } guard ? $"if ({guard}) {store}" : store);
                    }
                }
            });
        }

        return new GpuKernel(summary + $"; one group of {g} per row", NodeParams(node), rowGroups, g, g * sizeof(float), w =>
        {
            w.Line($"var scratch = {Shared}.Allocate<float>({Lit(g)});");
            w.Line($"int t = {Group}.IdxX;");
            using (w.Block($"for (int row = {Grid}.IdxX; row < {Lit(rows)}; row += {Lit(rowGroups)})"))
            {
                w.Line($"int start = {RowStart(n, inner)};");
                w.Line("float max = float.NegativeInfinity;");
                w.Line($"for (int j = t; j < {Lit(n)}; j += {Lit(g)}) max = {GMath}.Max(max, x0[{At("j")}]);");
                EmitGroupReduce(w, g, "scratch", "max", GMath + ".Max({0}, {1})", "rowMax");
                w.Line("float sum = 0f;");
                using (w.Block($"for (int j = t; j < {Lit(n)}; j += {Lit(g)})"))
                {
                    w.Line($"float e = {GMath}.FastExp(x0[{At("j")}] - rowMax);");
                    w.Line($"y[{At("j")}] = e;");
                    w.Line("sum += e;");
                }

                EmitGroupReduce(w, g, "scratch", "sum", "{0} + {1}", "rowSum");
                w.Line("float scale = 1f / rowSum;");
                w.Line($"for (int j = t; j < {Lit(n)}; j += {Lit(g)}) y[{At("j")}] *= scale;");
            }
        });
    }

    /// <summary>
    /// LayerNorm over the trailing axes from <c>axis</c> (rows of n contiguous elements): two passes over each row,
    /// the mean and then the mean squared deviation (no cancellation), y = (x - mean) / sqrt(var + epsilon) * gamma + beta.
    /// A group per row with tree reductions, or a thread per row for rows of up to 32 elements.
    /// </summary>
    private static GpuKernel LayerNorm(Graph graph, Node node, GpuTarget target)
    {
        var shape = Shapes.Of(graph, node.Inputs[0]);
        int axis = (int)node.Attrs.Int(AttrNames.Axis);
        float epsilon = node.Attrs.Float(AttrNames.Epsilon);
        var (rows, n, _) = Rows(shape, axis, shape.Length);
        string summary = $"LayerNorm of x0{Fmt(shape)} over axes {axis}..{shape.Length - 1}: {rows} rows of {n}; (x - mean) / sqrt(biased var + {Lit(epsilon)}) * x1 + x2";
        if (n <= ShortRow)
        {
            var (groups, groupSize) = target.GridStride(rows);
            return new GpuKernel(summary + "; one thread per row", NodeParams(node), groups, groupSize, 0, w =>
            {
                GridStrideLoop(w, rows, groups, groupSize, "row", () =>
                {
                    w.Line($"int start = row * {Lit(n)};");
                    w.Line("float sum = 0f;");
                    w.Line($"for (int j = 0; j < {Lit(n)}; j++) sum += x0[start + j];");
                    w.Line($"float mean = sum / {Lit((float)n)};");
                    w.Line("float squares = 0f;");
                    w.Line($"for (int j = 0; j < {Lit(n)}; j++) {{ float d = x0[start + j] - mean; squares += d * d; }}");
                    w.Line($"float rstd = 1f / {GMath}.Sqrt(squares / {Lit((float)n)} + {Lit(epsilon)});");
                    w.Line($"for (int j = 0; j < {Lit(n)}; j++) y[start + j] = (x0[start + j] - mean) * rstd * x1[j] + x2[j];");
                });
            });
        }

        if (WarpRows(rows, n, 1, target) is { } warp)
        {
            // One warp per row, the row in registers, reductions by shuffles: no shared memory, no barriers.
            int cachedW = CeilDiv(n, target.WarpSize);
            return new GpuKernel(summary + $"; one warp per row, {cachedW} elements per lane kept in registers, shuffle reductions", NodeParams(node), warp.Groups, warp.GroupSize, 0, w =>
            {
                EmitWarpRowLoop(w, rows, warp, target, () =>
                {
                    w.Line($"int start = row * {Lit(n)};");
                    EmitCachedRow(w, n, target.WarpSize, "v", j => $"x0[start + {j}]", "0f");
                    w.Line("float sum = " + string.Join(" + ", Enumerable.Range(0, cachedW).Select(e => "v" + e)) + ";");
                    EmitWarpReduce(w, target, "sum", "{0} + {1}");
                    w.Line($"float mean = sum / {Lit((float)n)};");
                    for (int e = 0; e < cachedW; e++)
                    {
                        w.Line(Guarded(n, target.WarpSize, e) is { } guard ? $"float d{e} = {guard} ? v{e} - mean : 0f;" : $"float d{e} = v{e} - mean;");
                    }

                    w.Line("float squares = " + string.Join(" + ", Enumerable.Range(0, cachedW).Select(e => $"d{e} * d{e}")) + ";");
                    EmitWarpReduce(w, target, "squares", "{0} + {1}");
                    w.Line($"float rstd = 1f / {GMath}.Sqrt(squares / {Lit((float)n)} + {Lit(epsilon)});");
                    for (int e = 0; e < cachedW; e++)
                    {
                        string j = Plus("t", Lit(e * target.WarpSize));
                        string store = $"y[start + {j}] = d{e} * rstd * x1[{j}] + x2[{j}];";
                        w.Line(Guarded(n, target.WarpSize, e) is { } guard ? $"if ({guard}) {store}" : store);
                    }
                });
            });
        }

        int g = target.ReductionGroup(n);
        int rowGroups = Math.Min(rows, target.Multiprocessors * (target.MaxThreadsPerMultiprocessor / g));
        int cached = CeilDiv(n, g);
        if (cached <= MaxCachedPerThread)
        {
            // The row stays in registers: one read and one write per element.
            return new GpuKernel(summary + $"; one group of {g} per row, {cached} elements per thread kept in registers", NodeParams(node), rowGroups, g, g * sizeof(float), w =>
            {
                w.Line($"var scratch = {Shared}.Allocate<float>({Lit(g)});");
                w.Line($"int t = {Group}.IdxX;");
                using (w.Block($"for (int row = {Grid}.IdxX; row < {Lit(rows)}; row += {Lit(rowGroups)})"))
                {
                    w.Line($"int start = row * {Lit(n)};");
                    EmitCachedRow(w, n, g, "v", j => $"x0[start + {j}]", "0f");
                    w.Line("float sum = " + string.Join(" + ", Enumerable.Range(0, cached).Select(e => "v" + e)) + ";");
                    EmitGroupReduce(w, g, "scratch", "sum", "{0} + {1}", "rowSum");
                    w.Line($"float mean = rowSum / {Lit((float)n)};");
                    for (int e = 0; e < cached; e++)
                    {
                        w.Line(Guarded(n, g, e) is { } guard ? $"float d{e} = {guard} ? v{e} - mean : 0f;" : $"float d{e} = v{e} - mean;");
                    }

                    w.Line("float squares = " + string.Join(" + ", Enumerable.Range(0, cached).Select(e => $"d{e} * d{e}")) + ";");
                    EmitGroupReduce(w, g, "scratch", "squares", "{0} + {1}", "rowSquares");
                    w.Line($"float rstd = 1f / {GMath}.Sqrt(rowSquares / {Lit((float)n)} + {Lit(epsilon)});");
                    for (int e = 0; e < cached; e++)
                    {
                        string j = Plus("t", Lit(e * g));
                        string store = $"y[start + {j}] = d{e} * rstd * x1[{j}] + x2[{j}];";
                        w.Line(Guarded(n, g, e) is { } guard ? $"if ({guard}) {store}" : store);
                    }
                }
            });
        }

        return new GpuKernel(summary + $"; one group of {g} per row", NodeParams(node), rowGroups, g, g * sizeof(float), w =>
        {
            w.Line($"var scratch = {Shared}.Allocate<float>({Lit(g)});");
            w.Line($"int t = {Group}.IdxX;");
            using (w.Block($"for (int row = {Grid}.IdxX; row < {Lit(rows)}; row += {Lit(rowGroups)})"))
            {
                w.Line($"int start = row * {Lit(n)};");
                w.Line("float sum = 0f;");
                w.Line($"for (int j = t; j < {Lit(n)}; j += {Lit(g)}) sum += x0[start + j];");
                EmitGroupReduce(w, g, "scratch", "sum", "{0} + {1}", "rowSum");
                w.Line($"float mean = rowSum / {Lit((float)n)};");
                w.Line("float squares = 0f;");
                w.Line($"for (int j = t; j < {Lit(n)}; j += {Lit(g)}) {{ float d = x0[start + j] - mean; squares += d * d; }}");
                EmitGroupReduce(w, g, "scratch", "squares", "{0} + {1}", "rowSquares");
                w.Line($"float rstd = 1f / {GMath}.Sqrt(rowSquares / {Lit((float)n)} + {Lit(epsilon)});");
                w.Line($"for (int j = t; j < {Lit(n)}; j += {Lit(g)}) y[start + j] = (x0[start + j] - mean) * rstd * x1[j] + x2[j];");
            }
        });
    }

    /// <summary>Rows of up to this many elements per thread are kept in registers by Softmax and LayerNorm.</summary>
    private const int MaxCachedPerThread = 16;

    /// <summary>Rows of up to this many elements per lane are reduced by one warp each (<see cref="WarpRows"/>).</summary>
    private const int MaxCachedPerLane = 32;

    /// <summary>Launch of a warp-per-row kernel: groups of <see cref="GroupSize"/> threads, each warp a row at a time.</summary>
    private sealed record WarpLaunch(int Groups, int GroupSize, int WarpsPerGroup);

    /// <summary>
    /// The warp-per-row launch for rows of <paramref name="n"/> contiguous elements (<paramref name="inner"/> 1), longer
    /// than <see cref="ShortRow"/> and at most <see cref="MaxCachedPerLane"/> per lane; null otherwise (then a group per
    /// row). Every lane keeps its elements t, t + 32, ... in registers, so a warp reads a row in coalesced 128-byte
    /// lines and reduces it with shuffles, without shared memory or barriers.
    /// </summary>
    private static WarpLaunch? WarpRows(int rows, int n, int inner, GpuTarget target)
    {
        if (!target.WarpRowReductions || inner != 1 || n <= ShortRow || CeilDiv(n, target.WarpSize) > MaxCachedPerLane) return null;
        int groupSize = target.GroupSizeLimit;
        int warps = groupSize / target.WarpSize;
        int groups = Math.Max(1, Math.Min(CeilDiv(rows, warps), target.Multiprocessors * (target.MaxThreadsPerMultiprocessor / groupSize)));
        return new WarpLaunch(groups, groupSize, warps);
    }

    /// <summary>The loop over rows of a warp-per-row kernel: declares t (the lane) and walks row = global warp index,
    /// + total warps, ...; every lane of a warp takes the same rows, so shuffles inside are uniform.</summary>
    private static void EmitWarpRowLoop(CodeWriter w, int rows, WarpLaunch warp, GpuTarget target, Action body)
    {
        int groups = warp.Groups;
        w.Line($"int t = {Group}.IdxX % {Lit(target.WarpSize)};");
        using (w.Block($"for (int row = {Grid}.IdxX * {Lit(warp.WarpsPerGroup)} + {Group}.IdxX / {Lit(target.WarpSize)}; row < {Lit(rows)}; row += {Lit((long)groups * warp.WarpsPerGroup)})"))
        {
            body();
        }
    }

    /// <summary>Combines <paramref name="value"/> (a float local) across the warp's lanes with a butterfly of
    /// <c>Warp.ShuffleXor</c>: every lane ends with the result.</summary>
    private static void EmitWarpReduce(CodeWriter w, GpuTarget target, string value, string combine)
    {
        for (int mask = target.WarpSize / 2; mask > 0; mask /= 2)
        {
            w.Line($"{value} = {string.Format(combine, value, $"global::ILGPU.Warp.ShuffleXor({value}, {Lit(mask)})")};");
        }
    }

    /// <summary>Declares v0, v1, ...: this thread's elements t, t + g, ... of a row of <paramref name="n"/> (only the last
    /// can be past the end; it gets <paramref name="missing"/> then).</summary>
    private static void EmitCachedRow(CodeWriter w, int n, int g, string name, Func<string, string> at, string missing)
    {
        int cached = CeilDiv(n, g);
        for (int e = 0; e < cached; e++)
        {
            string j = Plus("t", Lit(e * g));
            w.Line(Guarded(n, g, e) is { } guard ? $"float {name}{e} = {guard} ? {at(j)} : {missing};" : $"float {name}{e} = {at(j)};");
        }
    }

    /// <summary>The bounds check of a thread's element e (t + e*g) of a row of n, or null when every thread's is in range.</summary>
    private static string? Guarded(int n, int g, int e) => (e + 1) * g <= n ? null : $"t < {Lit(n - e * g)}";
}
