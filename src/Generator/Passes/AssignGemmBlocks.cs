using System;
using System.Collections.Generic;
using System.Linq;
using Aot.Generator.Backends.Cpu;
using Aot.Generator.Diagnostics;
using Aot.Generator.IR;
using Aot.Generator.Tuning;

namespace Aot.Generator.Passes;

/// <summary>
/// CPU pass, last: gives every GEMM kernel (PackedGemm, ConvGemm) its cache blocks as attributes kc and mc, which the
/// kernel emits as literals. They come from the tuning file when it has an entry for this kernel (matched on the
/// kernel's name, <see cref="GemmProblem.KernelName"/>, and its kind and m, n, k; then tuned = 1), else from the cost
/// model (<see cref="CpuTiling.Gemm"/>). An entry whose kernel is gone or has another shape is stale: it is ignored
/// and listed in <see cref="Stale"/> (reported as AOT0016). Same graph and same file, same blocks: builds stay
/// reproducible. Requires: the CPU layout passes have run. Guarantees: same nodes and values, attributes added.
/// </summary>
internal sealed class AssignGemmBlocks : IPass
{
    private readonly CpuTarget _target;
    private readonly string _model;
    private readonly IReadOnlyList<TuningEntry> _tuning;
    private readonly List<DiagnosticInfo> _stale = new();

    /// <param name="model">The model's full name (namespace.Class), as tuning entries name it.</param>
    public AssignGemmBlocks(CpuTarget target, string model, IReadOnlyList<TuningEntry> tuning)
    {
        _target = target;
        _model = model;
        _tuning = tuning;
    }

    public string Name => nameof(AssignGemmBlocks);

    /// <summary>The stale entries of the last <see cref="Run"/>, as AOT0016 diagnostics at their lines.</summary>
    public IReadOnlyList<DiagnosticInfo> Stale => _stale;

    public Graph Run(Graph graph)
    {
        _stale.Clear();
        var problems = new Dictionary<string, GemmProblem>(StringComparer.Ordinal);
        var nodes = graph.Nodes.Select(node =>
        {
            if (GemmProblem.Of(graph, node) is not { } problem) return node;
            problems[problem.Name] = problem;
            var entry = _tuning.FirstOrDefault(e => e.Kernel == problem.Name && problem.Matches(e));
            var (kc, mc) = entry is null ? CpuTiling.Gemm(problem.M, problem.N, problem.K, _target) : (entry.Kc, entry.Mc);
            var attrs = node.Attrs.With(Attr.OfInt(AttrNames.Kc, kc)).With(Attr.OfInt(AttrNames.Mc, mc));
            attrs = entry is null ? attrs : attrs.With(Attr.OfInt(AttrNames.Tuned, 1));
            return node with { Attrs = attrs };
        }).ToArray();

        foreach (var entry in _tuning)
        {
            problems.TryGetValue(entry.Kernel, out var problem);
            if (problem is not null && problem.Matches(entry)) continue;
            string now = problem is null
                ? $"{_model} has no GEMM kernel {entry.Kernel} now"
                : $"kernel {entry.Kernel} is now {problem.Kind} m={problem.M} n={problem.N} k={problem.K}";
            _stale.Add(new DiagnosticInfo(DiagnosticDescriptors.StaleTuningEntry.Id, entry.Location,
                $"the tuning entry '{entry}' does not match the model: {now}, so the cost model picks its cache blocks; re-run the tuner on this build to refresh the file"));
        }

        return graph with { Nodes = new EquatableArray<Node>(nodes) };
    }
}

/// <summary>
/// A GEMM the CPU backend runs through Sgemm.Multiply, with the cache blocks that apply to it: C[M, N] = A[M, K] @ B,
/// <see cref="Calls"/> times per inference (a convolution runs one per image and group).
/// </summary>
internal sealed record GemmProblem(string Name, string Kind, int M, int N, int K, int Calls)
{
    /// <summary>The kernel's stable name: its result's IR value (<c>%5</c>), as in the generated file's comments.</summary>
    public static string KernelName(Node node) => "%" + node.Output;

    public static GemmProblem? Of(Graph graph, Node node)
    {
        switch (node.Op)
        {
            case OpKind.PackedGemm:
            {
                // One row runs as a streaming matrix-vector product (Gemv), which has no cache blocks.
                var a = graph.TypeOf(node.Inputs[0]).Shape;
                if (a[0] == 1) return null;
                return new GemmProblem(KernelName(node), "gemm", a[0], (int)node.Attrs.Int(AttrNames.N), a[1], 1);
            }

            case OpKind.ConvGemm:
            {
                var w = graph.TypeOf(node.Inputs[1]).Shape;
                var y = graph.TypeOf(node.Output).Shape;
                int group = (int)node.Attrs.Int(AttrNames.Group);
                return new GemmProblem(KernelName(node), "conv", w[0] / group, y[2] * y[3], w[1] * w[2] * w[3], y[0] * group);
            }

            default:
                return null;
        }
    }

    public bool Matches(TuningEntry entry) => entry.Kind == Kind && entry.M == M && entry.N == N && entry.K == K;
}
