using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Aot.Dsl;
using Aot.Runtime;

namespace Aot.Onnx;

/// <summary>What to import as: the class name (optionally namespace-qualified) and values for symbolic dimensions.</summary>
public sealed class OnnxImportOptions
{
    /// <summary>The model class, e.g. <c>MyApp.Models.ResNet</c> (the namespace is optional).</summary>
    public required string ClassName { get; init; }

    /// <summary>Values for symbolic input dimensions (dim_param), e.g. batch = 1.</summary>
    public IReadOnlyDictionary<string, int> Dimensions { get; init; } = new Dictionary<string, int>();

    /// <summary>
    /// A symbolic dimension (dim_param) that stays dynamic up to a bound, e.g. ("sequence", 256): the generated class
    /// runs every size from 1 to the bound (its inputs get <c>DynamicAxis</c>). At most one; null: every dimension static.
    /// </summary>
    public (string Name, int Bound)? Dynamic { get; init; }

    /// <summary>The file name shown in the generated header (defaults to the imported file's name).</summary>
    public string? SourceName { get; init; }

    /// <summary>The graph output to compute, for a model with several (e.g. a transformer's last_hidden_state); only the
    /// nodes it depends on are imported. Null: the model must have exactly one output.</summary>
    public string? Output { get; init; }
}

/// <summary>The importer's output: DSL C# source and the weights it declares (ONNX names, in order of first use).</summary>
public sealed class OnnxImportResult
{
    internal OnnxImportResult(string source, string? ns, string className, IReadOnlyList<KeyValuePair<string, Tensor>> weights, int[] outputShape)
    {
        Source = source;
        Namespace = ns;
        ClassName = className;
        Weights = weights;
        OutputShape = outputShape;
    }

    /// <summary>A C# file with the <c>[Model]</c> partial class.</summary>
    public string Source { get; }

    public string? Namespace { get; }

    /// <summary>The class name without the namespace.</summary>
    public string ClassName { get; }

    public IReadOnlyList<KeyValuePair<string, Tensor>> Weights { get; }

    public int[] OutputShape { get; }

    /// <summary>Writes the weights as a safetensors file (what the generated class's <c>LoadWeights</c> reads).</summary>
    public void WriteWeights(string path) => SafeTensors.Write(path, Weights, new Dictionary<string, string> { ["format"] = "pt", ["aot.model"] = ClassName });

    /// <summary>The weights as safetensors bytes.</summary>
    public byte[] SerializeWeights() => SafeTensors.Serialize(Weights, new Dictionary<string, string> { ["format"] = "pt", ["aot.model"] = ClassName });
}

/// <summary>
/// Turns an ONNX model into a DSL model class: one statement per ONNX node (constant shape arithmetic is evaluated
/// here and leaves no statement), [Weight] properties named after the initializers. Static shapes only; everything it
/// does not support is an <see cref="OnnxUnsupportedException"/> naming the node, op and value, and a malformed file an
/// <see cref="OnnxFormatException"/>.
/// </summary>
public static class OnnxImporter
{
    public const int MinOpset = 7;
    public const int MaxOpset = 21;

    /// <summary>The ONNX operators this importer maps (default domain).</summary>
    public static IReadOnlyCollection<string> SupportedOps => Converter.Handlers.Keys;

    public static OnnxImportResult ImportFile(string path, OnnxImportOptions options)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OnnxFormatException($"cannot read '{path}': {e.Message}", e);
        }

        var withSource = options.SourceName is null
            ? new OnnxImportOptions { ClassName = options.ClassName, Dimensions = options.Dimensions, Dynamic = options.Dynamic, SourceName = Path.GetFileName(path), Output = options.Output }
            : options;
        return Import(bytes, withSource, Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <summary>Imports ONNX ModelProto bytes.</summary>
    /// <param name="bytes">The .onnx file's content.</param>
    /// <param name="options">Class name and symbolic dimension values.</param>
    /// <param name="modelDirectory">The folder external data is relative to; null rejects external data.</param>
    public static OnnxImportResult Import(ReadOnlyMemory<byte> bytes, OnnxImportOptions options, string? modelDirectory = null)
    {
        var model = OnnxParser.Parse(bytes);
        return options.Dynamic is null ? new Converter(model, options, modelDirectory).Run() : DynamicImport.Run(model, options, modelDirectory);
    }
}

/// <summary>A value of the graph: known at import time (<see cref="Const"/>) and/or a C# expression at run time.</summary>
internal sealed class Value
{
    public Value(string onnxName, int[] shape)
    {
        OnnxName = onnxName;
        Shape = shape;
    }

    public string OnnxName { get; }
    public int[] Shape { get; }
    public ConstTensor? Const { get; init; }
    public string? Expr { get; set; }

    /// <summary>A run-time value of an ONNX integer type (an Int32/Int64 graph input, or computed from one by reshapes,
    /// Concat, Slice, Add...): the DSL tensor is Float32 holding integers, exact up to 2^24.</summary>
    public bool Integer { get; set; }
}

internal sealed partial class Converter
{
    private readonly OnnxModelProto _model;
    private readonly OnnxImportOptions _options;
    private readonly string? _directory;
    /// <summary>The values by name: the main graph's scope, then one per If branch being converted (innermost last);
    /// a branch reads the values of the scopes around it.</summary>
    private readonly List<Dictionary<string, Value>> _scopes = new() { new(StringComparer.Ordinal) };
    private readonly List<string> _statements = new();
    private readonly List<(string Member, string OnnxName, ConstTensor Data)> _weights = new();
    private readonly List<(string Param, int[] Shape, string OnnxName, OnnxDataType Type)> _inputs = new();
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly Names _names;
    private readonly string? _namespace;
    private readonly string _className;
    private int _opset;

    public Converter(OnnxModelProto model, OnnxImportOptions options, string? directory)
    {
        _model = model;
        _options = options;
        _directory = directory;
        int dot = options.ClassName.LastIndexOf('.');
        _namespace = dot < 0 ? null : options.ClassName.Substring(0, dot);
        _className = options.ClassName.Substring(dot + 1);
        if (!IsIdentifier(_className) || (_namespace is not null && !_namespace.Split('.').All(IsIdentifier)))
        {
            throw new ArgumentException($"'{options.ClassName}' is not a valid C# class name (Namespace.Name)", nameof(options));
        }

        _names = new Names(_className);
    }

    private static bool IsIdentifier(string s) =>
        s.Length > 0 && (char.IsLetter(s[0]) || s[0] == '_') && s.All(c => char.IsLetterOrDigit(c) || c == '_');

    public OnnxImportResult Run()
    {
        var graph = _model.Graph ?? throw new OnnxFormatException("ModelProto has no graph (field 7)");
        _opset = DefaultOpset();
        if (graph.SparseInitializers > 0) throw new OnnxUnsupportedException($"graph '{graph.Name}': sparse initializers are not supported");

        foreach (var t in graph.Initializers)
        {
            if (t.Name.Length == 0) throw new OnnxFormatException($"{t.Path}: initializer has no name");
            var data = TensorData.Decode(t, _directory, "initializer");
            Define(t.Name, new Value(t.Name, data.Shape) { Const = data }, t.Path);
        }

        foreach (var input in graph.Inputs)
        {
            if (_scopes[0].ContainsKey(input.Name)) continue; // an initializer listed as an input too (IR < 4)
            DeclareInput(input);
        }

        OnnxValueInfo output;
        var needed = new bool[graph.Nodes.Count];
        Array.Fill(needed, true);
        if (_options.Output is { } wanted)
        {
            output = graph.Outputs.FirstOrDefault(o => o.Name == wanted)
                     ?? throw new OnnxUnsupportedException($"graph '{graph.Name}' has no output '{wanted}' (outputs: {string.Join(", ", graph.Outputs.Select(o => $"'{o.Name}'"))})");
            needed = NodesNeededFor(graph, wanted);
        }
        else if (graph.Outputs.Count != 1)
        {
            throw new OnnxUnsupportedException($"graph '{graph.Name}' has {graph.Outputs.Count} outputs ({string.Join(", ", graph.Outputs.Select(o => $"'{o.Name}'"))}); " +
                                               "this importer computes one: choose it with --output name (MSBuild metadata GraphOutput, OnnxImportOptions.Output)");
        }
        else
        {
            output = graph.Outputs[0];
        }

        for (int n = 0; n < graph.Nodes.Count; n++)
        {
            if (!needed[n]) continue;
            foreach (var i in graph.Nodes[n].Inputs) _used.Add(i);
            foreach (var branch in graph.Nodes[n].Attributes.Where(at => at.G is not null)) _used.UnionWith(Reads(branch.G!)); // If branches read outer values
        }

        _used.Add(output.Name);
        FindBatchNormsAfterConv(graph);

        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            if (needed[i]) Convert(graph.Nodes[i], i);
        }

        var result = Lookup(output.Name, $"graph output '{output.Name}'");
        if (result.Expr is null && result.Const is not null)
        {
            throw new OnnxUnsupportedException($"graph output '{output.Name}' is a constant (it does not depend on any input)");
        }

        if (output.IsTensor && output.ElemType != OnnxDataType.Float)
        {
            throw new OnnxUnsupportedException($"graph output '{output.Name}' has element type {output.ElemType}; only Float is supported");
        }

        if (output.Shape is { } declared && declared.All(d => d.Value is > 0))
        {
            var expected = declared.Select(d => (int)d.Value!.Value).ToArray();
            if (!expected.SequenceEqual(result.Shape))
            {
                throw new OnnxFormatException($"graph output '{output.Name}' is declared {Format(expected)} but the graph computes {Format(result.Shape)}");
            }
        }

        string source = Emit(result);
        var weights = _weights.Select(w => new KeyValuePair<string, Tensor>(w.OnnxName, Tensor.FromArray(w.Data.Floats!, w.Data.Shape))).ToList();
        return new OnnxImportResult(source, _namespace, _className, weights, result.Shape);
    }

    /// <summary>The nodes <paramref name="output"/> depends on (a node with a subgraph attribute keeps everything:
    /// its branches may read any earlier value).</summary>
    private static bool[] NodesNeededFor(OnnxGraphProto graph, string output)
    {
        var needed = new bool[graph.Nodes.Count];
        if (graph.Nodes.Any(n => n.Attributes.Any(a => a.G is not null)))
        {
            Array.Fill(needed, true);
            return needed;
        }

        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            foreach (var o in graph.Nodes[i].Outputs)
            {
                if (o.Length > 0) producer.TryAdd(o, i);
            }
        }

        var pending = new Stack<string>();
        pending.Push(output);
        while (pending.Count > 0)
        {
            if (!producer.TryGetValue(pending.Pop(), out int n) || needed[n]) continue;
            needed[n] = true;
            foreach (var i in graph.Nodes[n].Inputs) pending.Push(i);
        }

        return needed;
    }

    private int DefaultOpset()
    {
        long? version = null;
        foreach (var (domain, v) in _model.OpsetImports)
        {
            if (domain is "" or "ai.onnx") version = v;
        }

        if (version is null) throw new OnnxUnsupportedException("the model imports no opset of the default ONNX domain (opset_import)");
        if (version < OnnxImporter.MinOpset || version > OnnxImporter.MaxOpset)
        {
            throw new OnnxUnsupportedException($"the model uses opset {version} of the default domain; supported: {OnnxImporter.MinOpset} to {OnnxImporter.MaxOpset}");
        }

        return (int)version;
    }

    private void DeclareInput(OnnxValueInfo input)
    {
        string what = $"graph input '{input.Name}'";
        if (!input.IsTensor) throw new OnnxUnsupportedException($"{what} is not a tensor");
        if (input.ElemType is not (OnnxDataType.Float or OnnxDataType.Int64 or OnnxDataType.Int32))
        {
            throw new OnnxUnsupportedException($"{what} has element type {input.ElemType}; only Float, Int64 and Int32 inputs are supported");
        }

        if (input.Shape is null) throw new OnnxUnsupportedException($"{what} has no shape; static shapes are required");
        var shape = new int[input.Shape.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            var (value, param) = input.Shape[i];
            if (value is > 0 and <= int.MaxValue)
            {
                shape[i] = (int)value.Value;
            }
            else if (param is not null && _options.Dimensions.TryGetValue(param, out int given))
            {
                if (given < 1) throw new ArgumentException($"dimension '{param}' must be positive, got {given}");
                shape[i] = given;
            }
            else if (param is not null)
            {
                throw new OnnxUnsupportedException($"{what}: dimension {i} is symbolic ('{param}'); give it a value (--dim {param}=N, or Dimensions)");
            }
            else
            {
                throw new OnnxUnsupportedException($"{what}: dimension {i} is {(value is null ? "unknown" : value.ToString())}; static positive sizes are required");
            }
        }

        string param0 = _names.Local(input.Name, "input");
        _inputs.Add((param0, shape, input.Name, input.ElemType));
        Define(input.Name, new Value(input.Name, shape) { Expr = param0, Integer = input.ElemType != OnnxDataType.Float }, what);
    }

    /// <summary>The most elements a value may have (the DSL's tensors are arrays).</summary>
    internal const long MaxElements = int.MaxValue;

    /// <summary>The most elements a constant folded here may have.</summary>
    internal const long MaxFoldedElements = 1 << 24;

    private void Define(string name, Value value, string where)
    {
        if (name.Length == 0) return;
        long count = 1;
        foreach (int d in value.Shape)
        {
            if (d < 0) throw new OnnxFormatException($"{where}: value '{name}' would have shape {Format(value.Shape)}");
            count *= d;
            if (count > MaxElements) throw new OnnxUnsupportedException($"{where}: value '{name}' would have shape {Format(value.Shape)}, more than {MaxElements} elements");
        }

        if (!_scopes[^1].TryAdd(name, value)) throw new OnnxFormatException($"{where}: value '{name}' is defined twice");
    }

    internal Value LookupFor(string name, NodeContext at) => Lookup(name, at.Describe);

    private Value Lookup(string name, string where) =>
        TryLookup(name, out var v)
            ? v
            : throw new OnnxFormatException($"{where}: value '{name}' is not a graph input, an initializer or the output of an earlier node");

    /// <summary>The value named <paramref name="name"/> in the innermost scope that defines it.</summary>
    private bool TryLookup(string name, out Value value)
    {
        for (int i = _scopes.Count - 1; i >= 0; i--)
        {
            if (_scopes[i].TryGetValue(name, out value!)) return true;
        }

        value = null!;
        return false;
    }

    /// <summary>Every name <paramref name="graph"/> reads: node inputs and graph outputs, and those of the subgraphs of
    /// its nodes (an If branch may read a value of the graph around it).</summary>
    internal static IEnumerable<string> Reads(OnnxGraphProto graph)
    {
        foreach (var node in graph.Nodes)
        {
            foreach (var i in node.Inputs) yield return i;
            foreach (var a in node.Attributes)
            {
                if (a.G is null) continue;
                foreach (var r in Reads(a.G)) yield return r;
            }
        }

        foreach (var o in graph.Outputs) yield return o.Name;
    }

    private void Convert(OnnxNodeProto node, int index, string? within = null)
    {
        string describe = within is null ? node.Describe(index) : $"{within}: {node.Describe(index)}";
        if (node.Domain is not ("" or "ai.onnx"))
        {
            throw new OnnxUnsupportedException($"{describe}: domain '{node.Domain}' is not supported (only the default ONNX domain)");
        }

        if (!Handlers.TryGetValue(node.OpType, out var handler))
        {
            throw new OnnxUnsupportedException($"{describe}: operator '{node.OpType}' is not supported (supported: {string.Join(", ", Handlers.Keys.OrderBy(k => k, StringComparer.Ordinal))})");
        }

        // Run-time integer values (integer graph inputs, as Float32 holding integers) may only flow through ops whose
        // float result is the integer result: everything else (Div, which truncates; Cast to a float that is then
        // compared...) is refused here rather than computed with float semantics.
        var integerInputs = node.Inputs.Where(n => n.Length > 0 && TryLookup(n, out var v) && v.Expr is not null && v.Integer).ToList();
        if (integerInputs.Count > 0 && !IntegerOps.Contains(node.OpType))
        {
            throw new OnnxUnsupportedException($"{describe}: the integer tensor '{integerInputs[0]}' (from an integer graph input, computed as Float32 holding integers) " +
                                               $"is an operand of {node.OpType}; only {string.Join(", ", IntegerOps.OrderBy(o => o, StringComparer.Ordinal))} take run-time integers");
        }

        var ctx = new NodeContext(this, node, describe);
        try
        {
            handler(ctx);
        }
        catch (ArithmeticException e)
        {
            // A size or attribute value that overflows (e.g. a corrupted dimension): the model is not usable as is.
            throw new OnnxFormatException($"{describe}: a size or attribute value is out of range ({e.Message})", e);
        }

        ctx.CheckAttributesUsed();
        for (int o = 0; o < node.Outputs.Count; o++)
        {
            string name = node.Outputs[o];
            if (name.Length > 0 && _scopes[^1].TryGetValue(name, out var produced) && produced.Expr is not null)
            {
                // Cast says its result type; Gather's is its data's; the others keep integers integers.
                produced.Integer = node.OpType switch
                {
                    "Cast" => produced.Integer,
                    "Gather" => integerInputs.Contains(node.Inputs[0]),
                    _ => integerInputs.Count > 0,
                };
            }

            if (name.Length > 0 && !_scopes[^1].ContainsKey(name) && _used.Contains(name))
            {
                throw new OnnxUnsupportedException($"{describe}: output {o} ('{name}') is not supported");
            }
        }
    }

    // ---- emission ------------------------------------------------------------------------------------------------

    /// <summary>A runtime operand: the value's expression; a float constant becomes a literal (one element, no effect
    /// on the broadcast shape) or a [Weight].</summary>
    internal string Operand(Value v, NodeContext at, int[]? otherShape = null)
    {
        if (v.Expr is not null) return v.Expr;
        var c = v.Const!;
        if (!c.IsFloat) throw at.Unsupported($"the Int64 tensor '{v.OnnxName}' {Format(v.Shape)} is used as a run-time operand; only shape arithmetic on integers is supported");
        if (c.Length == 1 && otherShape is not null && v.Shape.Length <= otherShape.Length && float.IsFinite(c.Floats![0]))
        {
            return Literal(c.Floats[0]);
        }

        string member = _names.Member(v.OnnxName, "Weight");
        _weights.Add((member, v.OnnxName, c));
        v.Expr = member + "!";
        return v.Expr;
    }

    private readonly Dictionary<string, Value> _masks = new(StringComparer.Ordinal);

    /// <summary>A constant boolean (Int64, all 0 or 1) as the Float32 mask a run-time op reads (one per value, so its
    /// weight is stored once); any other value as it is.</summary>
    internal Value AsMask(Value v)
    {
        if (v.Const is not { Ints: { } flags } || flags.Any(f => f is not (0 or 1))) return v;
        if (!_masks.TryGetValue(v.OnnxName, out var mask))
        {
            mask = new Value(v.OnnxName, v.Shape) { Const = new ConstTensor(v.Shape, flags.Select(f => f != 0 ? 1f : 0f).ToArray(), null) };
            _masks.Add(v.OnnxName, mask);
        }

        return mask;
    }

    internal static string Literal(float f)
    {
        if (!float.IsFinite(f)) throw new OnnxUnsupportedException($"the constant {f} is not finite");
        string s = f.ToString("R", CultureInfo.InvariantCulture);
        return s + "f";
    }

    internal void Statement(NodeContext at, string output, string expr, int[] shape, string? note = null)
    {
        string local = _names.Local(output, "t");
        string name = Printable(at.Node.Name);
        _statements.Add($"        var {local} = {expr}; // {at.Node.OpType} '{name}' -> {Format(shape)}{(note is null ? "" : " " + Printable(note))}");
        Define(output, new Value(output, shape) { Expr = local }, at.Describe);
    }

    /// <summary>An intermediate statement of a node that needs several (its local's name, from <paramref name="hint"/>).</summary>
    internal string Temporary(NodeContext at, string hint, string expr, int[] shape)
    {
        string local = _names.Local(hint, "t");
        _statements.Add($"        var {local} = {expr}; // {at.Node.OpType} '{Printable(at.Node.Name)}' (part) -> {Format(shape)}");
        return local;
    }

    internal static string Printable(string s) => new(s.Select(c => char.IsControl(c) ? ' ' : c).ToArray());

    internal bool IsUsed(string name) => name.Length > 0 && _used.Contains(name);

    internal void Alias(NodeContext at, string output, Value source, int[]? shape = null)
    {
        var value = new Value(output, shape ?? source.Shape) { Const = source.Const, Expr = source.Expr };
        if (shape is not null && source.Const is { } c) value = new Value(output, shape) { Const = new ConstTensor(shape, c.Floats, c.Ints) };
        Define(output, value, at.Describe);
    }

    internal void Constant(NodeContext at, string output, ConstTensor value) => Define(output, new Value(output, value.Shape) { Const = value }, at.Describe);

    internal int Opset => _opset;

    internal static string Format(IEnumerable<int> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>The ops that take run-time integer operands (see <see cref="Value.Integer"/>): moves, Gather, Cast, and
    /// the arithmetic that is exact on integers held in floats.</summary>
    internal static readonly HashSet<string> IntegerOps = new(StringComparer.Ordinal)
    {
        "Gather", "Cast", "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Slice", "Split",
        "Shape", "Add", "Sub", "Mul", "Neg", "Abs", "Max", "Min",
    };

    private string Emit(Value result)
    {
        var sb = new StringBuilder();
        string source = _options.SourceName ?? "an ONNX model";
        string producer = _model.ProducerName.Length == 0 ? "" : $", producer {_model.ProducerName} {_model.ProducerVersion}".TrimEnd();
        sb.AppendLine($"// Imported from {source} (IR {_model.IrVersion}, opset {_opset}{producer}) by the Aot ONNX importer (src/OnnxImport).");
        sb.AppendLine($"// The weights are in {_className}.safetensors, under their ONNX names: model.LoadWeights(\"{_className}.safetensors\").");
        sb.AppendLine("#nullable enable");
        sb.AppendLine("using Aot.Dsl;");
        sb.AppendLine("using static Aot.Dsl.Ops;");
        sb.AppendLine();
        if (_namespace is not null)
        {
            sb.AppendLine($"namespace {_namespace};");
            sb.AppendLine();
        }

        sb.AppendLine("[Model]");
        sb.AppendLine($"public partial class {_className}");
        sb.AppendLine("{");
        foreach (var (member, onnxName, data) in _weights)
        {
            string dims = string.Join(", ", data.Shape);
            string sep = dims.Length > 0 ? ", " : "";
            sb.AppendLine($"    [Weight({dims}{sep}Name = \"{Escape(onnxName)}\")] public Tensor? {member} {{ get; set; }}");
        }

        if (_weights.Count > 0) sb.AppendLine();
        string parameters = string.Join(", ", _inputs.Select(i => $"[Input({string.Join(", ", i.Shape)})] Tensor {i.Param}"));
        foreach (var i in _inputs.Where(i => i.Type != OnnxDataType.Float))
        {
            sb.AppendLine($"    // {i.Param}: ONNX {i.Type} input '{Escape(i.OnnxName)}', passed as a Float32 tensor holding integers (exact up to 2^24).");
        }

        sb.AppendLine($"    public Tensor Forward({parameters})");
        sb.AppendLine("    {");
        foreach (var s in _statements) sb.AppendLine(s);
        sb.AppendLine($"        return {result.Expr};");
        sb.AppendLine("    }");
        sb.AppendLine("}");
        return sb.ToString();
    }

    private static string Escape(string s)
    {
        var sb = new StringBuilder();
        foreach (char c in s)
        {
            if (c == '"' || c == '\\') sb.Append('\\').Append(c);
            else if (c < 32 || c > 126) sb.Append($"\\u{(int)c:X4}");
            else sb.Append(c);
        }

        return sb.ToString();
    }
}
