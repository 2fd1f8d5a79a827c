using System;
using System.Collections.Generic;
using System.Linq;
using Aot.Generator.IR;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends.Gpu;

// Matrix products through one tiled GEMM emitter: MatMul (numpy batched), Gemm, and Conv2d as an implicit GEMM.
internal static partial class GpuKernels
{
    /// <summary>
    /// An operand of <see cref="EmitGemm"/> as a function of its (row, col) coordinates: A is M x K, B is K x N.
    /// Linear operands are View[Base + row * RowStride + col * ColStride] (a transpose swaps the strides);
    /// <see cref="Custom"/>, when set, replaces that with any expression (the im2col address of a convolution) and
    /// must read nothing out of bounds for in-range coordinates.
    /// </summary>
    internal sealed record GemmOperand(string View, string Base, int RowStride, int ColStride, Func<string, string, string>? Custom = null, bool BaseAligned = true)
    {
        /// <summary>Whether consecutive columns are adjacent in memory (else rows are, when RowStride is 1), which
        /// decides how a group's threads spread over a tile so that neighbours load neighbouring addresses.</summary>
        public bool ColumnsContiguous => Custom is not null || ColStride == 1 || RowStride != 1;

        // BaseAligned: Base is a multiple of 4 elements for every batch (a requirement of 128-bit loads, with the view's
        // own 16-byte alignment).
    }

    /// <summary>
    /// One GEMM launch: <see cref="Batch"/> independent products y_b[M, N] = epilogue(A_b[M, K] @ B_b[K, N]).
    /// <see cref="EmitBases"/> declares, from the local <c>batch</c>, whatever the operands' Base expressions and the
    /// epilogue use (at least yBase); <see cref="Epilogue"/> maps (writer, accumulator, row, col, local suffix) to the
    /// stored value, and may declare locals (named with the suffix) before it. Element (row, col) of product b is
    /// stored at y[yBase + row * YRowStride + col * YColStride] (YRowStride 0 means N: a dense result).
    /// </summary>
    internal sealed record GemmSpec(
        string Summary,
        IReadOnlyList<GpuParam> Params,
        long Batch,
        int M,
        int N,
        int K,
        GemmOperand A,
        GemmOperand B,
        Action<CodeWriter> EmitBases,
        Func<CodeWriter, string, string, string, string, string> Epilogue,
        Action<CodeWriter, string>? Helpers = null,
        int YRowStride = 0,
        int YColStride = 1);

    /// <summary>
    /// The tiled GEMM kernel. One group per output tile of BM x BN (groups numbered batch-major, then tile rows, then
    /// tile columns); the K loop stages BK-wide slices of A (stored transposed, BK x BM) and B (BK x BN) through two
    /// shared-memory buffers: while the group computes on one buffer, each thread already holds its share of the next
    /// slice in registers (loaded before the computation, stored to the other buffer after it), so one barrier per
    /// step suffices. Each thread accumulates a TM x TN micro-tile in registers from TM + TN shared-memory reads per k
    /// (the loop over BK is fully unrolled, with literal offsets). Loads past the edges of A and B read zeros; stores
    /// past the edges of y are skipped; both checks are emitted only when M, N or K is not a multiple of the tile.
    /// </summary>
    private static GpuKernel EmitGemm(GemmSpec spec, GpuTarget target)
    {
        var kernel = EmitGemm(spec, target, target.VectorizeGemmLoads);
        return kernel.VectorParams is null ? kernel : kernel with { Fallback = EmitGemm(spec, target, vectorLoads: false) };
    }

    /// <summary>The GEMM kernel; with <paramref name="vectorLoads"/>, operands that allow it (<see cref="TileLoader"/>) are
    /// read from global memory 128 bits at a time and named in the kernel's VectorParams.</summary>
    private static GpuKernel EmitGemm(GemmSpec spec, GpuTarget target, bool vectorLoads)
    {
        var choice = GpuTiling.Choose(spec.Batch, spec.M, spec.N, spec.K, target);
        var t = choice.Tile;
        int tilesM = CeilDiv(spec.M, t.BM), tilesN = CeilDiv(spec.N, t.BN);
        long groups = spec.Batch * tilesM * tilesN;
        if (groups > int.MaxValue) throw new NotSupportedException($"GEMM with {groups} tiles exceeds the grid size limit");
        int threads = t.Threads;
        int rowThreads = t.BM / t.TM, colThreads = t.BN / t.TN;
        int kSteps = CeilDiv(spec.K, t.BK);

        // Vectorized micro-tile: each thread's TM rows (TN columns) are TM/4 (TN/4) runs of 4 adjacent ones, so it reads
        // them from shared memory 128 bits at a time (a quarter of the load instructions per FMA); the padding is then
        // rounded up to a multiple of 4 words to keep every run 16-byte aligned.
        bool vector = target.VectorizeGemmShared && t.TM % VectorWidth == 0 && t.TN % VectorWidth == 0;
        int pad = target.SharedPad(t.BK);
        if (vector) pad = CeilDiv(pad, VectorWidth) * VectorWidth;
        int strideA = t.BM + pad, strideB = t.BN + pad; // words per k row of the shared slices
        int sliceA = t.BK * strideA, sliceB = t.BK * strideB;
        int sharedBytes = 2 * (sliceA + sliceB) * sizeof(float);
        var a = new TileLoader("a", spec.A, t.BM, t.BK, threads, spec.M, spec.K, kIsColumn: true, strideA, vectorLoads);
        var b = new TileLoader("b", spec.B, t.BK, t.BN, threads, spec.K, spec.N, kIsColumn: false, strideB, vectorLoads);
        var vectorParams = new[] { a, b }.Where(l => l.Vector).Select(l => l.View).Distinct().ToArray();

        return new GpuKernel(spec.Summary, spec.Params, (int)groups, threads, sharedBytes, w =>
        {
            w.Line("// " + choice.Explanation);
            w.Line($"// {tilesM} x {tilesN} tiles{(spec.Batch > 1 ? $" per batch, {spec.Batch} batches" : "")}, {kSteps} K steps");
            w.Line($"int t = {Group}.IdxX;");
            w.Line($"int tile = {Grid}.IdxX;");
            w.Line($"int tn = tile % {Lit(tilesN)};");
            w.Line($"int tm = tile / {Lit(tilesN)} % {Lit(tilesM)};");
            w.Line($"int batch = tile / {Lit((long)tilesN * tilesM)};");
            spec.EmitBases(w);
            w.Line($"int row0 = tm * {Lit(t.BM)};");
            w.Line($"int col0 = tn * {Lit(t.BN)};");
            if (vector)
            {
                w.Line($"int tr = t / {Lit(colThreads)}; // this thread's rows: row0 + (i / 4) * {4 * rowThreads} + tr * 4 + i % 4");
                w.Line($"int tc = t % {Lit(colThreads)}; // this thread's columns: col0 + (j / 4) * {4 * colThreads} + tc * 4 + j % 4");
            }
            else
            {
                w.Line($"int tr = t / {Lit(colThreads)}; // this thread's rows: row0 + tr + i * {rowThreads}");
                w.Line($"int tc = t % {Lit(colThreads)}; // this thread's columns: col0 + tc + j * {colThreads}");
            }
            for (int i = 0; i < t.TM; i++)
            {
                w.Line(string.Join(" ", Enumerable.Range(0, t.TN).Select(j => $"float c{i}_{j} = 0f;")));
            }

            if (kSteps > 0)
            {
                string padding = pad > 0 ? $" (+{pad} words of padding per k row)" : "";
                w.Line($"var sa = {Shared}.Allocate<float>({Lit(2 * sliceA)}); // A^T slices [2][{t.BK}][{t.BM}]{padding}");
                w.Line($"var sb = {Shared}.Allocate<float>({Lit(2 * sliceB)}); // B slices [2][{t.BK}][{t.BN}]{padding}");
                if (vector)
                {
                    w.Line($"var sa4 = {VectorView("sa")};");
                    w.Line($"var sb4 = {VectorView("sb")};");
                }

                a.EmitSetup(w);
                b.EmitSetup(w);
                w.Line("// K step 0: global -> registers -> shared buffer 0");
                a.EmitLoad(w, "0", declare: true);
                b.EmitLoad(w, "0", declare: true);
                a.EmitStore(w, "0");
                b.EmitStore(w, "0");
                w.Line($"{Group}.Barrier();");
                if (kSteps == 1)
                {
                    EmitMicroTile(w, t, "tr", "tc", strideA, strideB, target.SharedIndex64, vector);
                }
                else
                {
                    using (w.Block($"for (int ks = 0; ks < {Lit(kSteps)}; ks++)"))
                    {
                        w.Line("int buffer = ks & 1;");
                        using (w.Block($"if (ks + 1 < {Lit(kSteps)})"))
                        {
                            w.Line("// prefetch the next K step into registers while this one is computed");
                            a.EmitLoad(w, "(ks + 1)", declare: false);
                            b.EmitLoad(w, "(ks + 1)", declare: false);
                        }

                        // In 4-float units for the vectorized micro-tile (slices and rows are multiples of 4 words).
                        int unit = vector ? VectorWidth : 1;
                        w.Line($"int ra = buffer * {Lit(sliceA / unit)} + tr;");
                        w.Line($"int rb = buffer * {Lit(sliceB / unit)} + tc;");
                        EmitMicroTile(w, t, "ra", "rb", strideA, strideB, target.SharedIndex64, vector);
                        using (w.Block($"if (ks + 1 < {Lit(kSteps)})"))
                        {
                            a.EmitStore(w, "(buffer ^ 1)");
                            b.EmitStore(w, "(buffer ^ 1)");
                        }

                        w.Line($"{Group}.Barrier();");
                    }
                }
            }

            w.Line("// epilogue");
            bool rowEdge = spec.M % t.BM != 0, colEdge = spec.N % t.BN != 0;
            for (int i = 0; i < t.TM; i++)
            {
                w.Line(vector
                    ? $"int gr{i} = row0 + {Plus(Lit(i / VectorWidth * VectorWidth * rowThreads + i % VectorWidth), $"tr * {VectorWidth}")};"
                    : $"int gr{i} = row0 + tr{(i == 0 ? "" : " + " + Lit(i * rowThreads))};");
            }

            for (int j = 0; j < t.TN; j++)
            {
                w.Line(vector
                    ? $"int gc{j} = col0 + {Plus(Lit(j / VectorWidth * VectorWidth * colThreads + j % VectorWidth), $"tc * {VectorWidth}")};"
                    : $"int gc{j} = col0 + tc{(j == 0 ? "" : " + " + Lit(j * colThreads))};");
            }
            int yRowStride = spec.YRowStride == 0 ? spec.N : spec.YRowStride;
            for (int i = 0; i < t.TM; i++)
            {
                using (rowEdge ? w.Block($"if (gr{i} < {Lit(spec.M)})") : null)
                {
                    w.Line($"int yr{i} = yBase + {Times($"gr{i}", yRowStride)};");
                    for (int j = 0; j < t.TN; j++)
                    {
                        using (colEdge ? w.Block($"if (gc{j} < {Lit(spec.N)})") : null)
                        {
                            string value = spec.Epilogue(w, $"c{i}_{j}", $"gr{i}", $"gc{j}", $"_{i}_{j}");
                            w.Line($"y[{Plus($"yr{i}", Times($"gc{j}", spec.YColStride))}] = {value};");
                        }
                    }
                }
            }
        }, spec.Helpers, vectorParams.Length > 0 ? vectorParams : null);
    }

    /// <summary>The unrolled inner product of one K step: for each k of the slice, TM values of A^T and TN of B from
    /// shared memory (literal offsets from <paramref name="aStart"/> / <paramref name="bStart"/>), TM x TN FMAs.</summary>
    private static void EmitMicroTile(CodeWriter w, GemmTile t, string aStart, string bStart, int strideA, int strideB, bool index64, bool vector)
    {
        int rowThreads = t.BM / t.TM, colThreads = t.BN / t.TN;
        if (vector)
        {
            // aStart / bStart count 4-float units here: TM/4 + TN/4 128-bit reads per k, each feeding 4 rows or columns.
            string va = aStart, vb = bStart, vsuffix = "";
            if (index64)
            {
                w.Line($"long la = {aStart};");
                w.Line($"long lb = {bStart};");
                (va, vb, vsuffix) = ("la", "lb", "L");
            }

            for (int kk = 0; kk < t.BK; kk++)
            {
                using (w.Block())
                {
                    w.Line(string.Join(" ", Enumerable.Range(0, t.TM / VectorWidth).Select(g => $"var a{g} = sa4[{va} + {Lit((kk * strideA) / VectorWidth + g * rowThreads)}{vsuffix}];")));
                    w.Line(string.Join(" ", Enumerable.Range(0, t.TN / VectorWidth).Select(g => $"var b{g} = sb4[{vb} + {Lit((kk * strideB) / VectorWidth + g * colThreads)}{vsuffix}];")));
                    for (int i = 0; i < t.TM; i++)
                    {
                        string a = $"a{i / VectorWidth}.{Lanes[i % VectorWidth]}";
                        w.Line(string.Join(" ", Enumerable.Range(0, t.TN).Select(j => $"c{i}_{j} += {a} * b{j / VectorWidth}.{Lanes[j % VectorWidth]};")));
                    }
                }
            }

            return;
        }

        // With 64-bit offsets every read below is a register plus a literal, which PTX can fold into the load's
        // immediate offset; a 32-bit sum would have to be recomputed and widened per read (it may wrap).
        string la = aStart, lb = bStart, suffix = "";
        if (index64)
        {
            w.Line($"long la = {aStart};");
            w.Line($"long lb = {bStart};");
            (la, lb, suffix) = ("la", "lb", "L");
        }

        for (int kk = 0; kk < t.BK; kk++)
        {
            using (w.Block())
            {
                w.Line(string.Join(" ", Enumerable.Range(0, t.TM).Select(i => $"float a{i} = sa[{la} + {Lit(kk * strideA + i * rowThreads)}{suffix}];")));
                w.Line(string.Join(" ", Enumerable.Range(0, t.TN).Select(j => $"float b{j} = sb[{lb} + {Lit(kk * strideB + j * colThreads)}{suffix}];")));
                for (int i = 0; i < t.TM; i++)
                {
                    w.Line(string.Join(" ", Enumerable.Range(0, t.TN).Select(j => $"c{i}_{j} += a{i} * b{j};")));
                }
            }
        }
    }

    /// <summary>
    /// Moves one operand's Rows x Cols tile slice (A: BM x BK, B: BK x BN) from global memory through registers into
    /// shared memory, stored as [k][m] for A (transposed) and [k][n] for B. Element e = t + r * threads of the slice
    /// goes to thread t's prefetch register r; the slice is walked along the operand's contiguous dimension first.
    /// <para>
    /// <see cref="Vector"/> loaders move 4 elements adjacent along the contiguous dimension per register (one 128-bit
    /// load): for linear operands whose contiguous dimension has stride 1 and extents (the tile's and the operand's)
    /// that are multiples of 4, whose other stride and base are too, so every vector is 16-byte aligned and lies wholly
    /// inside or outside the operand. A Linear layer's weight read along k is one: a quarter of the load instructions.
    /// </para>
    /// </summary>
    private sealed class TileLoader
    {
        private readonly string _p;
        private readonly GemmOperand _op;
        private readonly int _rows, _cols, _threads, _globalRows, _globalCols;
        private readonly bool _kIsColumn;
        private readonly int _width; // elements per register: 4 for a vector loader, else 1
        private readonly int _loads;
        private readonly int _sharedStride;
        private readonly bool[] _guarded;

        public TileLoader(string prefix, GemmOperand op, int rows, int cols, int threads, int globalRows, int globalCols, bool kIsColumn, int sharedStride, bool vectorLoads)
        {
            _sharedStride = sharedStride;
            _p = prefix;
            _op = op;
            _rows = rows;
            _cols = cols;
            _threads = threads;
            _globalRows = globalRows;
            _globalCols = globalCols;
            _kIsColumn = kIsColumn;
            _width = vectorLoads && CanVectorize(op, rows, cols, globalRows, globalCols) ? VectorWidth : 1;
            _loads = CeilDiv(rows * cols / _width, threads);
            _guarded = new bool[_loads];
        }

        public bool Vector => _width > 1;

        public string View => _op.View;

        private static bool CanVectorize(GemmOperand op, int rows, int cols, int globalRows, int globalCols)
        {
            if (op.Custom is not null || !op.BaseAligned) return false;
            bool colsFast = op.ColStride == 1;
            if (!colsFast && op.RowStride != 1) return false;
            int tileFast = colsFast ? cols : rows, globalFast = colsFast ? globalCols : globalRows;
            int otherStride = colsFast ? op.RowStride : op.ColStride;
            return tileFast % VectorWidth == 0 && globalFast % VectorWidth == 0 && otherStride % VectorWidth == 0;
        }

        private int TileK => _kIsColumn ? _cols : _rows;

        private string Row(int r) => $"{_p}r{r}";

        private string Col(int r) => $"{_p}c{r}";

        private string Reg(int r) => $"p{_p}{r}";

        private string VectorOf => $"{_op.View}v";

        /// <summary>Declares each register's tile coordinates (fixed across K steps; a vector's first element) and, for
        /// linear operands, its global offset at K step 0 (in vectors for a vector loader); hoists the checks that do
        /// not depend on the K step.</summary>
        public void EmitSetup(CodeWriter w)
        {
            if (Vector) w.Line($"var {VectorOf} = {VectorView(_op.View)};");
            bool colsFast = _op.ColumnsContiguous;
            int fast = (colsFast ? _cols : _rows) / _width; // registers per line of the tile along the contiguous dimension
            string Scaled(string index) => _width == 1 ? index : $"({index}) * {Lit(_width)}";
            for (int r = 0; r < _loads; r++)
            {
                int e = r * _threads;
                string slow, fastIndex;
                if (_threads % fast == 0)
                {
                    fastIndex = Scaled($"t % {Lit(fast)}");
                    slow = Plus($"t / {Lit(fast)}", Lit(e / fast));
                }
                else
                {
                    fastIndex = Scaled($"({Plus("t", Lit(e))}) % {Lit(fast)}");
                    slow = $"({Plus("t", Lit(e))}) / {Lit(fast)}";
                }

                w.Line($"int {Row(r)} = {(colsFast ? slow : fastIndex)}, {Col(r)} = {(colsFast ? fastIndex : slow)};");
            }

            // The other-than-K coordinate is fixed for the whole loop: its edge check and (linear) offset are hoisted.
            int tileOther = _kIsColumn ? _rows : _cols;
            int globalOther = _kIsColumn ? _globalRows : _globalCols;
            int registers = _rows * _cols / _width;
            for (int r = 0; r < _loads; r++)
            {
                var conditions = new List<string>();
                if ((r + 1) * _threads > registers) conditions.Add($"t < {Lit(registers - r * _threads)}");
                if (globalOther % tileOther != 0) conditions.Add($"{Other(r)} < {Lit(globalOther)}");
                _guarded[r] = conditions.Count > 0;
                if (_guarded[r]) w.Line($"bool {_p}in{r} = {string.Join(" && ", conditions)};");
                if (_op.Custom is null)
                {
                    string row = _kIsColumn ? Other(r) : Row(r);
                    string col = _kIsColumn ? Col(r) : Other(r);
                    string offset = Plus(Plus(_op.Base, Times("(" + row + ")", _op.RowStride)), Times("(" + col + ")", _op.ColStride));
                    w.Line($"int {_p}o{r} = {(Vector ? $"({offset}) / {Lit(_width)}" : offset)};");
                }
            }
        }

        /// <summary>The global coordinate that is not K: row0 + row for A, col0 + col for B.</summary>
        private string Other(int r) => _kIsColumn ? $"row0 + {Row(r)}" : $"col0 + {Col(r)}";

        /// <summary>Loads K step <paramref name="step"/> (a C# expression) into the registers; zeros outside the operand.</summary>
        public void EmitLoad(CodeWriter w, string step, bool declare)
        {
            bool kEdge = (_kIsColumn ? _globalCols : _globalRows) % TileK != 0;
            int kStride = _kIsColumn ? _op.ColStride : _op.RowStride;
            for (int r = 0; r < _loads; r++)
            {
                string kLocal = _kIsColumn ? Col(r) : Row(r);
                string kGlobal = step == "0" ? kLocal : $"{step} * {Lit(TileK)} + {kLocal}";
                var checks = new List<string>();
                if (_guarded[r]) checks.Add($"{_p}in{r}");
                if (kEdge) checks.Add($"{kGlobal} < {Lit(_kIsColumn ? _globalCols : _globalRows)}");
                string load;
                if (_op.Custom is not null)
                {
                    string row = _kIsColumn ? Other(r) : kGlobal;
                    string col = _kIsColumn ? kGlobal : Other(r);
                    load = _op.Custom(row, col);
                }
                else
                {
                    string offset = step == "0" ? $"{_p}o{r}" : $"{_p}o{r} + {step} * {Lit((long)TileK * kStride / _width)}";
                    load = Vector ? $"{VectorOf}[{offset}]" : $"{_op.View}[{offset}]";
                }

                string zero = Vector ? $"default({Float4})" : "0f";
                string value = checks.Count == 0 ? load : $"{string.Join(" && ", checks)} ? {load} : {zero}";
                w.Line($"{(declare ? (Vector ? Float4 + " " : "float ") : "")}{Reg(r)} = {value};");
            }
        }

        /// <summary>Stores the registers into shared buffer <paramref name="buffer"/> (a C# expression, 0 or 1).</summary>
        public void EmitStore(CodeWriter w, string buffer)
        {
            string array = _kIsColumn ? "sa" : "sb";
            int registers = _rows * _cols / _width;
            int bufferSize = TileK * _sharedStride;
            bool colsFast = _op.ColumnsContiguous;
            for (int r = 0; r < _loads; r++)
            {
                var stores = new List<string>();
                for (int lane = 0; lane < _width; lane++)
                {
                    string row = colsFast || lane == 0 ? Row(r) : $"{Row(r)} + {lane}";
                    string col = !colsFast || lane == 0 ? Col(r) : $"{Col(r)} + {lane}";
                    // A^T: [k = col][m = row] with row stride BM (+ padding); B: [k = row][n = col] with row stride BN.
                    string at = _kIsColumn ? $"({col}) * {Lit(_sharedStride)} + {row}" : $"({row}) * {Lit(_sharedStride)} + {col}";
                    string start = buffer == "0" ? "" : $"{buffer} * {Lit(bufferSize)} + ";
                    stores.Add($"{array}[{start}{at}] = {Reg(r)}{(Vector ? "." + Lanes[lane] : "")};");
                }

                string all = string.Join(" ", stores);
                w.Line((r + 1) * _threads > registers ? $"if (t < {Lit(registers - r * _threads)}) {{ {all} }}" : all);
            }
        }
    }

    // ---- MatMul, Gemm ---------------------------------------------------------------------------------------

    /// <summary>An epilogue operand (see <see cref="Epilogue"/>) as the GEMM's store reads it: View[Base + row *
    /// RowStride + col * ColStride], Base depending on the batch only.</summary>
    private sealed record EpilogueView(string View, string Base, int RowStride, int ColStride);

    /// <summary>
    /// The stored value of one result element: <paramref name="product"/> (the product's own result, e.g. alpha * acc +
    /// beta * C) through the node's epilogue body, if it has one: register r0 is the product, r1..rE the epilogue
    /// operands read at (row, col), as locals suffixed with <paramref name="sfx"/>.
    /// </summary>
    private static string ApplyEpilogue(CodeWriter w, Node node, IReadOnlyList<EpilogueView> views, string product, string row, string col, string sfx)
    {
        if (!Epilogue.Has(node)) return product;
        var registers = new List<string>();
        w.Line($"float r0{sfx} = {product};");
        registers.Add("r0" + sfx);
        for (int k = 0; k < views.Count; k++)
        {
            var v = views[k];
            w.Line($"float r{k + 1}{sfx} = {v.View}[{Plus(v.Base, Plus(Times(row, v.RowStride), Times(col, v.ColStride)))}];");
            registers.Add($"r{k + 1}{sfx}");
        }

        return EmitBodyNodes(w, node.Body, registers, sfx);
    }

    /// <summary>
    /// MatMul with numpy batching. Operands and result may be strided views (<see cref="MatMulViews"/>: a folded Transpose
    /// is read, or written, through its strides); epilogue operands (<see cref="Epilogue"/>) are read broadcast over the
    /// result's shape.
    /// </summary>
    private static GpuKernel MatMul(Graph graph, Node node, GpuTarget target, MatMulViews views)
    {
        var aShape = Shapes.Of(graph, node.Inputs[0]);
        var bShape = Shapes.Of(graph, node.Inputs[1]);
        var outShape = Shapes.Of(graph, node.Output);
        var aStridesOwn = views.OperandStrides(graph, node.Inputs[0]);
        var bStridesOwn = views.OperandStrides(graph, node.Inputs[1]);

        // numpy promotion: a[k] is [1, k], b[k] is [k, 1]; the result's layout is the same either way.
        bool aVector = aShape.Length == 1, bVector = bShape.Length == 1;
        var a = aVector ? new[] { 1, aShape[0] } : aShape;
        var b = bVector ? new[] { bShape[0], 1 } : bShape;
        var aStrides = aVector ? new[] { 0, aStridesOwn[0] } : aStridesOwn;
        var bStrides = bVector ? new[] { bStridesOwn[0], 0 } : bStridesOwn;
        int m = a[a.Length - 2], k = a[a.Length - 1], n = b[b.Length - 1];
        var aBatch = a.Take(a.Length - 2).ToArray();
        var bBatch = b.Take(b.Length - 2).ToArray();
        var batch = ShapeInference.Broadcast(aBatch, bBatch)!;

        // The result as [batch..., m, n] (a vector operand's promoted axis has stride 0 and size 1).
        var yOwn = views.ResultStrides(graph, node.Output);
        int yRow = aVector ? 0 : yOwn[batch.Length], yCol = bVector ? 0 : yOwn[yOwn.Length - 1];
        var yBatch = yOwn.Take(batch.Length).ToArray();
        var full = batch.Concat(new[] { m, n }).ToArray();

        // Epilogue operands: strides over the result's shape, then over [batch..., m, n].
        var epilogueInputs = Epilogue.EpilogueInputs(node);
        var epilogueStrides = epilogueInputs.Select(v =>
        {
            var s = BroadcastStrides(Shapes.Of(graph, v), outShape);
            var f = new int[full.Length];
            System.Array.Copy(s, f, batch.Length);
            f[batch.Length] = aVector ? 0 : s[batch.Length];
            f[batch.Length + 1] = bVector ? 0 : s[s.Length - 1];
            return f;
        }).ToArray();

        var batchViews = new List<int[]>
        {
            BatchStrides(a.Take(a.Length - 2).ToArray(), aStrides.Take(a.Length - 2).ToArray(), batch),
            BatchStrides(b.Take(b.Length - 2).ToArray(), bStrides.Take(b.Length - 2).ToArray(), batch),
            yBatch,
        };
        batchViews.AddRange(epilogueStrides.Select(f => f.Take(batch.Length).ToArray()));
        var (batchShape, batchStrides) = Coalesce(batch, batchViews);
        long batches = Count(batchShape);
        int firstEpilogue = node.Inputs.Count - epilogueInputs.Count;
        var epilogueViews = epilogueStrides.Select((f, e) => new EpilogueView("x" + Lit(firstEpilogue + e), "eBase" + Lit(e), f[batch.Length], f[batch.Length + 1])).ToArray();

        bool strided = !aStridesOwn.SequenceEqual(RowMajorStrides(aShape)) || !bStridesOwn.SequenceEqual(RowMajorStrides(bShape));
        bool transposedResult = !yOwn.SequenceEqual(RowMajorStrides(outShape));
        string summary = $"MatMul x0{Fmt(aShape)} @ x1{Fmt(bShape)} -> y{Fmt(outShape)}: " +
                         $"{(batch.Length > 0 ? Fmt(batch) + " broadcast batches of " : "")}[{m}, {k}] @ [{k}, {n}]" +
                         (strided ? $"; operands read with strides a{Fmt(aStridesOwn)}, b{Fmt(bStridesOwn)} (folded Transposes)" : "") +
                         (transposedResult ? $"; result written with strides {Fmt(yOwn)} (a folded Transpose)" : "") +
                         (epilogueInputs.Count > 0 || Epilogue.Has(node) ? $"; epilogue over {epilogueInputs.Count} operand(s)" : "");
        var spec = new GemmSpec(summary, NodeParams(node), batches, m, n, k,
            new GemmOperand("x0", "aBase", aStrides[a.Length - 2], aStrides[a.Length - 1], BaseAligned: batchStrides[0].All(s => s % VectorWidth == 0)),
            new GemmOperand("x1", "bBase", bStrides[b.Length - 2], bStrides[b.Length - 1], BaseAligned: batchStrides[1].All(s => s % VectorWidth == 0)),
            w =>
            {
                var named = new List<StridedView> { new("a", batchStrides[0]), new("b", batchStrides[1]), new("y", batchStrides[2]) };
                named.AddRange(Enumerable.Range(0, epilogueViews.Length).Select(e => new StridedView("e" + Lit(e), batchStrides[3 + e])));
                var offsets = EmitOffsets(w, "batch", batchShape, named, "batch_");
                w.Line($"int aBase = {offsets[0]};");
                w.Line($"int bBase = {offsets[1]};");
                w.Line($"int yBase = {offsets[2]};");
                for (int e = 0; e < epilogueViews.Length; e++) w.Line($"int eBase{e} = {offsets[3 + e]};");
            },
            (w, acc, row, col, sfx) => ApplyEpilogue(w, node, epilogueViews, acc, row, col, sfx),
            YRowStride: aVector ? n : yRow, YColStride: bVector ? 1 : yCol);
        return EmitGemm(spec, target);
    }

    private static GpuKernel Gemm(Graph graph, Node node, GpuTarget target)
    {
        var productInputs = Epilogue.ProductInputs(node);
        var aShape = Shapes.Of(graph, productInputs[0]);
        var bShape = Shapes.Of(graph, productInputs[1]);
        var outShape = Shapes.Of(graph, node.Output);
        bool transA = node.Attrs.Int(AttrNames.TransA) != 0;
        bool transB = node.Attrs.Int(AttrNames.TransB) != 0;
        float alpha = node.Attrs.Float(AttrNames.Alpha);
        float beta = node.Attrs.Float(AttrNames.Beta);
        int m = outShape[0], n = outShape[1], k = transA ? aShape[0] : aShape[1];
        var opA = transA ? new GemmOperand("x0", "0", 1, aShape[1]) : new GemmOperand("x0", "0", aShape[1], 1);
        var opB = transB ? new GemmOperand("x1", "0", 1, bShape[1]) : new GemmOperand("x1", "0", bShape[1], 1);
        bool bias = productInputs.Count > 2;
        int[] cStrides = bias ? BroadcastStrides(Shapes.Of(graph, productInputs[2]), outShape) : new[] { 0, 0 };
        var epilogueViews = Epilogue.EpilogueInputs(node).Select((v, e) =>
        {
            var s = BroadcastStrides(Shapes.Of(graph, v), outShape);
            return new EpilogueView("x" + Lit(productInputs.Count + e), "0", s[0], s[1]);
        }).ToArray();

        string Op(string name, int[] shape, bool trans) => name + Fmt(shape) + (trans ? "^T" : "");
        string scaled = alpha == 1f ? "" : Lit(alpha) + " * ";
        string biasText = bias ? $" + {(beta == 1f ? "" : Lit(beta) + " * ")}x2{Fmt(Shapes.Of(graph, productInputs[2]))}" : "";
        string epilogueText = Epilogue.Has(node) ? $", then an epilogue over {epilogueViews.Length} operand(s)" : "";
        string summary = $"Gemm: y[{m}, {n}] = {scaled}{Op("x0", aShape, transA)} @ {Op("x1", bShape, transB)}{biasText}{epilogueText}";
        var spec = new GemmSpec(summary, NodeParams(node), 1, m, n, k, opA, opB,
            w => w.Line("int yBase = 0;"),
            (w, acc, row, col, sfx) =>
            {
                string product = alpha == 1f ? acc : $"{Lit(alpha)} * {acc}";
                if (bias)
                {
                    string c = $"x2[{Plus(Times(row, cStrides[0]), Times(col, cStrides[1]))}]";
                    product = $"{product} + {(beta == 1f ? c : Lit(beta) + " * " + c)}";
                }

                return ApplyEpilogue(w, node, epilogueViews, product, row, col, sfx);
            });
        return EmitGemm(spec, target);
    }
}
