using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Aot.Generator.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace Aot.Generator.Tuning;

/// <summary>
/// One line of a tuning file: the cache blocks measured for one GEMM kernel of one model, with the kernel's shape
/// when it was measured. <see cref="Model"/> is the model class's full name (namespace.Class), <see cref="Kernel"/>
/// the kernel's stable name in the generated code (its IR value, e.g. <c>%5</c>), <see cref="Kind"/> <c>gemm</c>
/// (a matrix product with packed weights) or <c>conv</c> (a convolution run as implicit GEMM).
/// </summary>
internal sealed record TuningEntry(string Model, string Kernel, string Kind, int M, int N, int K, int Kc, int Mc, LocationInfo Location)
{
    /// <summary>The entry as the tuner writes it (and as diagnostics quote it).</summary>
    public override string ToString() =>
        $"{Model}/{Kernel} {Kind} m={M} n={N} k={K} kc={Kc} mc={Mc}";
}

/// <summary>A tuning file's entries and the problems found in it (malformed lines, AOT0015), as equatable data.</summary>
internal sealed record TuningFile(string Path, EquatableArray<TuningEntry> Entries, EquatableArray<DiagnosticInfo> Problems);

/// <summary>
/// The text format of tuning files (written by src/Tuner, read here; netstandard2.0, no JSON). One entry per line:
/// <code>
/// # comment (the tuner writes the machine it measured on here)
/// MyApp.MnistMlp/%5 gemm m=1 n=512 k=784 kc=256 mc=6
/// </code>
/// The five numbers are positive integers, in any order, each exactly once; <c>#</c> starts a comment anywhere.
/// A malformed line is reported (AOT0015, at the line) and ignored; the rest of the file still applies.
/// </summary>
internal static class TuningFileFormat
{
    /// <summary>File names ending in this are tuning files (the <c>AotTuningFile</c> knob names one more).</summary>
    public const string Extension = ".aot-tuning";

    public static readonly string[] Kinds = { "gemm", "conv" };

    private static readonly string[] Keys = { "m", "n", "k", "kc", "mc" };

    /// <summary>Whether an additional file is a tuning file: its name ends in <see cref="Extension"/>, or it is the
    /// file the <c>AotTuningFile</c> property names (compared by file name: MSBuild passes the property as written,
    /// relative or not, and AdditionalFiles with full paths).</summary>
    public static bool IsTuningFile(string path, string knob)
    {
        if (path.EndsWith(Extension, StringComparison.OrdinalIgnoreCase)) return true;
        if (knob.Length == 0) return false;
        string name = FileName(knob);
        return name.Length > 0 && string.Equals(FileName(path), name, StringComparison.OrdinalIgnoreCase);
    }

    private static string FileName(string path)
    {
        int slash = Math.Max(path.LastIndexOf('/'), path.LastIndexOf('\\'));
        return path.Substring(slash + 1);
    }

    public static TuningFile Parse(string path, SourceText? text)
    {
        var entries = new List<TuningEntry>();
        var problems = new List<DiagnosticInfo>();
        if (text is null)
        {
            problems.Add(new DiagnosticInfo(DiagnosticDescriptors.MalformedTuningLine.Id, null, $"the tuning file '{path}' could not be read; it is ignored"));
            return new TuningFile(path, EquatableArray<TuningEntry>.Empty, new EquatableArray<DiagnosticInfo>(problems));
        }

        var first = new Dictionary<(string, string), int>();
        foreach (var line in text.Lines)
        {
            string content = line.ToString();
            int hash = content.IndexOf('#');
            if (hash >= 0) content = content.Substring(0, hash);
            if (content.Trim().Length == 0) continue;

            var location = new LocationInfo(path, line.Span, text.Lines.GetLinePositionSpan(line.Span));
            int lineNumber = line.LineNumber + 1;
            var (entry, error) = ParseLine(content, location);
            if (entry is null)
            {
                problems.Add(new DiagnosticInfo(DiagnosticDescriptors.MalformedTuningLine.Id, location,
                    $"line {lineNumber} of the tuning file is not '<Namespace.Model>/<kernel> <gemm|conv> m=<int> n=<int> k=<int> kc=<int> mc=<int>': {error}; the line is ignored"));
                continue;
            }

            if (first.TryGetValue((entry.Model, entry.Kernel), out int earlier))
            {
                problems.Add(new DiagnosticInfo(DiagnosticDescriptors.MalformedTuningLine.Id, location,
                    $"line {lineNumber} of the tuning file repeats kernel {entry.Model}/{entry.Kernel}, already tuned on line {earlier}; the line is ignored"));
                continue;
            }

            first[(entry.Model, entry.Kernel)] = lineNumber;
            entries.Add(entry);
        }

        return new TuningFile(path, new EquatableArray<TuningEntry>(entries), new EquatableArray<DiagnosticInfo>(problems));
    }

    private static (TuningEntry? Entry, string Error) ParseLine(string content, LocationInfo location)
    {
        var fields = content.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 2) return (null, "expected a kernel name, a kind and five numbers");
        string name = fields[0];
        int slash = name.LastIndexOf('/');
        if (slash <= 0 || slash == name.Length - 1) return (null, $"'{name}' is not <Namespace.Model>/<kernel>");
        string kind = fields[1];
        if (!Kinds.Contains(kind)) return (null, $"unknown kind '{kind}' (expected {string.Join(" or ", Kinds)})");

        var values = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var field in fields.Skip(2))
        {
            int eq = field.IndexOf('=');
            string key = eq > 0 ? field.Substring(0, eq) : field;
            if (eq <= 0 || !Keys.Contains(key)) return (null, $"'{field}' is not one of {string.Join("=, ", Keys)}=");
            if (values.ContainsKey(key)) return (null, $"{key}= appears twice");
            if (!int.TryParse(field.Substring(eq + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value <= 0)
            {
                return (null, $"{key} must be a positive integer, not '{field.Substring(eq + 1)}'");
            }

            values[key] = value;
        }

        var missing = Keys.Where(k => !values.ContainsKey(k)).ToArray();
        if (missing.Length > 0) return (null, "missing " + string.Join(", ", missing.Select(k => k + "=")));
        return (new TuningEntry(name.Substring(0, slash), name.Substring(slash + 1), kind,
            values["m"], values["n"], values["k"], values["kc"], values["mc"], location), "");
    }

    /// <summary>
    /// All tuning files of a compilation as one table, in path order; an entry for a kernel that an earlier file
    /// already tunes is reported (AOT0015) and ignored, so the result does not depend on the order Roslyn lists the
    /// files in. The same path listed twice is read once.
    /// </summary>
    public static TuningTable Merge(IEnumerable<TuningFile> files)
    {
        var entries = new List<TuningEntry>();
        var problems = new List<DiagnosticInfo>();
        var seen = new Dictionary<(string, string), TuningEntry>();
        // A file listed twice (AotTuningFile and an explicit AdditionalFiles item) counts once.
        foreach (var file in files.GroupBy(f => f.Path, StringComparer.Ordinal).Select(g => g.First()).OrderBy(f => f.Path, StringComparer.Ordinal))
        {
            problems.AddRange(file.Problems);
            foreach (var entry in file.Entries)
            {
                if (seen.TryGetValue((entry.Model, entry.Kernel), out var earlier))
                {
                    problems.Add(new DiagnosticInfo(DiagnosticDescriptors.MalformedTuningLine.Id, entry.Location,
                        $"kernel {entry.Model}/{entry.Kernel} is already tuned in '{Path.GetFileName(earlier.Location.FilePath)}' line {earlier.Location.LineSpan.Start.Line + 1}; this line is ignored"));
                    continue;
                }

                seen[(entry.Model, entry.Kernel)] = entry;
                entries.Add(entry);
            }
        }

        return new TuningTable(new EquatableArray<TuningEntry>(entries), new EquatableArray<DiagnosticInfo>(problems));
    }
}

/// <summary>Every tuning entry of the compilation, and the problems found in the files.</summary>
internal sealed record TuningTable(EquatableArray<TuningEntry> Entries, EquatableArray<DiagnosticInfo> Problems)
{
    public static readonly TuningTable Empty = new(EquatableArray<TuningEntry>.Empty, EquatableArray<DiagnosticInfo>.Empty);

    /// <summary>The entries of one model (by full name), in file order: what that model's emission depends on.</summary>
    public EquatableArray<TuningEntry> For(string model) =>
        new(Entries.Where(e => string.Equals(e.Model, model, StringComparison.Ordinal)));
}
