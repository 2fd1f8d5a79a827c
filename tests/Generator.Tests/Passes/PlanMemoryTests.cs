using Aot.Generator.IR;
using Aot.Generator.Passes;

namespace Generator.Tests.Passes;

public class PlanMemoryTests
{
    /// <summary>x -> Exp -> Relu -> Tanh -> Sigmoid -> Neg: a chain where each value dies at the next node.</summary>
    private static Graph Chain(int length, out int input)
    {
        var b = new GraphBuilder("Chain");
        input = b.AddInput("x", new TensorType(DType.Float32, 100));
        int v = input;
        var ops = new[] { OpKind.Exp, OpKind.Relu, OpKind.Tanh, OpKind.Sigmoid, OpKind.Neg };
        for (int i = 0; i < length; i++) b.TryAdd(ops[i % ops.Length], new[] { v }, Attrs.None, out v);
        b.AddOutput(v);
        return b.Build();
    }

    [Fact]
    public void AChainReusesTwoBuffers()
    {
        var graph = Chain(6, out _);
        var plan = PlanMemory.Run(graph);
        Assert.Equal(2 * 112, plan.ArenaElements); // 100 floats aligned to 112, ping-pong
        Assert.Equal(5 * 100, plan.IntermediateElements);
        Assert.Equal(StorageKind.Output, plan[graph.Outputs[0]].Kind);
        AssertLiveValuesNeverOverlap(graph, plan);
    }

    [Fact]
    public void ReshapeAliasesItsOperandAndExtendsItsLifetime()
    {
        var b = new GraphBuilder("G");
        int x = b.AddInput("x", new TensorType(DType.Float32, 4, 6));
        b.TryAdd(OpKind.Exp, new[] { x }, Attrs.None, out int e);
        b.TryAdd(OpKind.Reshape, new[] { e }, Attrs.Of(Attr.OfInts(AttrNames.Shape, 24)), out int r);
        b.TryAdd(OpKind.Tanh, new[] { x }, Attrs.None, out int t);
        b.TryAdd(OpKind.Reshape, new[] { t }, Attrs.Of(Attr.OfInts(AttrNames.Shape, 24)), out int rt);
        b.TryAdd(OpKind.Add, new[] { r, rt }, Attrs.None, out int y);
        b.AddOutput(y);
        var graph = b.Build();
        var plan = PlanMemory.Run(graph);

        Assert.Equal(plan[e], plan[r]);
        Assert.NotEqual(plan[e].Index, plan[t].Index); // e is still live (through r) when t is written
        AssertLiveValuesNeverOverlap(graph, plan);
    }

    [Fact]
    public void ManyRandomGraphsNeverOverlapLiveValues()
    {
        var random = new Random(7);
        for (int trial = 0; trial < 200; trial++)
        {
            var b = new GraphBuilder("R");
            var values = new List<int> { b.AddInput("x", new TensorType(DType.Float32, 1 + random.Next(40))) };
            for (int i = 0; i < 12; i++)
            {
                int a = values[random.Next(values.Count)];
                int c = values[random.Next(values.Count)];
                var r = b.TypeOf(a).Equals(b.TypeOf(c)) && random.Next(2) == 0
                    ? b.TryAdd(OpKind.Add, new[] { a, c }, Attrs.None, out int v)
                    : b.TryAdd(OpKind.Relu, new[] { a }, Attrs.None, out v);
                Assert.Null(r.Error);
                values.Add(v);
            }

            b.AddOutput(values[values.Count - 1]);
            var graph = b.Build();
            AssertLiveValuesNeverOverlap(graph, PlanMemory.Run(graph));
        }
    }

    /// <summary>W only feeds its packing (load scratch, gone after loading); V is packed for one product and also added
    /// to an activation at run time, so it stays; the packed panels and the bias stay. Without load scratch everything
    /// lives in the weights buffer.</summary>
    [Fact]
    public void WeightsOnlyLoadTimeKernelsReadGoToLoadScratch()
    {
        var b = new GraphBuilder("G");
        int x = b.AddInput("x", new TensorType(DType.Float32, 8, 8));
        int w = b.AddWeight("W", new TensorType(DType.Float32, 8, 8));
        int v = b.AddWeight("V", new TensorType(DType.Float32, 8, 8));
        b.TryAdd(OpKind.MatMul, new[] { x, w }, Attrs.None, out int h);
        b.TryAdd(OpKind.MatMul, new[] { h, v }, Attrs.None, out int g);
        b.TryAdd(OpKind.Add, new[] { g, v }, Attrs.None, out int y);
        b.AddOutput(y);
        var graph = new PackGemmWeights().Run(b.Build());
        var packs = graph.Nodes.Where(n => n.Op == OpKind.PackB).ToArray();
        Assert.Equal(2, packs.Length);

        var plan = PlanMemory.Run(graph);
        Assert.Equal(StorageKind.LoadScratch, plan[w].Kind);
        Assert.Equal(StorageKind.Weight, plan[v].Kind);
        Assert.All(packs, p => Assert.Equal(StorageKind.Weight, plan[p.Output].Kind));
        Assert.Equal(64, plan.LoadScratchElements);
        Assert.Equal(64 + packs.Sum(p => (int)graph.TypeOf(p.Output).ElementCount), plan.WeightElements);

        var single = PlanMemory.Run(graph, loadScratch: false);
        Assert.Equal(StorageKind.Weight, single[w].Kind);
        Assert.Equal(0, single.LoadScratchElements);
        Assert.Equal(plan.WeightElements + 64, single.WeightElements);
    }

    /// <summary>For every node, its result's arena bytes overlap no value still needed at that point.</summary>
    private static void AssertLiveValuesNeverOverlap(Graph graph, MemoryPlan plan)
    {
        var lastUse = new int[graph.Values.Count];
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            foreach (var input in graph.Nodes[i].Inputs) lastUse[input] = i;
        }

        foreach (var o in graph.Outputs) lastUse[o] = int.MaxValue;
        var producers = graph.Producers();
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            var node = graph.Nodes[i];
            if (plan[node.Output].Kind != StorageKind.Arena || producers[node.Output]!.Op == OpKind.Reshape) continue;
            long n = graph.TypeOf(node.Output).ElementCount;
            for (int j = 0; j < i; j++)
            {
                var other = graph.Nodes[j].Output;
                if (plan[other].Kind != StorageKind.Arena || LastUseThroughAliases(graph, other, lastUse) < i) continue;
                long m = graph.TypeOf(other).ElementCount;
                bool disjoint = plan[node.Output].Index + n <= plan[other].Index || plan[other].Index + m <= plan[node.Output].Index;
                Assert.True(disjoint || plan[other] == plan[node.Output] && IsAliasOf(graph, node.Output, other),
                    $"%{node.Output} overwrites live %{other}");
            }
        }
    }

    private static int LastUseThroughAliases(Graph graph, int value, int[] lastUse)
    {
        int last = lastUse[value];
        foreach (var node in graph.Nodes)
        {
            if (node.Op == OpKind.Reshape && node.Inputs[0] == value) last = Math.Max(last, LastUseThroughAliases(graph, node.Output, lastUse));
        }

        return last;
    }

    private static bool IsAliasOf(Graph graph, int a, int b) =>
        graph.Nodes.Any(n => n.Op == OpKind.Reshape && ((n.Output == a && n.Inputs[0] == b) || (n.Output == b && n.Inputs[0] == a)));
}
