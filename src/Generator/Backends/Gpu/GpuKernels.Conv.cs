using Aot.Generator.IR;
using static Aot.Generator.Backends.Shapes;

namespace Aot.Generator.Backends.Gpu;

// Convolution (an implicit GEMM through the tiled GEMM emitter), transposed convolution and pooling (one thread per output), NCHW.
internal static partial class GpuKernels
{
    /// <summary>The geometry of one spatial axis of a convolution or pooling window.</summary>
    private readonly record struct Axis(int In, int Out, int Kernel, int Stride, int PadBegin, int Dilation);

    private static (Axis H, Axis W) Geometry(int[] inShape, int[] outShape, int kh, int kw, Attrs attrs, bool dilated)
    {
        var strides = attrs.Ints(AttrNames.Strides);
        var pads = attrs.Ints(AttrNames.Pads);
        var dilations = dilated ? attrs.Ints(AttrNames.Dilations) : new[] { 1, 1 };
        return (new Axis(inShape[2], outShape[2], kh, strides[0], pads[0], dilations[0]),
                new Axis(inShape[3], outShape[3], kw, strides[1], pads[1], dilations[1]));
    }

    /// <summary>
    /// Conv2d as an implicit GEMM, one product per (image, group): y[K/G, OH*OW] = W_g[K/G, C/G*R*S] @ X_col[C/G*R*S, OH*OW]
    /// (+ bias per output channel), where X_col is never materialized: the B operand's address function maps
    /// (c*R*S + r*S + s, oh*OW + ow) to input pixel (c, oh*stride - pad + r*dilation, ...) and reads zero in the
    /// padding. A 1x1 convolution with stride 1 and no padding is a plain GEMM on the input planes. Groups (and
    /// depthwise convolutions, K/G = 1) are a grid dimension: the batch of the GEMM is images x groups.
    /// </summary>
    private static GpuKernel Conv2d(Graph graph, Node node, GpuTarget target)
    {
        var x = Shapes.Of(graph, node.Inputs[0]);
        var wt = Shapes.Of(graph, node.Inputs[1]);
        var outShape = Shapes.Of(graph, node.Output);
        int groups = (int)node.Attrs.Int(AttrNames.Group);
        int n = x[0], c = x[1], k = wt[0], cg = wt[1], r = wt[2], s = wt[3];
        int kg = k / groups;
        var (h, wd) = Geometry(x, outShape, r, s, node.Attrs, dilated: true);
        bool bias = node.Inputs.Count > 2;
        int kDim = cg * r * s, inPlane = h.In * wd.In, outPlane = h.Out * wd.Out;
        bool pointwise = r == 1 && s == 1 && h.Stride == 1 && wd.Stride == 1 && h.PadBegin == 0 && wd.PadBegin == 0 && h.Out == h.In && wd.Out == wd.In;
        string helper = "Im2col_" + Lit(node.Output);

        string summary = $"Conv2d x0{Fmt(x)} * x1{Fmt(wt)}{(bias ? " + x2[" + k + "]" : "")} -> y{Fmt(outShape)}: groups {groups}, strides [{h.Stride}, {wd.Stride}], " +
                         $"pads {Fmt(node.Attrs.Ints(AttrNames.Pads))}, dilations [{h.Dilation}, {wd.Dilation}]; implicit GEMM per image and group: " +
                         $"[{kg}, {kDim}] @ [{kDim}, {outPlane}]{(pointwise ? " (pointwise: the input planes are B)" : "")}";
        var b = pointwise
            ? new GemmOperand("x0", "xBase", inPlane, 1)
            : new GemmOperand("x0", "xBase", 0, 0, (row, col) => $"{helper}(x0, xBase, {row}, {col})");
        var spec = new GemmSpec(summary, NodeParams(node), (long)n * groups, kg, outPlane, kDim,
            new GemmOperand("x1", "aBase", kDim, 1),
            b,
            w =>
            {
                if (groups == 1)
                {
                    w.Line("int aBase = 0, kBase = 0;");
                    w.Line($"int xBase = batch * {Lit((long)c * inPlane)};");
                    w.Line($"int yBase = batch * {Lit((long)k * outPlane)};");
                }
                else
                {
                    w.Line($"int g = batch % {Lit(groups)}, image = batch / {Lit(groups)};");
                    w.Line($"int aBase = g * {Lit((long)kg * kDim)}, kBase = g * {Lit(kg)};");
                    w.Line($"int xBase = (image * {Lit(c)} + g * {Lit(cg)}) * {Lit(inPlane)};");
                    w.Line($"int yBase = (image * {Lit(k)} + kBase) * {Lit(outPlane)};");
                }
            },
            (_, acc, row, _, _) => bias ? $"{acc} + x2[kBase + {row}]" : acc,
            pointwise ? null : (w, _) =>
            {
                w.Line($"/// <summary>Element (c*{r * s} + r*{s} + s, oh*{wd.Out} + ow) of the virtual im2col matrix: input pixel");
                w.Line($"/// (c, oh*{h.Stride} - {h.PadBegin} + r*{h.Dilation}, ow*{wd.Stride} - {wd.PadBegin} + s*{wd.Dilation}), zero in the padding.</summary>");
                w.Line("[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]");
                using (w.Block($"private static float {helper}(global::ILGPU.ArrayView<float> x, int xBase, int kIndex, int p)"))
                {
                    w.Line(r * s == 1 ? "int ch = kIndex;" : $"int ch = kIndex / {Lit(r * s)};");
                    w.Line(r * s == 1 ? "int kr = 0, ks = 0;" : $"int kr = kIndex / {Lit(s)} % {Lit(r)}, ks = kIndex % {Lit(s)};");
                    w.Line($"int ih = p / {Lit(wd.Out)} * {Lit(h.Stride)} - {Lit(h.PadBegin)} + kr * {Lit(h.Dilation)};");
                    w.Line($"int iw = p % {Lit(wd.Out)} * {Lit(wd.Stride)} - {Lit(wd.PadBegin)} + ks * {Lit(wd.Dilation)};");
                    w.Line($"return (uint)ih < {Lit(h.In)}u && (uint)iw < {Lit(wd.In)}u ? x[xBase + ch * {Lit(inPlane)} + ih * {Lit(wd.In)} + iw] : 0f;");
                }
            });
        return EmitGemm(spec, target);
    }

    /// <summary>
    /// Transposed convolution as a gather, one thread per output element (no atomics): output (oh, ow) of channel k
    /// sums, over the input channels c of k's group and the taps (r, s) with oh + pad - r*dilation a multiple of the
    /// stride, x[c, ih, iw] * w[c, k within the group, r, s] at ih = (oh + pad - r*dilation) / stride (likewise iw),
    /// starting at the bias.
    /// </summary>
    private static GpuKernel ConvTranspose2d(Graph graph, Node node, GpuTarget target)
    {
        var x = Shapes.Of(graph, node.Inputs[0]);
        var wt = Shapes.Of(graph, node.Inputs[1]);
        var outShape = Shapes.Of(graph, node.Output);
        int groups = (int)node.Attrs.Int(AttrNames.Group);
        int c = x[1], kg = wt[1], r = wt[2], s = wt[3], k = outShape[1];
        int cg = c / groups;
        // Seen from the output: the tap reads the input axis (In = the input's extent, Out = the output's).
        var (h, wd) = Geometry(x, outShape, r, s, node.Attrs, dilated: true);
        bool bias = node.Inputs.Count > 2;
        long total = Count(outShape);
        int inPlane = h.In * wd.In, outPlane = h.Out * wd.Out;
        string summary = $"ConvTranspose2d x0{Fmt(x)} * x1{Fmt(wt)}{(bias ? " + x2[" + k + "]" : "")} -> y{Fmt(outShape)}: groups {groups}, strides [{h.Stride}, {wd.Stride}], " +
                         $"pads {Fmt(node.Attrs.Ints(AttrNames.Pads))}, output padding {Fmt(node.Attrs.Ints(AttrNames.OutputPadding))}, dilations [{h.Dilation}, {wd.Dilation}]; a gather per output";
        var (launchGroups, groupSize) = target.GridStride(total);
        return new GpuKernel(summary, NodeParams(node), launchGroups, groupSize, 0, w =>
        {
            GridStrideLoop(w, total, launchGroups, groupSize, "i", () =>
            {
                w.Line($"int ow = i % {Lit(wd.Out)}, oh = i / {Lit(wd.Out)} % {Lit(h.Out)}, k = i / {Lit(outPlane)} % {Lit(k)}, image = i / {Lit((long)k * outPlane)};");
                w.Line(groups == 1 ? "int c0 = 0, kk = k;" : $"int c0 = k / {Lit(kg)} * {Lit(cg)}, kk = k % {Lit(kg)};");
                w.Line($"int xBase = (image * {Lit(c)} + c0) * {Lit(inPlane)}, wBase = (c0 * {Lit(kg)} + kk) * {Lit(r * s)};");
                w.Line(bias ? "float acc = x2[k];" : "float acc = 0f;");
                using (w.Block($"for (int r = 0; r < {Lit(r)}; r++)"))
                {
                    EmitTransposedTap(w, "ih", "oh", "r", h);
                    using (w.Block($"for (int s = 0; s < {Lit(s)}; s++)"))
                    {
                        EmitTransposedTap(w, "iw", "ow", "s", wd);
                        w.Line($"int xAt = xBase + ih * {Lit(wd.In)} + iw, wAt = wBase + r * {Lit(s)} + s;");
                        using (w.Block($"for (int c = 0; c < {Lit(cg)}; c++)"))
                        {
                            w.Line($"acc += x0[xAt + c * {Lit(inPlane)}] * x1[wAt + c * {Lit((long)kg * r * s)}];");
                        }
                    }
                }

                w.Line("y[i] = acc;");
            });
        });
    }

    /// <summary>Declares the input index <paramref name="input"/> that kernel tap <paramref name="tap"/> of output
    /// <paramref name="output"/> reads, or skips the tap (continue) when the stride leaves it between input pixels or
    /// it falls outside the input.</summary>
    private static void EmitTransposedTap(CodeWriter w, string input, string output, string tap, Axis axis)
    {
        string at = $"{output} + {Lit(axis.PadBegin)} - {tap} * {Lit(axis.Dilation)}";
        if (axis.Stride == 1)
        {
            w.Line($"int {input} = {at};");
        }
        else
        {
            w.Line($"int {input}Scaled = {at};");
            w.Line($"if ({input}Scaled < 0 || {input}Scaled % {Lit(axis.Stride)} != 0) continue;");
            w.Line($"int {input} = {input}Scaled / {Lit(axis.Stride)};");
        }

        w.Line($"if ((uint){input} >= {Lit(axis.In)}u) continue;");
    }

    /// <summary>
    /// Max or average pooling, one thread per output element: the window clipped to the image (padding never reads
    /// memory); max starts at -infinity and propagates NaN like MathF.Max; the average divides by the kernel area
    /// when count_include_pad is 1, else by the number of in-bounds elements.
    /// </summary>
    private static GpuKernel Pool2d(Graph graph, Node node, GpuTarget target)
    {
        var x = Shapes.Of(graph, node.Inputs[0]);
        var outShape = Shapes.Of(graph, node.Output);
        var kernel = node.Attrs.Ints(AttrNames.Kernel);
        var (h, wd) = Geometry(x, outShape, kernel[0], kernel[1], node.Attrs, dilated: false);
        bool max = node.Op == OpKind.MaxPool2d;
        bool includePad = !max && node.Attrs.Int(AttrNames.CountIncludePad) != 0;
        long total = Count(outShape);
        int inPlane = h.In * wd.In, outPlane = h.Out * wd.Out;
        string divisor = max ? "" : includePad ? $", divided by the kernel area {h.Kernel * wd.Kernel}" : ", divided by the in-bounds count";
        string summary = $"{node.Op} x0{Fmt(x)} -> y{Fmt(outShape)}: kernel {Fmt(kernel)}, strides [{h.Stride}, {wd.Stride}], pads {Fmt(node.Attrs.Ints(AttrNames.Pads))}{divisor}";
        var (groups, groupSize) = target.GridStride(total);
        return new GpuKernel(summary, NodeParams(node), groups, groupSize, 0, w =>
        {
            GridStrideLoop(w, total, groups, groupSize, "i", () =>
            {
                w.Line($"int ow = i % {Lit(wd.Out)}, oh = i / {Lit(wd.Out)} % {Lit(h.Out)}, plane = i / {Lit(outPlane)};");
                w.Line($"int h0 = oh * {Lit(h.Stride)} - {Lit(h.PadBegin)}, w0 = ow * {Lit(wd.Stride)} - {Lit(wd.PadBegin)};");
                w.Line($"int hBegin = h0 < 0 ? 0 : h0, hEnd = h0 + {Lit(h.Kernel)} < {Lit(h.In)} ? h0 + {Lit(h.Kernel)} : {Lit(h.In)};");
                w.Line($"int wBegin = w0 < 0 ? 0 : w0, wEnd = w0 + {Lit(wd.Kernel)} < {Lit(wd.In)} ? w0 + {Lit(wd.Kernel)} : {Lit(wd.In)};");
                w.Line($"int planeBase = plane * {Lit(inPlane)};");
                w.Line(max ? "float acc = float.NegativeInfinity;" : "float acc = 0f;");
                using (w.Block("for (int ih = hBegin; ih < hEnd; ih++)"))
                {
                    string at = $"x0[planeBase + ih * {Lit(wd.In)} + iw]";
                    w.Line(max
                        ? $"for (int iw = wBegin; iw < wEnd; iw++) acc = {GMath}.Max(acc, {at});"
                        : $"for (int iw = wBegin; iw < wEnd; iw++) acc += {at};");
                }

                w.Line(max ? "y[i] = acc;"
                    : includePad ? $"y[i] = acc / {Lit((float)(h.Kernel * wd.Kernel))};"
                    : "y[i] = acc / ((hEnd - hBegin) * (wEnd - wBegin));");
            });
        });
    }

    /// <summary>
    /// Resize: one thread per output pixel, whose source coordinates, nearest index or linear taps come from
    /// <c>Aot.Runtime.ResizeMath</c> (the CPU kernel's and the eager reference's float arithmetic, compiled by ILGPU).
    /// </summary>
    private static GpuKernel Resize(Graph graph, Node node, GpuTarget target)
    {
        var x = Shapes.Of(graph, node.Inputs[0]);
        var y = Shapes.Of(graph, node.Output);
        var a = node.Attrs;
        bool nearest = a.Int(AttrNames.Mode) == 0;
        int inH = x[2], inW = x[3], outH = y[2], outW = y[3];
        string coordinates = Lit((int)a.Int(AttrNames.Coordinates)), rounding = Lit((int)a.Int(AttrNames.Nearest));
        string scaleH = Lit(a.Float(AttrNames.ScaleH)), scaleW = Lit(a.Float(AttrNames.ScaleW));
        const string Math = "global::Aot.Runtime.ResizeMath";
        long n = Count(y);
        var (groups, groupSize) = target.GridStride(n);
        return new GpuKernel($"Resize x0{Fmt(x)} -> y{Fmt(y)}: {(nearest ? "nearest" : "bilinear")}, {a}", NodeParams(node), groups, groupSize, 0, w =>
        {
            UnrolledGridStride(w, n, groups, groupSize, 1, (i, sfx) =>
            {
                w.Line($"int ow{sfx} = {i} % {Lit(outW)}, oh{sfx} = {i} / {Lit(outW)} % {Lit(outH)}, plane{sfx} = {i} / {Lit(outW * outH)} * {Lit(inH * inW)};");
                w.Line($"float ch{sfx} = {Math}.SourceCoordinate(oh{sfx}, {scaleH}, {Lit(inH)}, {Lit(outH)}, {coordinates});");
                w.Line($"float cw{sfx} = {Math}.SourceCoordinate(ow{sfx}, {scaleW}, {Lit(inW)}, {Lit(outW)}, {coordinates});");
                if (nearest)
                {
                    w.Line($"float v{sfx} = x0[plane{sfx} + {Math}.Nearest(ch{sfx}, {Lit(inH)}, {rounding}) * {Lit(inW)} + {Math}.Nearest(cw{sfx}, {Lit(inW)}, {rounding})];");
                    return;
                }

                w.Line($"int top{sfx} = plane{sfx} + {Math}.LinearLow(ch{sfx}, {Lit(inH)}) * {Lit(inW)}, bottom{sfx} = plane{sfx} + {Math}.LinearHigh(ch{sfx}, {Lit(inH)}) * {Lit(inW)};");
                w.Line($"int left{sfx} = {Math}.LinearLow(cw{sfx}, {Lit(inW)}), right{sfx} = {Math}.LinearHigh(cw{sfx}, {Lit(inW)});");
                w.Line($"float a{sfx} = {Math}.LinearWeight(ch{sfx}, {Lit(inH)}), b{sfx} = {Math}.LinearWeight(cw{sfx}, {Lit(inW)});");
                w.Line($"float upper{sfx} = x0[top{sfx} + left{sfx}] + (x0[top{sfx} + right{sfx}] - x0[top{sfx} + left{sfx}]) * b{sfx};");
                w.Line($"float lower{sfx} = x0[bottom{sfx} + left{sfx}] + (x0[bottom{sfx} + right{sfx}] - x0[bottom{sfx} + left{sfx}]) * b{sfx};");
                w.Line($"float v{sfx} = upper{sfx} + (lower{sfx} - upper{sfx}) * a{sfx};");
            }, (i, sfx) => w.Line($"y[{i}] = v{sfx};"));
        });
    }
}
