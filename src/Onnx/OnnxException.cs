using System;

namespace Aot.Onnx;

/// <summary>Anything the importer refuses: a malformed file (<see cref="OnnxFormatException"/>) or a model it does not
/// support yet (<see cref="OnnxUnsupportedException"/>). The message always says where (field and byte offset, or node,
/// op and value).</summary>
public abstract class OnnxException : Exception
{
    protected OnnxException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>The file is not a well-formed ONNX model: a truncated or invalid protobuf field, a tensor whose data does
/// not match its shape, an external-data reference outside the model's folder, ...</summary>
public sealed class OnnxFormatException : OnnxException
{
    public OnnxFormatException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>A well-formed model that uses something this importer does not support (an operator, an attribute value, an
/// opset, a data type, a symbolic dimension). The message names the node, the op and the value.</summary>
public sealed class OnnxUnsupportedException : OnnxException
{
    public OnnxUnsupportedException(string message)
        : base(message)
    {
    }
}
