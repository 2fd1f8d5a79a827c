using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Aot.Generator;

/// <summary>
/// MSBuild knobs the generator reads (exposed to it with CompilerVisibleProperty, which the Aot.Compiler package's
/// build/Aot.Compiler.props declares): <c>AotDumpIR</c> (true: add a generated file with the IR after every pass),
/// <c>AotDisabledPasses</c> (semicolon-separated pass names to skip). The props also expose <c>AotTargets</c> and
/// <c>AotInstructionSet</c>, reserved (documented as such in the README) and not read here yet.
/// </summary>
internal sealed record GeneratorOptions(bool DumpIR, EquatableArray<string> DisabledPasses)
{
    public static readonly GeneratorOptions Default = new(false, EquatableArray<string>.Empty);

    public static GeneratorOptions From(AnalyzerConfigOptions options)
    {
        options.TryGetValue("build_property.AotDumpIR", out var dump);
        options.TryGetValue("build_property.AotDisabledPasses", out var disabled);
        var passes = (disabled ?? "").Split(new[] { ';', ',' }, StringSplitOptions.RemoveEmptyEntries).Select(p => p.Trim()).OrderBy(p => p, StringComparer.Ordinal);
        return new GeneratorOptions(string.Equals(dump, "true", StringComparison.OrdinalIgnoreCase), new EquatableArray<string>(passes));
    }

    public ISet<string> DisabledSet => new HashSet<string>(DisabledPasses, StringComparer.Ordinal);
}
