using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Aot.Runtime.Tuning;

namespace Aot.Tuner;

/// <summary>
/// Finds the tunable GEMM kernels of every generated model in an assembly: each <c>[Model]</c> class has a static
/// <c>TunableKernels</c> property (a list of <see cref="TunableKernel"/>).
/// </summary>
internal static class KernelDiscovery
{
    public const string PropertyName = "TunableKernels";

    /// <summary>Loads the assembly at <paramref name="path"/> with its dependencies from its folder; Aot.Runtime and
    /// Aot.Dsl come from the tuner, so <see cref="TunableKernel"/> is the same type on both sides.</summary>
    public static Assembly Load(string path)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new TunerException($"no assembly at {full}: build the project first (dotnet build -c Release)");
        return new AppContext(full).LoadFromAssemblyPath(full);
    }

    /// <summary>Every model's kernels, models in ordinal order of their full name, kernels in graph order.</summary>
    public static IReadOnlyList<TunableKernel> Find(Assembly assembly)
    {
        Type[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            types = e.Types.Where(t => t is not null).ToArray()!;
        }

        var kernels = new List<TunableKernel>();
        foreach (var type in types.OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            var property = type.GetProperty(PropertyName, BindingFlags.Public | BindingFlags.Static);
            if (property is null || !typeof(IEnumerable<TunableKernel>).IsAssignableFrom(property.PropertyType)) continue;
            kernels.AddRange((IEnumerable<TunableKernel>)property.GetValue(null)!);
        }

        return kernels;
    }

    /// <summary>The app's dependencies as its .deps.json says, else from its folder.</summary>
    private sealed class AppContext(string mainAssembly) : AssemblyLoadContext("tuned-app")
    {
        private readonly AssemblyDependencyResolver? _resolver = TryResolver(mainAssembly);

        protected override Assembly? Load(AssemblyName name)
        {
            if (name.Name is "Aot.Runtime" or "Aot.Dsl") return null; // the tuner's own
            string? path = _resolver?.ResolveAssemblyToPath(name);
            if (path is null)
            {
                string local = Path.Combine(Path.GetDirectoryName(mainAssembly)!, name.Name + ".dll");
                path = File.Exists(local) ? local : null;
            }

            return path is null ? null : LoadFromAssemblyPath(path);
        }

        private static AssemblyDependencyResolver? TryResolver(string path)
        {
            try
            {
                return new AssemblyDependencyResolver(path);
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }
    }
}

/// <summary>A problem the tuner reports as a message and exit code 2, without a stack trace.</summary>
internal sealed class TunerException(string message) : Exception(message);
