using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace Aot.Onnx;

/// <summary>C# identifiers for ONNX names: PascalCase members, camelCase parameters and locals, unique, never a keyword
/// or a member the generator adds.</summary>
internal sealed class Names
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue",
        "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally",
        "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock", "long",
        "namespace", "new", "null", "object", "operator", "out", "override", "params", "private", "protected", "public",
        "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string", "struct", "switch",
        "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void",
        "volatile", "while", "var", "dynamic", "value", "nameof", "await", "async", "yield", "record", "required", "scoped",
        "file", "args",
    };

    /// <summary>Members of the model class that the generator or System.Object define.</summary>
    private static readonly string[] ReservedMembers =
    {
        "Forward", "LoadWeights", "SaveWeights", "WeightSpecs", "InputSpecs", "OutputSpec", "TunableKernels", "PrepareWeights",
        "Spec", "Run", "Execute", "Dispose", "GetType", "ToString", "Equals", "GetHashCode", "MemberwiseClone", "Finalize",
        "ReferenceEquals", "Tensor", "Ops", "Model", "Weight", "Input",
    };

    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public Names(string className)
    {
        _used.Add(className);
        foreach (var m in ReservedMembers) _used.Add(m);
    }

    public string Member(string onnxName, string fallback)
    {
        string name = string.Concat(Words(onnxName).Select(Capitalize));
        if (name.Length == 0) name = fallback;
        if (char.IsDigit(name[0])) name = fallback + name;
        if (name.StartsWith("Compile", StringComparison.Ordinal)) name = fallback + name;
        return Unique(name);
    }

    public string Local(string onnxName, string fallback)
    {
        var words = Words(onnxName).ToList();
        // PyTorch names results "/fc1/Gemm_output_0": the suffix adds nothing.
        if (words.Count > 2 && words[^2] == "output" && words[^1] == "0") words.RemoveRange(words.Count - 2, 2);
        string name = words.Count == 0 ? fallback : char.ToLowerInvariant(words[0][0]) + words[0].Substring(1) + string.Concat(words.Skip(1).Select(Capitalize));
        if (name.Length > 48) name = name.Substring(name.Length - 48).TrimStart('_');
        if (name.Length == 0 || !char.IsLetter(name[0])) name = fallback + Capitalize(name);
        if (Keywords.Contains(name)) name += "_";
        return Unique(name);
    }

    private string Unique(string name)
    {
        string candidate = name;
        for (int i = 2; !_used.Add(candidate); i++) candidate = $"{name}_{i}";
        return candidate;
    }

    private static IEnumerable<string> Words(string s)
    {
        var word = new StringBuilder();
        foreach (char c in s)
        {
            if (c < 128 && char.IsLetterOrDigit(c))
            {
                word.Append(c);
            }
            else if (word.Length > 0)
            {
                yield return word.ToString();
                word.Clear();
            }
        }

        if (word.Length > 0) yield return word.ToString();
    }

    private static string Capitalize(string w) => w.Length == 0 ? w : char.ToUpperInvariant(w[0]) + w.Substring(1);
}
