using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using Aot.Generator;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

// Generator speed on a large model (tests/GeneratorBenchmarks/Models/TransformerEncoder12.cs: 12 transformer encoder
// layers, 700+ graph ops before optimization):
//   full run:    a fresh GeneratorDriver over a fresh compilation (what a command-line build pays; binding the model's
//                methods, lowering, the passes, the memory plan and the C# emission), median of several;
//   cached edit: the driver re-run after an edit to another file (what the IDE pays per keystroke elsewhere): every
//                model step must come out Cached/Unchanged;
//   model edit:  the driver re-run after a comment is added inside the model: the frontend re-runs, the backend does
//                not (its input is unchanged).
// Usage: dotnet run -c Release --project tests/GeneratorBenchmarks [-- --runs N]
// With AOT_BENCH_STEPS=1 it also prints each pipeline step's time and reason for the two edits.

int runs = 15;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--runs" && i + 1 < args.Length) runs = int.Parse(args[++i], CultureInfo.InvariantCulture);
}

string modelSource;
using (var stream = typeof(Program).Assembly.GetManifestResourceStream("TransformerEncoder12.cs")!)
using (var reader = new StreamReader(stream))
{
    modelSource = reader.ReadToEnd();
}

const string OtherSource = "namespace GeneratorBenchmarks; public static class Util { public static int Twice(int x) => 2 * x; }";
var parseOptions = new CSharpParseOptions(LanguageVersion.CSharp12);
var references = Basic.Reference.Assemblies.Net100.References.All.Cast<MetadataReference>()
    .Append(MetadataReference.CreateFromFile(typeof(Aot.Dsl.Tensor).Assembly.Location))
    .Append(MetadataReference.CreateFromFile(typeof(Aot.Runtime.SafeTensors).Assembly.Location))
    .ToImmutableArray();
var modelTree = CSharpSyntaxTree.ParseText(modelSource, parseOptions, path: "TransformerEncoder12.cs");
var otherTree = CSharpSyntaxTree.ParseText(OtherSource, parseOptions, path: "Util.cs");

CSharpCompilation NewCompilation() => CSharpCompilation.Create(
    "ModelAssembly", new[] { modelTree, otherTree }, references,
    new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

GeneratorDriver NewDriver(bool track = false) => CSharpGeneratorDriver.Create(
    new[] { new ModelGenerator().AsSourceGenerator() },
    parseOptions: parseOptions,
    driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: track));

// Sanity: the model compiles through the generator without a diagnostic, and the generated code compiles. This first
// run in the process also pays for JIT-compiling the generator: it is reported as the cold run.
var coldCompilation = NewCompilation();
long coldStart = Stopwatch.GetTimestamp();
var check = NewDriver().RunGenerators(coldCompilation);
double cold = Stopwatch.GetElapsedTime(coldStart).TotalMilliseconds;
var checkResult = check.GetRunResult();
var output = coldCompilation.AddSyntaxTrees(checkResult.GeneratedTrees);
var errors = checkResult.Diagnostics.Concat(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error)).ToArray();
if (errors.Length > 0)
{
    foreach (var e in errors.Take(10)) Console.Error.WriteLine(e);
    return 1;
}

string generated = checkResult.GeneratedTrees.Single().ToString();
// The generated file's header lists the IR after optimization, one "//     %id: type = Op(...)" line per node.
int irLines = generated.Split('\n').TakeWhile(l => l.StartsWith("//", StringComparison.Ordinal))
    .Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^//\s+%\d+: .* = "));
Console.WriteLine($"model: TransformerEncoder12 ({modelSource.Split('\n').Length} source lines); generated: {generated.Length / 1024.0:F0} KiB of C#, {irLines} ops after optimization");

// 1. Full runs: fresh driver, fresh compilation (the syntax trees are reused: parsing is the compiler's, not ours).
var full = new List<double>();
for (int i = 0; i < runs; i++)
{
    var compilation = NewCompilation();
    var driver = NewDriver();
    Settle();
    long start = Stopwatch.GetTimestamp();
    driver.RunGenerators(compilation);
    full.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
}

// 2. Re-runs after edits, on one warm driver: each edit is measured on its own, from a driver that has seen the
//    compilation before it.
var baseCompilation = NewCompilation();
var warm = NewDriver().RunGenerators(baseCompilation);
var tracked = NewDriver(track: true).RunGenerators(baseCompilation);
var unrelated = new List<double>();
var inModel = new List<double>();
for (int i = 0; i < runs; i++)
{
    var otherEdited = baseCompilation.ReplaceSyntaxTree(otherTree, otherTree.WithChangedText(otherTree.GetText().Replace(0, 0, $"// edit {i}\n")));
    Settle();
    long start = Stopwatch.GetTimestamp();
    warm.RunGenerators(otherEdited);
    unrelated.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);

    var text = modelTree.GetText();
    int at = text.ToString().IndexOf("var h = x;", StringComparison.Ordinal);
    var modelEdited = baseCompilation.ReplaceSyntaxTree(modelTree, modelTree.WithChangedText(text.Replace(at, 0, $"// comment {i}\n        ")));
    Settle();
    start = Stopwatch.GetTimestamp();
    warm.RunGenerators(modelEdited);
    inModel.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);

    if (i == 0 && Environment.GetEnvironmentVariable("AOT_BENCH_STEPS") == "1")
    {
        foreach (var (edit, label) in new[] { (otherEdited, "unrelated"), ((Compilation)modelEdited, "model") })
        {
            var r = tracked.RunGenerators(edit).GetRunResult();
            foreach (var kv in r.Results[0].TrackedSteps) Console.WriteLine($"{label} step {kv.Key}: {string.Join(", ", kv.Value.Select(x => x.ElapsedTime.TotalMilliseconds.ToString("F2") + "ms " + string.Join("/", x.Outputs.Select(o => o.Reason))))}");
        }
    }

    if (i == 0)
    {
        // The cache must be hit: check the step reasons once, on a tracking driver.
        AssertReused(tracked.RunGenerators(otherEdited).GetRunResult(), "an unrelated edit", includeFrontend: true);
        AssertReused(tracked.RunGenerators(modelEdited).GetRunResult(), "a comment in the model", includeFrontend: false);
    }
}

// A collection between measurements, so one run does not pay for the garbage of the previous one.
static void Settle()
{
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
}

static double Median(List<double> xs)
{
    var s = xs.OrderBy(x => x).ToArray();
    return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
}

Console.WriteLine($"full run (fresh driver and compilation), median of {runs}: {Median(full):F1} ms (min {full.Min():F1} ms; cold, first in the process with JIT: {cold:F1} ms)");
Console.WriteLine($"re-run after an unrelated edit (cached), median of {runs}: {Median(unrelated):F2} ms");
Console.WriteLine($"re-run after a comment in the model (frontend only, output unchanged), median of {runs}: {Median(inModel):F1} ms");
return 0;

static void AssertReused(GeneratorDriverRunResult result, string what, bool includeFrontend)
{
    var steps = result.Results[0].TrackedSteps;
    var names = includeFrontend ? new[] { "Frontend", "Models" } : new[] { "Models" };
    foreach (var name in names)
    {
        var reasons = steps[name].SelectMany(s => s.Outputs).Select(o => o.Reason).ToArray();
        if (reasons.Length == 0 || reasons.Any(r => r is not (IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged)))
        {
            throw new InvalidOperationException($"after {what}, step {name} was not reused: {string.Join(", ", reasons)}");
        }
    }

    var outputs = result.Results[0].TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).Select(o => o.Reason).ToArray();
    if (outputs.Any(r => r is not (IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged)))
    {
        throw new InvalidOperationException($"after {what}, an output step re-ran: {string.Join(", ", outputs)}");
    }
}
