using System.Linq;
using Aot.Generator.IR;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends.Cpu;

// Convolution, transposed convolution and pooling, NCHW.
internal static partial class CpuKernels
{
    /// <summary>The geometry of one spatial axis of a convolution or pooling window.</summary>
    private readonly record struct Axis2d(int In, int Out, int Kernel, int Stride, int PadBegin, int Dilation);

    private static (Axis2d H, Axis2d W) Geometry(int[] inShape, int[] outShape, int kh, int kw, Attrs attrs, bool dilated)
    {
        var strides = attrs.Ints(AttrNames.Strides);
        var pads = attrs.Ints(AttrNames.Pads);
        var dilations = dilated ? attrs.Ints(AttrNames.Dilations) : new[] { 1, 1 };
        return (new Axis2d(inShape[2], outShape[2], kh, strides[0], pads[0], dilations[0]),
                new Axis2d(inShape[3], outShape[3], kw, strides[1], pads[1], dilations[1]));
    }

    /// <summary>The input offset of kernel tap <paramref name="tap"/>: tap * dilation - padding.</summary>
    private static string Shift(string tap, Axis2d axis) =>
        axis.PadBegin == 0 ? Times(tap, axis.Dilation) : $"{Times(tap, axis.Dilation)} - {Lit(axis.PadBegin)}";

    /// <summary>
    /// Declares <c>{o}Begin</c>, <c>{o}End</c>: the outputs o of one axis whose input o * stride + shift lies in
    /// [0, size), where <paramref name="shift"/> is a C# expression (tap offset minus padding).
    /// </summary>
    private static void EmitValidOutputs(CodeWriter w, string o, string shift, Axis2d axis)
    {
        int s = axis.Stride;
        if (s == 1)
        {
            w.Line($"int {o}Begin = {DMath}.Max(0, -{shift}), {o}End = {DMath}.Min({Lit(axis.Out)}, {Lit(axis.In)} - {shift});");
            return;
        }

        // ceil(-shift / stride) and floor((size - 1 - shift) / stride) + 1, for the signs that can occur.
        w.Line($"int {o}Begin = {shift} >= 0 ? 0 : ({Lit(s - 1)} - {shift}) / {Lit(s)};");
        w.Line($"int {o}End = {shift} > {Lit(axis.In - 1)} ? 0 : {DMath}.Min({Lit(axis.Out)}, ({Lit(axis.In - 1)} - {shift}) / {Lit(s)} + 1);");
    }

    /// <summary>
    /// Direct convolution and transposed convolution, one loop nest. Each output plane (image nb, output channel k)
    /// starts at the bias; then, for every input channel c of k's group and kernel tap (r, s), one side's pixels are
    /// iterated over the range whose partner on the other side, at pixel * stride + tap * dilation - padding, lies inside
    /// its plane (ranges computed per tap, so no per-pixel bounds checks), and weight * input is added to the output.
    /// A convolution iterates its outputs and gathers from the input; a transposed convolution iterates its inputs and
    /// scatters into the output (the same arithmetic with the roles swapped). With horizontal stride 1 the row update is
    /// a vector axpy.
    /// </summary>
    private static void EmitDirectConvolution(CodeWriter w, Graph graph, Node node)
    {
        var x = Shapes.Of(graph, node.Inputs[0]);
        var wt = Shapes.Of(graph, node.Inputs[1]);
        var outShape = Shapes.Of(graph, node.Output);
        bool transposed = node.Op == OpKind.ConvTranspose2d;
        int group = (int)node.Attrs.Int(AttrNames.Group);
        int n = x[0], c = x[1], r = wt[2], s = wt[3], k = outShape[1];
        int cg = c / group, kg = k / group;
        bool bias = node.Inputs.Count > 2;
        int inPlane = x[2] * x[3], outPlane = outShape[2] * outShape[3];

        // The iterated side (prefix "o" for outputs, "i" for inputs) and the mapped one; Axis2d.Out is the iterated
        // extent and Axis2d.In the mapped one.
        string it = transposed ? "i" : "o", mp = transposed ? "o" : "i";
        var (h, wd) = transposed ? Geometry(outShape, x, r, s, node.Attrs, dilated: true) : Geometry(x, outShape, r, s, node.Attrs, dilated: true);
        string Plane(bool input) => input ? "xPlane" : "yPlane";
        string yPlaneOf = Plane(false), xPlaneOf = Plane(true);

        string header = transposed
            ? $"output padding {Fmt(node.Attrs.Ints(AttrNames.OutputPadding))}, "
            : "";
        w.Line($"// {node.Op} x0{Fmt(x)} * x1{Fmt(wt)}{(bias ? " + x2[" + k + "]" : "")} -> y{Fmt(outShape)}: groups {group}, strides [{h.Stride}, {wd.Stride}], " +
               $"pads {Fmt(node.Attrs.Ints(AttrNames.Pads))}, {header}dilations [{h.Dilation}, {wd.Dilation}]; {(transposed ? "inputs scattered into the output" : "outputs gathered from the input")}");
        using (w.Block($"for (int nb = 0; nb < {Lit(n)}; nb++)"))
        using (w.Block($"for (int k = 0; k < {Lit(k)}; k++)"))
        {
            w.Line($"{SpanF} yPlane = y.Slice({Times("(nb * " + Lit(k) + " + k)", outPlane)}, {Lit(outPlane)});");
            w.Line(bias ? "yPlane.Fill(x2[k]);" : "yPlane.Clear();");
            w.Line(group == 1
                ? "int c0 = 0, kk = k; // k's group: every input channel"
                : $"int c0 = k / {Lit(kg)} * {Lit(cg)}, kk = k % {Lit(kg)}; // first input channel of k's group, k within it");
            using (w.Block($"for (int c = 0; c < {Lit(cg)}; c++)"))
            {
                w.Line($"{ReadOnlySpanF} xPlane = x0.Slice((nb * {Lit(c)} + c0 + c) * {Lit(inPlane)}, {Lit(inPlane)});");
                using (w.Block($"for (int r = 0; r < {Lit(r)}; r++)"))
                {
                    w.Line($"int {mp}hShift = {Shift("r", h)}; // {mp}h = {it}h * {h.Stride} + {mp}hShift");
                    EmitValidOutputs(w, it + "h", mp + "hShift", h);
                    using (w.Block($"for (int s = 0; s < {Lit(s)}; s++)"))
                    {
                        // Conv2d's weight is [K, C/groups, R, S]; ConvTranspose2d's [C, K/groups, R, S].
                        w.Line(transposed
                            ? $"float weight = x1[(((c0 + c) * {Lit(wt[1])} + kk) * {Lit(r)} + r) * {Lit(s)} + s];"
                            : $"float weight = x1[((k * {Lit(wt[1])} + c) * {Lit(r)} + r) * {Lit(s)} + s];");
                        w.Line($"int {mp}wShift = {Shift("s", wd)}; // {mp}w = {it}w * {wd.Stride} + {mp}wShift");
                        EmitValidOutputs(w, it + "w", mp + "wShift", wd);
                        w.Line($"if ({it}wEnd <= {it}wBegin) continue;");
                        using (w.Block($"for (int {it}h = {it}hBegin; {it}h < {it}hEnd; {it}h++)"))
                        {
                            w.Line($"int {mp}h = {Times(it + "h", h.Stride)} + {mp}hShift;");
                            // Row starts: the iterated side at its row and range begin, the mapped side shifted by the tap.
                            string iterRow = $"{Times(it + "h", wd.Out)} + {it}wBegin";
                            string mappedRow = $"{Times(mp + "h", wd.In)} + {it}wBegin + {mp}wShift";
                            string yRow = transposed ? mappedRow : iterRow, xRow = transposed ? iterRow : mappedRow;
                            if (wd.Stride == 1)
                            {
                                w.Line($"int length = {it}wEnd - {it}wBegin;");
                                w.Line($"{SpanF} yRow = {yPlaneOf}.Slice({yRow}, length);");
                                w.Line($"{ReadOnlySpanF} xRow = {xPlaneOf}.Slice({xRow}, length);");
                                EmitAxpy(w, "yRow", "xRow", "weight", "length");
                            }
                            else
                            {
                                string iterAt = $"{Times(it + "h", wd.Out)} + {it}w";
                                string mappedAt = $"{Times(mp + "h", wd.In)} + {it}w * {Lit(wd.Stride)} + {mp}wShift";
                                w.Line($"for (int {it}w = {it}wBegin; {it}w < {it}wEnd; {it}w++) yPlane[{(transposed ? mappedAt : iterAt)}] += weight * xPlane[{(transposed ? iterAt : mappedAt)}];");
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Max or average over each window, clipped to the image (so padding never reads memory): max starts at
    /// -infinity (padding is -infinity); average divides by the kernel area when count_include_pad is 1, else by
    /// the number of in-bounds elements.
    /// </summary>
    private static void EmitPool2d(CodeWriter w, Graph graph, Node node)
    {
        var x = Shapes.Of(graph, node.Inputs[0]);
        var outShape = Shapes.Of(graph, node.Output);
        var kernel = node.Attrs.Ints(AttrNames.Kernel);
        var (h, wd) = Geometry(x, outShape, kernel[0], kernel[1], node.Attrs, dilated: false);
        bool max = node.Op == OpKind.MaxPool2d;
        bool includePad = !max && node.Attrs.Int(AttrNames.CountIncludePad) != 0;
        int planes = x[0] * x[1], inPlane = h.In * wd.In, outPlane = h.Out * wd.Out;

        string divisor = max ? "" : includePad ? $", divided by the kernel area {h.Kernel * wd.Kernel}" : ", divided by the in-bounds count";
        w.Line($"// {node.Op} x0{Fmt(x)} -> y{Fmt(outShape)}: kernel {Fmt(kernel)}, strides [{h.Stride}, {wd.Stride}], pads {Fmt(node.Attrs.Ints(AttrNames.Pads))}{divisor}");
        if (max && h.Kernel == 2 && wd.Kernel == 2 && h.Stride == 2 && wd.Stride == 2 && node.Attrs.Ints(AttrNames.Pads).All(p => p == 0)
            && h.Out == h.In / 2 && wd.Out == wd.In / 2)
        {
            w.Line($"global::Aot.Runtime.Cpu.PoolKernels.MaxPool2x2(x0, {Lit(planes)}, {Lit(h.In)}, {Lit(wd.In)}, y, _pool);");
            return;
        }

        using (w.Block($"for (int plane = 0; plane < {Lit(planes)}; plane++)"))
        {
            w.Line($"{ReadOnlySpanF} xPlane = x0.Slice({Times("plane", inPlane)}, {Lit(inPlane)});");
            w.Line($"{SpanF} yPlane = y.Slice({Times("plane", outPlane)}, {Lit(outPlane)});");
            using (w.Block($"for (int oh = 0; oh < {Lit(h.Out)}; oh++)"))
            {
                w.Line($"int h0 = {Times("oh", h.Stride)} - {Lit(h.PadBegin)};");
                w.Line($"int hBegin = {DMath}.Max(h0, 0), hEnd = {DMath}.Min(h0 + {Lit(h.Kernel)}, {Lit(h.In)});");
                using (w.Block($"for (int ow = 0; ow < {Lit(wd.Out)}; ow++)"))
                {
                    w.Line($"int w0 = {Times("ow", wd.Stride)} - {Lit(wd.PadBegin)};");
                    w.Line($"int wBegin = {DMath}.Max(w0, 0), wEnd = {DMath}.Min(w0 + {Lit(wd.Kernel)}, {Lit(wd.In)});");
                    w.Line(max ? "float acc = float.NegativeInfinity;" : "float acc = 0f;");
                    using (w.Block("for (int ih = hBegin; ih < hEnd; ih++)"))
                    {
                        string at = $"xPlane[{Times("ih", wd.In)} + iw]";
                        w.Line(max
                            ? $"for (int iw = wBegin; iw < wEnd; iw++) acc = {FMath}.Max(acc, {at});"
                            : $"for (int iw = wBegin; iw < wEnd; iw++) acc += {at};");
                    }

                    w.Line(max ? $"yPlane[{Times("oh", wd.Out)} + ow] = acc;"
                        : includePad ? $"yPlane[{Times("oh", wd.Out)} + ow] = acc / {Lit(h.Kernel * wd.Kernel)};"
                        : $"yPlane[{Times("oh", wd.Out)} + ow] = acc / ((hEnd - hBegin) * (wEnd - wBegin));");
                }
            }
        }
    }

    private static void EmitGlobalAvgPool(CodeWriter w, Graph graph, Node node)
    {
        var x = Shapes.Of(graph, node.Inputs[0]);
        w.Line($"// GlobalAvgPool x0{Fmt(x)} -> y{Fmt(Shapes.Of(graph, node.Output))}: the mean of each H x W plane");
        EmitReduce(w, x, new[] { 2, 3 }, ReduceKind.Mean);
    }

    private static void EmitResize(CodeWriter w, Graph graph, Node node)
    {
        var x = Shapes.Of(graph, node.Inputs[0]);
        var y = Shapes.Of(graph, node.Output);
        var a = node.Attrs;
        w.Line($"// Resize x0{Fmt(x)} -> y{Fmt(y)}: {(a.Int(AttrNames.Mode) == 0 ? "nearest" : "bilinear")}, {a}");
        w.Line($"global::Aot.Runtime.Cpu.ResizeKernels.Resize(x0, y, {Lit(x[0] * x[1])}, {Lit(x[2])}, {Lit(x[3])}, {Lit(y[2])}, {Lit(y[3])}, " +
            $"{Lit((int)a.Int(AttrNames.Mode))}, {Lit((int)a.Int(AttrNames.Coordinates))}, {Lit((int)a.Int(AttrNames.Nearest))}, {Lit(a.Float(AttrNames.ScaleH))}, {Lit(a.Float(AttrNames.ScaleW))});");
    }

    /// <summary>Implicit GEMM: y[image, group's channels] = w[group's channels] @ im2col(x[image, group's channels])
    /// (+ bias per channel), the im2col matrix read tile by tile inside the product (Sgemm.Convolve).</summary>
    private static void EmitConvGemm(CodeWriter w, Graph graph, Node node)
    {
        var x = Shapes.Of(graph, node.Inputs[0]);
        var wt = Shapes.Of(graph, node.Inputs[1]);
        var y = Shapes.Of(graph, node.Output);
        int group = (int)node.Attrs.Int(AttrNames.Group);
        int channels = x[1] / group, plane = x[2] * x[3];
        int m = wt[0] / group, k = wt[1] * wt[2] * wt[3], n = y[2] * y[3];
        var (h, wd) = Geometry(x, y, wt[2], wt[3], node.Attrs, dilated: true);
        bool bias = Epilogue.ProductInputs(node).Count > 2;
        var (kc, mc, blocks) = CpuTiling.Of(node, m, n, k);
        string reads = GemmLayout.ConvReadsRowsInPlace(channels, wt[2], wt[3], h.Stride, wd.Stride, h.Dilation, wd.Dilation, h.Out, wd.Out) ? "read in place from the zero-padded image" : "packed panel by panel";
        w.Line($"// y{Fmt(y)} = w{Fmt(wt)} @ im2col(x0{Fmt(x)}) per image and group: [{m}, {k}] @ [{k}, {n}]{(bias ? " + bias" : "")}, strides [{h.Stride}, {wd.Stride}], " +
               $"pads {Fmt(node.Attrs.Ints(AttrNames.Pads))}, dilations [{h.Dilation}, {wd.Dilation}]; im2col {reads}; kc = {kc}, mc = {mc} ({blocks})");
        using (w.Block($"for (int image = 0; image < {Lit(y[0])}; image++)"))
        using (w.Block($"for (int g = 0; g < {Lit(group)}; g++)"))
        {
            w.Line($"{SpanF} yg = y.Slice((image * {Lit(y[1])} + g * {Lit(m)}) * {Lit(n)}, {Lit(m * n)});");
            if (bias)
            {
                w.Line($"for (int c = 0; c < {Lit(m)}; c++) yg.Slice(c * {Lit(n)}, {Lit(n)}).Fill(x2[g * {Lit(m)} + c]);");
            }

            w.Line($"{Sgemm}.Convolve({Lit(m)}, x1.Slice(g * {Lit(m * k)}, {Lit(m * k)}), x0.Slice((image * {Lit(x[1])} + g * {Lit(channels)}) * {Lit(plane)}, {Lit(channels * plane)}), " +
                   $"{Lit(channels)}, {Lit(h.In)}, {Lit(wd.In)}, {Lit(wt[2])}, {Lit(wt[3])}, {Lit(h.Stride)}, {Lit(wd.Stride)}, {Lit(h.PadBegin)}, {Lit(wd.PadBegin)}, {Lit(h.Dilation)}, {Lit(wd.Dilation)}, {Lit(h.Out)}, {Lit(wd.Out)}, " +
                   $"yg, accumulate: {(bias ? "true" : "false")}, kc: {Lit(kc)}, mc: {Lit(mc)}, pool: _pool{ConvolutionEpilogue(graph, node, m, n)}, isa: InstructionSet);");
        }
    }

    /// <summary>Weights [K, C, 3, 3] into the Winograd transform domain [16, K, C] (once, at load time).</summary>
    private static void EmitWinogradWeights(CodeWriter w, Graph graph, Node node)
    {
        var wt = Shapes.Of(graph, node.Inputs[0]);
        w.Line($"// Weights {Fmt(wt)} into the Winograd F(2x2, 3x3) domain [16, {wt[0]}, {wt[1]}] (once, at compile time).");
        w.Line($"{Sgemm}.TransformWinogradWeights(x0, {Lit(wt[0])}, {Lit(wt[1])}, y);");
    }

    /// <summary>Winograd F(2x2, 3x3) per image (Sgemm.WinogradConvolve): 16 products [K, C] @ [C, tiles] between an
    /// input and an output transform, with the bias (its own or the epilogue's) and the epilogue applied per row segment.</summary>
    private static void EmitWinogradConv(CodeWriter w, Graph graph, Node node)
    {
        var x = Shapes.Of(graph, node.Inputs[0]);
        var y = Shapes.Of(graph, node.Output);
        var pads = node.Attrs.Ints(AttrNames.Pads);
        int m = y[1], n = y[2] * y[3], block = (int)node.Attrs.Int(AttrNames.Block);
        bool ownBias = Epilogue.ProductInputs(node).Count > 2;
        string epilogue = ownBias ? $", epilogue: new {GemmEpilogueType} {{ RowBias = x2 }}" : ConvolutionEpilogue(graph, node, m, n, group: "0");
        w.Line($"// y{Fmt(y)} = conv3x3(x0{Fmt(x)}) by Winograd F(2x2, 3x3) per image: 16 products [{m}, {x[1]}] @ [{x[1]}, {(y[2] + 1) / 2 * ((y[3] + 1) / 2)} tiles], " +
               $"pads {Fmt(pads)}, {block} tiles per block (cost model)");
        using (w.Block($"for (int image = 0; image < {Lit(y[0])}; image++)"))
        {
            w.Line($"{Sgemm}.WinogradConvolve({Lit(m)}, x1, x0.Slice(image * {Lit(x[1] * x[2] * x[3])}, {Lit(x[1] * x[2] * x[3])}), {Lit(x[1])}, {Lit(x[2])}, {Lit(x[3])}, " +
                   $"{Lit(pads[0])}, {Lit(pads[1])}, {Lit(y[2])}, {Lit(y[3])}, y.Slice(image * {Lit(m * n)}, {Lit(m * n)}), {Lit(block)}, pool: _pool{epilogue}, isa: InstructionSet);");
        }
    }
}
