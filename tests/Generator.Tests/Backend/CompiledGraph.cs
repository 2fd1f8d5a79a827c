using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using Aot.Dsl;
using Aot.Generator;
using Aot.Generator.Backends.Cpu;
using Aot.Generator.IR;
using Aot.Generator.Models;
using Aot.Generator.Passes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Generator.Tests.Backend;

/// <summary>
/// Compiles graphs through the CPU backend (PlanMemory + CpuEmitter) into real C#, builds it with Roslyn in
/// memory together with a hand-written user half of each model class, loads it into a collectible
/// <see cref="AssemblyLoadContext"/> and runs it through reflection. Several graphs go into one compilation
/// (classes T.M0, T.M1, ...) to keep test time down; any compiler error or warning fails the test and shows the
/// generated source.
/// </summary>
internal sealed class CompiledGraphs : IDisposable
{
    public const string Namespace = "T";

    private readonly AssemblyLoadContext _context;
    private readonly Assembly _assembly;
    private readonly Graph[] _graphs;

    private CompiledGraphs(AssemblyLoadContext context, Assembly assembly, Graph[] graphs, string[] sources)
    {
        _context = context;
        _assembly = assembly;
        _graphs = graphs;
        Sources = sources;
    }

    /// <summary>The generated source of each graph, by index.</summary>
    public IReadOnlyList<string> Sources { get; }

    /// <summary>The C# name of class index <paramref name="i"/> (namespace-qualified with global::).</summary>
    public static string ClassName(int i) => "M" + i;

    /// <summary>The member name of weight <paramref name="j"/> on every generated model class.</summary>
    public static string WeightMember(int j) => "W" + j;

    /// <summary>Emits, compiles and loads all <paramref name="graphs"/>; <paramref name="extraSource"/> is added to
    /// the same compilation (a driver that calls the models without reflection, for instance).</summary>
    public static CompiledGraphs Compile(IReadOnlyList<Graph> graphs, string extraSource = "")
    {
        var sources = new string[graphs.Count];
        var trees = new List<SyntaxTree>();
        var parse = new CSharpParseOptions(LanguageVersion.CSharp12);
        for (int i = 0; i < graphs.Count; i++)
        {
            var graph = graphs[i];
            var problems = IrVerifier.Verify(graph);
            Assert.True(problems.Count == 0, "graph does not verify:\n" + string.Join("\n", problems) + "\n" + graph);
            var model = ModelOf(graph, ClassName(i));
            sources[i] = CpuEmitter.Emit(model, graph, CpuEmitter.Plan(graph));
            trees.Add(CSharpSyntaxTree.ParseText(sources[i], parse, path: ClassName(i) + ".g.cs"));
            trees.Add(CSharpSyntaxTree.ParseText(UserPart(graph, ClassName(i)), parse, path: ClassName(i) + ".cs"));
        }

        if (extraSource.Length > 0) trees.Add(CSharpSyntaxTree.ParseText(extraSource, parse, path: "Extra.cs"));

        var compilation = CSharpCompilation.Create(
            "Kernels" + Guid.NewGuid().ToString("N"),
            trees,
            References.Value,
            new CSharpCompilationOptions(
                OutputKind.DynamicallyLinkedLibrary,
                optimizationLevel: OptimizationLevel.Release,
                allowUnsafe: true,
                nullableContextOptions: NullableContextOptions.Enable,
                warningLevel: 9999,
                // Assembly-unification notes (Aot.Dsl/Aot.Runtime target net8.0, the references are net10.0); the
                // .NET SDK suppresses these two in every project.
                specificDiagnosticOptions: new Dictionary<string, ReportDiagnostic>
                {
                    ["CS1701"] = ReportDiagnostic.Suppress,
                    ["CS1702"] = ReportDiagnostic.Suppress,
                }));

        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        var problemsFound = result.Diagnostics
            .Where(d => d.Severity is DiagnosticSeverity.Error or DiagnosticSeverity.Warning)
            .ToArray();
        if (problemsFound.Length > 0 || !result.Success)
        {
            var message = new StringBuilder("the generated code does not compile cleanly:\n");
            foreach (var d in problemsFound.Take(30)) message.AppendLine(d.ToString());
            var files = problemsFound.Select(d => d.Location.SourceTree?.FilePath).Where(p => p is not null).Distinct().Take(3);
            foreach (var file in files)
            {
                var tree = trees.First(t => t.FilePath == file);
                message.AppendLine("---- " + file).AppendLine(Numbered(tree.ToString()));
            }

            Assert.Fail(message.ToString());
        }

        stream.Position = 0;
        var context = new AssemblyLoadContext("Kernels", isCollectible: true);
        return new CompiledGraphs(context, context.LoadFromStream(stream), graphs.ToArray(), sources);
    }

    /// <summary>The frontend's output for a graph built directly: inputs keep their value names, weights become
    /// members W0, W1, ... with the value names as file names.</summary>
    public static ModelInfo ModelOf(Graph graph, string className) => new(
        Namespace,
        className,
        new EquatableArray<InputInfo>(graph.InputValues.Select(v => new InputInfo(v.Name, v.Id)).ToImmutableArray()),
        new EquatableArray<WeightInfo>(graph.WeightValues.Select((v, j) => new WeightInfo(WeightMember(j), v.Name, v.Id)).ToImmutableArray()),
        graph);

    /// <summary>The user's half of the partial class: one public field per weight, and no usings.</summary>
    private static string UserPart(Graph graph, string className)
    {
        var sb = new StringBuilder();
        sb.Append("namespace ").Append(Namespace).Append("\n{\n    public partial class ").Append(className).Append("\n    {\n");
        for (int j = 0; j < graph.Weights.Count; j++) sb.Append("        public global::Aot.Dsl.Tensor? ").Append(WeightMember(j)).Append(";\n");
        sb.Append("    }\n}\n");
        return sb.ToString();
    }

    /// <summary>Creates model <paramref name="index"/>, assigns its weights and compiles it (the Compiled instance).</summary>
    public object Instantiate(int index, IReadOnlyList<Tensor> weights)
    {
        var type = GetType(ClassName(index));
        Assert.Equal(_graphs[index].Weights.Count, weights.Count);
        var model = Activator.CreateInstance(type)!;
        for (int j = 0; j < weights.Count; j++) type.GetField(WeightMember(j))!.SetValue(model, weights[j]);
        return Unwrap(() => type.GetMethod("Compile")!.Invoke(model, new object[] { 1 }))!;
    }

    /// <summary>Runs model <paramref name="index"/> on tensors through the generated <c>Run(Tensor...)</c>.</summary>
    public Tensor Run(int index, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor> inputs)
    {
        var compiled = Instantiate(index, weights);
        var run = compiled.GetType().GetMethod("Run", inputs.Select(_ => typeof(Tensor)).ToArray())
            ?? throw new InvalidOperationException("no Run(Tensor...) overload with " + inputs.Count + " parameters");
        return (Tensor)Unwrap(() => run.Invoke(compiled, inputs.Cast<object>().ToArray()))!;
    }

    /// <summary>A type of the compiled assembly by its name in namespace T.</summary>
    public Type GetType(string name) =>
        _assembly.GetType(Namespace + "." + name) ?? throw new InvalidOperationException("no type " + name + " in the compiled assembly");

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

    public void Dispose() => _context.Unload();

    private static string Numbered(string source) =>
        string.Join("\n", source.Split('\n').Select((line, i) => (i + 1).ToString().PadLeft(5) + "  " + line));

    private static readonly Lazy<MetadataReference[]> References = new(() =>
        Basic.Reference.Assemblies.Net100.References.All
            .Concat(new[]
            {
                MetadataReference.CreateFromFile(typeof(Tensor).Assembly.Location),
                MetadataReference.CreateFromFile(typeof(Aot.Runtime.WeightBinding).Assembly.Location),
            })
            .ToArray());
}
