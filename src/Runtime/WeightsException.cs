using System;

namespace Aot.Runtime;

/// <summary>
/// A weights file is malformed, or does not match what the model declares (a missing tensor, a different
/// dtype or shape). The message always names the file, the tensor when there is one, and the concrete values.
/// </summary>
public sealed class WeightsException : Exception
{
    public WeightsException(string message)
        : base(message)
    {
    }

    public WeightsException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>
    /// Builds the standard message: <c>weights file '{sourceName}': tensor '{tensorName}' {problem}</c>, or
    /// <c>weights file '{sourceName}': {problem}</c> when no tensor is involved.
    /// </summary>
    public WeightsException(string sourceName, string? tensorName, string problem, Exception? innerException = null)
        : base(Format(sourceName, tensorName, problem), innerException)
    {
        SourceName = sourceName;
        TensorName = tensorName;
    }

    /// <summary>The file (or the name given to an in-memory buffer), when known.</summary>
    public string? SourceName { get; }

    /// <summary>The tensor the problem is about, when there is one.</summary>
    public string? TensorName { get; }

    private static string Format(string sourceName, string? tensorName, string problem) => tensorName is null
        ? $"weights file '{sourceName}': {problem}"
        : $"weights file '{sourceName}': tensor '{Quote(tensorName)}' {problem}";

    /// <summary>Tensor names come from untrusted files: keep control characters and huge names out of messages.</summary>
    internal static string Quote(string text)
    {
        const int MaxLength = 200;
        var sb = new System.Text.StringBuilder(Math.Min(text.Length, MaxLength) + 8);
        foreach (char c in text)
        {
            if (sb.Length >= MaxLength)
            {
                sb.Append("...");
                break;
            }

            if (char.IsControl(c) || char.IsSurrogate(c)) sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            else sb.Append(c);
        }

        return sb.ToString();
    }
}
