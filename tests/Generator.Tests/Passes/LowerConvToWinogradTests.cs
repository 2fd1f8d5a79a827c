using Aot.Generator.Backends.Cpu;
using Aot.Generator.IR;
using Aot.Generator.Passes;
using Aot.Tests.Shared;

namespace Generator.Tests.Passes;

public class LowerConvToWinogradTests
{
    private static Attrs ConvAttrs(int stride, int dilation, int group, int pad = 1) => Attrs.Of(
        Attr.OfInts(AttrNames.Strides, stride, stride), Attr.OfInts(AttrNames.Pads, pad, pad, pad, pad), Attr.OfInts(AttrNames.Dilations, dilation, dilation), Attr.OfInt(AttrNames.Group, group));

    [Fact]
    public void A3x3StrideOneConvolutionWithEnoughChannelsAndTilesBecomesWinogradConv()
    {
        var b = new GraphBuilder("G");
        int w = b.AddWeight("W", new TensorType(DType.Float32, 32, 16, 3, 3));
        int bias = b.AddWeight("B", new TensorType(DType.Float32, 32));
        int x = b.AddInput("x", new TensorType(DType.Float32, 2, 16, 20, 9));
        Assert.Null(b.TryAdd(OpKind.Conv2d, new[] { x, w, bias }, ConvAttrs(1, 1, 1), out int y).Error);
        b.AddOutput(y);
        var graph = b.Build();

        var lowered = new LowerConvToWinograd(CpuTarget.Default).Run(graph);

        Assert.Empty(IrVerifier.Verify(lowered));
        Assert.Equal(new[] { OpKind.WinogradWeights, OpKind.WinogradConv }, lowered.Nodes.Select(n => n.Op));
        var (weights, conv) = (lowered.Nodes[0], lowered.Nodes[1]);
        Assert.Equal(new TensorType(DType.Float32, 16, 32, 16), lowered.TypeOf(weights.Output));
        Assert.Equal(new[] { x, weights.Output, bias }, conv.Inputs.ToArray());
        Assert.Equal(graph.TypeOf(y), lowered.TypeOf(conv.Output));
        Assert.Equal(new[] { 1, 1, 1, 1 }, conv.Attrs.Ints(AttrNames.Pads));
        Assert.Equal(CpuTiling.WinogradBlock(16, 32, 10 * 5, CpuTarget.Default), conv.Attrs.Int(AttrNames.Block));
        Assert.True(LoadTimeValues.Of(lowered)[weights.Output]);
    }

    [Fact]
    public void OtherConvolutionsAreLeftAlone()
    {
        var b = new GraphBuilder("G");
        int x = b.AddInput("x", new TensorType(DType.Float32, 1, 16, 16, 16));
        int dynamicW = b.AddInput("w", new TensorType(DType.Float32, 16, 16, 3, 3));
        var outputs = new List<int>();
        void Conv(int[] wShape, Attrs attrs, int? weight = null)
        {
            int w = weight ?? b.AddWeight("W" + outputs.Count, new TensorType(DType.Float32, wShape));
            Assert.Null(b.TryAdd(OpKind.Conv2d, new[] { x, w }, attrs, out int y).Error);
            outputs.Add(y);
        }

        Conv(new[] { 16, 16, 3, 3 }, ConvAttrs(2, 1, 1));           // stride 2
        Conv(new[] { 16, 16, 3, 3 }, ConvAttrs(1, 2, 1, pad: 2));   // dilated
        Conv(new[] { 16, 8, 3, 3 }, ConvAttrs(1, 1, 2));            // grouped
        Conv(new[] { 16, 16, 5, 5 }, ConvAttrs(1, 1, 1, pad: 2));   // 5x5
        Conv(new[] { 8, 16, 3, 3 }, ConvAttrs(1, 1, 1));            // too few output channels
        Conv(new[] { 16, 16, 3, 3 }, ConvAttrs(1, 1, 1), dynamicW); // weights known only at run time
        foreach (var y in outputs) b.AddOutput(y);
        var small = new GraphBuilder("Small");
        int xs = small.AddInput("x", new TensorType(DType.Float32, 1, 16, 8, 14)); // 4 x 7 = 28 output tiles
        int ws = small.AddWeight("W", new TensorType(DType.Float32, 16, 16, 3, 3));
        Assert.Null(small.TryAdd(OpKind.Conv2d, new[] { xs, ws }, ConvAttrs(1, 1, 1), out int ys).Error);
        small.AddOutput(ys);

        foreach (var graph in new[] { b.Build(), small.Build() })
        {
            var lowered = new LowerConvToWinograd(CpuTarget.Default).Run(graph);
            Assert.Same(graph, lowered);
        }
    }

    /// <summary>The op suite (which <see cref="PassSwitchTests"/> runs with each pass off) has convolutions this pass
    /// takes through the CPU pipeline, so its numerics are checked with the pass on and off.</summary>
    [Fact]
    public void TheSharedConvolutionCasesIncludeWinogradOnes()
    {
        var lowered = SharedCases.Conv2d().Select(c => PassPipeline.Run(c.Graph, new HashSet<string>(), null, CancellationToken.None, PassPipeline.CpuPasses));
        Assert.Equal(2, lowered.Count(g => g.Nodes.Any(n => n.Op == OpKind.WinogradConv)));
    }
}
