using Aot.Generator.IR;

namespace Aot.Generator.Passes;

/// <summary>
/// Which values depend on weights and constants only. Those are computed once, when a model instance is
/// compiled (weight repacking, transposes of weights, scalar constants), never per inference.
/// </summary>
internal static class LoadTimeValues
{
    public static bool[] Of(Graph graph)
    {
        var loadTime = new bool[graph.Values.Count];
        foreach (var w in graph.Weights) loadTime[w] = true;
        foreach (var node in graph.Nodes)
        {
            bool all = true;
            foreach (var input in node.Inputs) all &= loadTime[input];
            loadTime[node.Output] = all;
        }

        return loadTime;
    }
}
