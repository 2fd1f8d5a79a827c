using System;
using System.Collections.Generic;
using System.Linq;
using Aot.Generator.IR;

namespace Aot.Generator.Passes;

internal enum StorageKind
{
    /// <summary>The caller's input span.</summary>
    Input,

    /// <summary>The weights buffer filled once when the model is compiled, and kept: what inference kernels read.</summary>
    Weight,

    /// <summary>A buffer that exists only while the model is compiled: weights and load-time results that only load-time
    /// kernels read (a weight matrix before it is packed into GEMM panels).</summary>
    LoadScratch,

    /// <summary>The per-instance arena, reused across calls.</summary>
    Arena,

    /// <summary>The caller's output span.</summary>
    Output,
}

/// <summary>Where one value lives: <see cref="Index"/> is the input/output position, or the element offset in the
/// weights buffer or arena.</summary>
internal readonly record struct Storage(StorageKind Kind, int Index);

/// <summary>The result of <see cref="PlanMemory"/>: a storage slot per value, and the buffer sizes (in 4-byte elements).</summary>
internal sealed record MemoryPlan(Storage[] Slots, bool[] LoadTime, int ArenaElements, int WeightElements, int LoadScratchElements, long IntermediateElements)
{
    public Storage this[int value] => Slots[value];

    /// <summary>True for node results computed once when the model is compiled (they live in the weights buffer).</summary>
    public bool IsLoadTime(int value) => LoadTime[value];
}

/// <summary>
/// Assigns storage to every value. Intermediates share one arena: each gets a [definition, last use] lifetime and
/// the lowest offset that no overlapping lifetime occupies (greedy first fit), so the arena is usually far
/// smaller than the sum of all intermediates. Reshape results alias their operand (same bytes, new shape) and
/// extend its lifetime. A node's result never shares bytes with its operands, so kernels need not be in-place safe.
/// Offsets are aligned to 16 elements (64 bytes, one cache line and one Vector512).
/// Values computed from weights only (see <see cref="LoadTimeValues"/>) get slots in the weights buffer instead.
/// Weights and load-time values that no inference kernel reads (only load-time kernels do: a weight matrix packed into
/// GEMM panels, a convolution's weights before the Winograd transform) go to a load scratch buffer that lives only
/// while the model is compiled, so the weights buffer holds each weight once, in the form inference reads; with
/// <c>loadScratch: false</c> (a backend that keeps one weights buffer) they stay in the weights buffer.
/// Requires: a verified graph. Guarantees: live values never overlap; graph outputs that are node results
/// (and not aliases) are written straight into the caller's output span.
/// </summary>
internal static class PlanMemory
{
    public const int Alignment = 16;

    public static MemoryPlan Run(Graph graph, bool loadScratch = true)
    {
        var slots = new Storage[graph.Values.Count];
        for (int i = 0; i < graph.Inputs.Count; i++) slots[graph.Inputs[i]] = new Storage(StorageKind.Input, i);

        // Node results that depend on weights and constants only are computed once, at compile time (graph outputs
        // excepted: they go to the caller's span on every run).
        var outputs = new HashSet<int>(graph.Outputs);
        var loadTime = LoadTimeValues.Of(graph);
        foreach (var w in graph.Weights) loadTime[w] = false;
        foreach (var o in graph.Outputs) loadTime[o] = false;

        // Root of each value: the value whose bytes it uses (itself unless it is a Reshape alias).
        var root = Enumerable.Range(0, graph.Values.Count).ToArray();
        foreach (var node in graph.Nodes)
        {
            if (IsAlias(node, outputs)) root[node.Output] = root[node.Inputs[0]];
        }

        // Which bytes an inference reads: operands of run-time kernels, and graph outputs (copied out on every run).
        var readAtRunTime = new bool[graph.Values.Count];
        foreach (var node in graph.Nodes)
        {
            if (loadTime[node.Output] || IsAlias(node, outputs)) continue;
            foreach (var input in node.Inputs) readAtRunTime[root[input]] = true;
        }

        foreach (var o in graph.Outputs) readAtRunTime[root[o]] = true;

        int weightElements = 0, scratchElements = 0;
        void Place(int value)
        {
            int size = Align((int)graph.TypeOf(value).ElementCount);
            if (readAtRunTime[value] || !loadScratch)
            {
                slots[value] = new Storage(StorageKind.Weight, weightElements);
                weightElements += size;
            }
            else
            {
                slots[value] = new Storage(StorageKind.LoadScratch, scratchElements);
                scratchElements += size;
            }
        }

        foreach (var w in graph.Weights) Place(w);
        foreach (var node in graph.Nodes)
        {
            if (loadTime[node.Output] && !IsAlias(node, outputs)) Place(node.Output);
        }

        // Lifetime of each arena root, in node positions.
        var def = new int[graph.Values.Count];
        var lastUse = new int[graph.Values.Count];
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            var node = graph.Nodes[i];
            def[node.Output] = i;
            lastUse[root[node.Output]] = Math.Max(lastUse[root[node.Output]], i);
            foreach (var input in node.Inputs) lastUse[root[input]] = Math.Max(lastUse[root[input]], i);
        }

        foreach (var o in graph.Outputs) lastUse[root[o]] = graph.Nodes.Count;

        var placed = new List<(int Offset, int Size, int Def, int LastUse)>();
        int arena = 0;
        long intermediates = 0;
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            var node = graph.Nodes[i];
            int v = node.Output;
            if (root[v] != v || loadTime[v]) continue;
            if (outputs.Contains(v))
            {
                slots[v] = new Storage(StorageKind.Output, graph.Outputs.Items.IndexOf(v));
                continue;
            }

            int size = Align((int)graph.TypeOf(v).ElementCount);
            intermediates += graph.TypeOf(v).ElementCount;
            int offset = FirstFit(placed.Where(p => p.Def <= lastUse[v] && def[v] <= p.LastUse).Select(p => (p.Offset, p.Size)), size);
            placed.Add((offset, size, def[v], lastUse[v]));
            slots[v] = new Storage(StorageKind.Arena, offset);
            arena = Math.Max(arena, offset + size);
        }

        foreach (var node in graph.Nodes)
        {
            if (root[node.Output] != node.Output) slots[node.Output] = slots[root[node.Output]];
        }

        return new MemoryPlan(slots, loadTime, arena, weightElements, scratchElements, intermediates);
    }

    /// <summary>A Reshape whose result is not a graph output just reinterprets its operand's bytes.</summary>
    public static bool IsAlias(Node node, ISet<int> outputs) => node.Op == OpKind.Reshape && !outputs.Contains(node.Output);

    private static int FirstFit(IEnumerable<(int Offset, int Size)> busy, int size)
    {
        int offset = 0;
        foreach (var (o, s) in busy.OrderBy(b => b.Offset))
        {
            if (offset + size <= o) break;
            offset = Math.Max(offset, o + s);
        }

        return offset;
    }

    private static int Align(int elements) => (Math.Max(elements, 1) + Alignment - 1) / Alignment * Alignment;
}
