using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace Aot.Onnx;

/// <summary>One node being converted: typed access to its inputs and attributes (each attribute a handler does not
/// read is an error afterwards, so nothing is silently ignored).</summary>
internal sealed class NodeContext
{
    private readonly Converter _converter;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public NodeContext(Converter converter, OnnxNodeProto node, string describe)
    {
        _converter = converter;
        Node = node;
        Describe = describe;
        foreach (var a in node.Attributes)
        {
            if (a.RefAttrName.Length > 0) throw Unsupported($"attribute '{a.Name}' refers to a function attribute ('{a.RefAttrName}')");
        }

        var duplicate = node.Attributes.GroupBy(a => a.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new OnnxFormatException($"{describe}: attribute '{duplicate.Key}' appears twice");
    }

    public OnnxNodeProto Node { get; }
    public string Describe { get; }
    public int Opset => _converter.Opset;

    public OnnxUnsupportedException Unsupported(string what) => new($"{Describe}: {what}");

    public OnnxFormatException Malformed(string what) => new($"{Describe}: {what}");

    public int InputCount => Node.Inputs.Count;

    /// <summary>Input <paramref name="i"/>, which must be present.</summary>
    public Value In(int i)
    {
        if (i >= Node.Inputs.Count || Node.Inputs[i].Length == 0) throw Malformed($"input {i} is missing");
        return _converter.LookupFor(Node.Inputs[i], this);
    }

    /// <summary>Optional input <paramref name="i"/> (absent or named "").</summary>
    public Value? OptionalIn(int i) => i < Node.Inputs.Count && Node.Inputs[i].Length > 0 ? _converter.LookupFor(Node.Inputs[i], this) : null;

    public void RequireInputs(int min, int max)
    {
        if (Node.Inputs.Count < min || Node.Inputs.Count > max)
        {
            throw Malformed(min == max ? $"has {Node.Inputs.Count} inputs, expected {min}" : $"has {Node.Inputs.Count} inputs, expected {min} to {max}");
        }
    }

    public string Output(int i = 0)
    {
        if (i >= Node.Outputs.Count || Node.Outputs[i].Length == 0) throw Malformed($"output {i} is missing");
        return Node.Outputs[i];
    }

    /// <summary>The operand expression of a value (constants become literals or weights).</summary>
    public string Operand(Value v, int[]? otherShape = null) => _converter.Operand(v, this, otherShape);

    /// <summary>The operand expression of a boolean (or float) value: a constant boolean becomes a 0/1 float mask.</summary>
    public string MaskOperand(Value v, int[]? otherShape = null) => _converter.Operand(_converter.AsMask(v), this, otherShape);

    public void Emit(string expr, int[] shape, string? note = null) => _converter.Statement(this, Output(), expr, shape, note);

    /// <summary>A statement for output <paramref name="i"/> (ops with several outputs).</summary>
    public void EmitOutput(int i, string expr, int[] shape) => _converter.Statement(this, Output(i), expr, shape);

    public void ConstantOutput(int i, ConstTensor value) => _converter.Constant(this, Output(i), value);

    public void AliasOutput(int i, Value source) => _converter.Alias(this, Output(i), source);

    /// <summary>Whether output <paramref name="i"/> is named and read by a later node or the graph.</summary>
    public bool OutputUsed(int i) => i < Node.Outputs.Count && _converter.IsUsed(Node.Outputs[i]);

    public Converter Converter => _converter;

    public void Alias(Value source, int[]? shape = null) => _converter.Alias(this, Output(), source, shape);

    public void Constant(ConstTensor value) => _converter.Constant(this, Output(), value);

    /// <summary>An integer constant input (a shape, axes, indices): its values.</summary>
    public long[] ConstInts(Value v, string role)
    {
        if (v.Const is { Ints: { } ints }) return ints;
        if (v.Const is not null) throw Unsupported($"{role} '{v.OnnxName}' is a float tensor; integers expected");
        throw Unsupported($"{role} '{v.OnnxName}' is computed at run time; it must be a constant (static shapes only)");
    }

    // ---- attributes -----------------------------------------------------------------------------------------------

    private OnnxAttributeProto? Attr(string name, OnnxAttributeType type)
    {
        _read.Add(name);
        var a = Node.Attributes.FirstOrDefault(x => x.Name == name);
        if (a is null) return null;
        if (a.Type != type && !(a.Type == OnnxAttributeType.Undefined && type != OnnxAttributeType.Undefined))
        {
            throw Malformed($"attribute '{name}' has type {a.Type}, expected {type}");
        }

        return a;
    }

    public bool Has(string name) => Node.Attributes.Any(a => a.Name == name);

    public long Int(string name, long fallback) => Attr(name, OnnxAttributeType.Int)?.I ?? fallback;

    public float Float(string name, float fallback) => Attr(name, OnnxAttributeType.Float)?.F ?? fallback;

    public long[]? Ints(string name) => Attr(name, OnnxAttributeType.Ints)?.Ints.ToArray();

    public float[]? Floats(string name) => Attr(name, OnnxAttributeType.Floats)?.Floats.ToArray();

    public string? String(string name)
    {
        var a = Attr(name, OnnxAttributeType.String);
        return a is null ? null : Utf8(name, a.S);
    }

    public string[]? Strings(string name) => Attr(name, OnnxAttributeType.Strings)?.Strings.Select(s => Utf8(name, s)).ToArray();

    private string Utf8(string name, byte[] bytes)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new OnnxFormatException($"{Describe}: attribute '{name}' is not valid UTF-8", e);
        }
    }

    public OnnxTensorProto? Tensor(string name) => Attr(name, OnnxAttributeType.Tensor)?.T;

    public OnnxGraphProto? Graph(string name) => Attr(name, OnnxAttributeType.Graph)?.G;

    /// <summary>Marks attributes whose value does not matter for inference (e.g. Dropout's seed).</summary>
    public void Ignore(params string[] names)
    {
        foreach (var n in names) _read.Add(n);
    }

    public void CheckAttributesUsed()
    {
        foreach (var a in Node.Attributes)
        {
            if (!_read.Contains(a.Name)) throw Unsupported($"attribute '{a.Name}' is not supported");
        }
    }
}
