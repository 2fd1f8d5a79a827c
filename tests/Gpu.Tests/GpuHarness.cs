using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using Aot.Dsl;
using Aot.Generator;
using Aot.Generator.Backends.Gpu;
using Aot.Generator.IR;
using Aot.Generator.Models;
using Aot.Generator.Passes;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Gpu.Tests;

/// <summary>
/// One ILGPU context and CPU accelerator for the whole test run (creating them is slow, and the accelerator runs
/// each group on its own OS threads). The device allows groups of 256 threads (32 x 8), the most any generated
/// kernel launches; ILGPU's default CPU device allows 16.
/// </summary>
public sealed class GpuFixture : IDisposable
{
    public GpuFixture()
    {
        if (UseCuda)
        {
            Context = Context.Create(builder => builder.Cuda().CPU(new CPUDevice(numThreadsPerWarp: 32, numWarpsPerMultiprocessor: 8, numMultiprocessors: 1)));
            Accelerator = Context.CreateCudaAccelerator(0);
            return;
        }

        Context = Context.Create(builder => builder.CPU(new CPUDevice(numThreadsPerWarp: 32, numWarpsPerMultiprocessor: 8, numMultiprocessors: 1)));
        Accelerator = Context.CreateCPUAccelerator(0, CPUAcceleratorMode.Parallel);
    }

    /// <summary>Set by <see cref="DeviceRunner"/> (<c>dotnet Gpu.Tests.dll --cuda</c>) to run the same tests on the first
    /// CUDA device instead of the CPU accelerator.</summary>
    internal static bool UseCuda { get; set; }

    public Context Context { get; }

    public Accelerator Accelerator { get; }

    public void Dispose()
    {
        Accelerator.Dispose();
        Context.Dispose();
    }
}

/// <summary>Every GPU test class shares the fixture and runs serially (the CPU accelerator already uses every core).</summary>
[CollectionDefinition(Name)]
public sealed class GpuCollection : ICollectionFixture<GpuFixture>
{
    public const string Name = "Gpu";
}

/// <summary>
/// Compiles graphs through the GPU backend (default passes, PlanMemory, GpuEmitter) into real C#, builds it with
/// Roslyn in memory together with a hand-written user half of each model class (ILGPU and Aot.Runtime.Gpu
/// referenced), loads it, and runs the generated <c>GpuCompiled</c> on the fixture's accelerator through reflection.
/// Several graphs go into one compilation (classes T.M0, T.M1, ...) to keep test time down; any compiler error or
/// warning fails the test and shows the generated source.
/// </summary>
internal sealed class GpuCompiledGraphs
{
    public const string Namespace = "T";

    private readonly Assembly _assembly;
    private readonly Graph[] _graphs;

    private GpuCompiledGraphs(Assembly assembly, Graph[] graphs, string[] sources)
    {
        _assembly = assembly;
        _graphs = graphs;
        Sources = sources;
    }

    /// <summary>The generated GPU source of each graph, by index.</summary>
    public IReadOnlyList<string> Sources { get; }

    public Assembly Assembly => _assembly;

    public static string ClassName(int i) => "M" + i;

    public static string WeightMember(int j) => "W" + j;

    /// <summary>Emits, compiles and loads all <paramref name="graphs"/> (optimized by the GPU pipeline, as the
    /// generator does); <paramref name="extraSource"/> joins the same compilation.</summary>
    public static GpuCompiledGraphs Compile(IReadOnlyList<Graph> graphs, string extraSource = "", GpuTarget? target = null)
    {
        var sources = new string[graphs.Count];
        var optimized = new Graph[graphs.Count];
        var trees = new List<SyntaxTree>();
        var parse = new CSharpParseOptions(LanguageVersion.CSharp12);
        for (int i = 0; i < graphs.Count; i++)
        {
            var problems = IrVerifier.Verify(graphs[i]);
            Assert.True(problems.Count == 0, "graph does not verify:\n" + string.Join("\n", problems) + "\n" + graphs[i]);
            optimized[i] = GpuPasses.Optimize(graphs[i], new HashSet<string>(), CancellationToken.None);

            // The model info refers to the optimized graph's ids (the passes renumber values; inputs and weights keep
            // their order, so W0, W1, ... still match the test's weight list).
            var model = ModelOf(optimized[i], ClassName(i));
            sources[i] = GpuEmitter.Emit(model, optimized[i], target ?? GpuTarget.H100);
            trees.Add(CSharpSyntaxTree.ParseText(sources[i], parse, path: ClassName(i) + ".Gpu.g.cs"));
            trees.Add(CSharpSyntaxTree.ParseText(UserPart(graphs[i], ClassName(i)), parse, path: ClassName(i) + ".cs"));
        }

        if (extraSource.Length > 0) trees.Add(CSharpSyntaxTree.ParseText(extraSource, parse, path: "Extra.cs"));
        var compilation = CSharpCompilation.Create(
            "GpuKernels" + Guid.NewGuid().ToString("N"),
            trees,
            References.Value,
            new CSharpCompilationOptions(
                OutputKind.DynamicallyLinkedLibrary,
                optimizationLevel: Microsoft.CodeAnalysis.OptimizationLevel.Release,
                nullableContextOptions: NullableContextOptions.Enable,
                warningLevel: 9999,
                specificDiagnosticOptions: new Dictionary<string, ReportDiagnostic>
                {
                    // Assembly-unification notes (Aot.* target net8.0, the references net10.0), suppressed by the SDK too.
                    ["CS1701"] = ReportDiagnostic.Suppress,
                    ["CS1702"] = ReportDiagnostic.Suppress,
                }));

        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        var found = result.Diagnostics.Where(d => d.Severity is DiagnosticSeverity.Error or DiagnosticSeverity.Warning).ToArray();
        if (found.Length > 0 || !result.Success)
        {
            var message = new StringBuilder("the generated GPU code does not compile cleanly:\n");
            foreach (var d in found.Take(30)) message.AppendLine(d.ToString());
            foreach (var file in found.Select(d => d.Location.SourceTree?.FilePath).Where(p => p is not null).Distinct().Take(2))
            {
                message.AppendLine("---- " + file).AppendLine(Numbered(trees.First(t => t.FilePath == file).ToString()));
            }

            Assert.Fail(message.ToString());
        }

        // ILGPU's CPU accelerator emits launchers that reference the kernels' assembly, so it is loaded into a
        // non-collectible context (test assemblies are small; they live as long as the test process).
        stream.Position = 0;
        var context = new AssemblyLoadContext("GpuKernels" + Guid.NewGuid().ToString("N"), isCollectible: false);
        return new GpuCompiledGraphs(context.LoadFromStream(stream), optimized, sources);
    }

    /// <summary>The frontend's output for a graph built directly: inputs keep their value names, weights become
    /// members W0, W1, ... with the value names as file names.</summary>
    public static ModelInfo ModelOf(Graph graph, string className) => new(
        Namespace,
        className,
        new EquatableArray<InputInfo>(graph.InputValues.Select(v => new InputInfo(v.Name, v.Id)).ToImmutableArray()),
        new EquatableArray<WeightInfo>(graph.WeightValues.Select((v, j) => new WeightInfo(WeightMember(j), v.Name, v.Id)).ToImmutableArray()),
        graph);

    private static string UserPart(Graph graph, string className)
    {
        var sb = new StringBuilder();
        sb.Append("namespace ").Append(Namespace).Append("\n{\n    public partial class ").Append(className).Append("\n    {\n");
        for (int j = 0; j < graph.Weights.Count; j++) sb.Append("        public global::Aot.Dsl.Tensor? ").Append(WeightMember(j)).Append(";\n");
        sb.Append("    }\n}\n");
        return sb.ToString();
    }

    public Type GetType(string name) =>
        _assembly.GetType(Namespace + "." + name) ?? throw new InvalidOperationException("no type " + name + " in the compiled assembly");

    /// <summary>Creates model <paramref name="index"/>, assigns its weights and compiles it for the accelerator.</summary>
    public IDisposable Instantiate(int index, IReadOnlyList<Tensor> weights, Accelerator accelerator)
    {
        var type = GetType(ClassName(index));
        Assert.Equal(_graphs[index].Weights.Count, weights.Count);
        var model = Activator.CreateInstance(type)!;
        for (int j = 0; j < weights.Count; j++) type.GetField(WeightMember(j))!.SetValue(model, weights[j]);
        return (IDisposable)Unwrap(() => type.GetMethod("CompileForGpu")!.Invoke(model, new object[] { accelerator }))!;
    }

    /// <summary>Runs model <paramref name="index"/> once on tensors (the host-span path, through the generated
    /// <c>Run(Tensor...)</c>).</summary>
    public Tensor Run(int index, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor> inputs, Accelerator accelerator)
    {
        using var compiled = Instantiate(index, weights, accelerator);
        var run = compiled.GetType().GetMethod("Run", inputs.Select(_ => typeof(Tensor)).ToArray())
            ?? throw new InvalidOperationException("no Run(Tensor...) overload with " + inputs.Count + " parameters");
        return (Tensor)Unwrap(() => run.Invoke(compiled, inputs.Cast<object>().ToArray()))!;
    }

    /// <summary>Reflection wraps exceptions thrown by the generated code; tests want the original.</summary>
    public static object? Unwrap(Func<object?> call)
    {
        try
        {
            return call();
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    /// <summary>The kernel methods of the compiled assembly (static methods named K&lt;index&gt;_&lt;op&gt;).</summary>
    public IEnumerable<MethodInfo> KernelMethods() =>
        _assembly.GetTypes()
            .Where(t => t.Name == "GpuCompiled")
            .SelectMany(t => t.GetMethods(BindingFlags.NonPublic | BindingFlags.Static))
            .Where(m => m.Name.Length > 1 && m.Name[0] == 'K' && char.IsDigit(m.Name[1]));

    private static string Numbered(string source) =>
        string.Join("\n", source.Split('\n').Select((line, i) => (i + 1).ToString().PadLeft(5) + "  " + line));

    internal static readonly Lazy<MetadataReference[]> References = new(() =>
        Basic.Reference.Assemblies.Net100.References.All
            .Concat(new[]
            {
                MetadataReference.CreateFromFile(typeof(Tensor).Assembly.Location),
                MetadataReference.CreateFromFile(typeof(Aot.Runtime.WeightBinding).Assembly.Location),
                MetadataReference.CreateFromFile(typeof(Aot.Runtime.Gpu.GpuRuntime).Assembly.Location),
                MetadataReference.CreateFromFile(typeof(Context).Assembly.Location),
            })
            .ToArray());
}
