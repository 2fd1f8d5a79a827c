using System;

namespace Aot.Runtime.Npu;

/// <summary>NPU-1 assembly text that does not parse: the message names the line and column (both 1-based).</summary>
public sealed class NpuAssemblyException : Exception
{
    public NpuAssemblyException(int line, int column, string problem)
        : base($"line {line}, column {column}: {problem}")
    {
        Line = line;
        Column = column;
        Problem = problem;
    }

    public int Line { get; }
    public int Column { get; }
    public string Problem { get; }
}
