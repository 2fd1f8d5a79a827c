using System.Reflection;
using System.Runtime.Loader;
using Aot.Dsl;
using Generator.Tests.Frontend;
using Microsoft.CodeAnalysis;

namespace Generator.Tests.EndToEnd;

/// <summary>Loads what the generator produced and checks a model's compiled output against its eager Forward.</summary>
internal static class GeneratedModels
{
    /// <summary>Emits the compilation (user sources + generated files) and loads it into a collectible context.</summary>
    public static Assembly Load(GeneratorHarness.RunOutput run)
    {
        Assert.Empty(run.Exceptions);
        using var stream = new MemoryStream();
        var emit = run.Output.Emit(stream);
        Assert.True(emit.Success, string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        stream.Position = 0;
        return new AssemblyLoadContext("generated", isCollectible: true).LoadFromStream(stream);
    }

    /// <summary>The model's static <c>TunableKernels</c> list.</summary>
    public static IReadOnlyList<Aot.Runtime.Tuning.TunableKernel> TunableKernels(Assembly assembly, string typeName) =>
        (IReadOnlyList<Aot.Runtime.Tuning.TunableKernel>)assembly.GetType(typeName, throwOnError: true)!.GetProperty("TunableKernels")!.GetValue(null)!;

    /// <summary>
    /// Random weights and inputs (fixed seeds), then <c>Compile(threads).Run</c> against <c>Forward</c>: every element
    /// within <paramref name="atol"/> + <paramref name="rtol"/> * |eager|.
    /// </summary>
    public static void AssertMatchesEager(Assembly assembly, string typeName, int threads, double atol = 1e-4, double rtol = 1e-4)
    {
        var type = assembly.GetType(typeName, throwOnError: true)!;
        var model = Activator.CreateInstance(type)!;
        int seed = 1;
        foreach (var spec in (IEnumerable<Aot.Runtime.TensorSpec>)type.GetProperty("WeightSpecs")!.GetValue(null)!)
        {
            type.GetProperty(spec.Name)!.SetValue(model, Tensor.Random(seed++, -0.5f, 0.5f, spec.Shape));
        }

        var inputs = ((IEnumerable<Aot.Runtime.TensorSpec>)type.GetProperty("InputSpecs")!.GetValue(null)!)
            .Select(s => Tensor.Random(seed++, -1f, 1f, s.Shape))
            .ToArray<object>();
        var eager = (Tensor)type.GetMethod("Forward")!.Invoke(model, inputs)!;
        using var compiled = (IDisposable)type.GetMethod("Compile")!.Invoke(model, new object[] { threads })!;
        var run = compiled.GetType().GetMethods().Single(m => m.Name == "Run" && m.ReturnType == typeof(Tensor));
        var ours = (Tensor)run.Invoke(compiled, inputs)!;
        Assert.Equal(eager.ShapeArray(), ours.ShapeArray());
        for (int i = 0; i < eager.Length; i++)
        {
            float expected = eager.Floats[i], actual = ours.Floats[i];
            Assert.True(Math.Abs(actual - expected) <= atol + rtol * Math.Abs(expected), $"{typeName}[{i}]: compiled {actual}, eager {expected}");
        }
    }
}
