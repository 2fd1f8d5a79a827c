using System;
using System.Globalization;

namespace Aot.Runtime.Npu;

/// <summary>
/// An NPU-1 binary failed one of the loader's checks (docs/npu/isa.md, "What the loader checks"). The loader throws
/// nothing else for any input. The message names the section, the byte offset in the file and, for code, the
/// instruction index, then what is wrong with the concrete values.
/// </summary>
public sealed class NpuBinaryException : Exception
{
    public NpuBinaryException(string? section, long byteOffset, int? instructionIndex, string problem, Exception? innerException = null)
        : base(Format(section, byteOffset, instructionIndex, problem), innerException)
    {
        Section = section;
        ByteOffset = byteOffset;
        InstructionIndex = instructionIndex;
        Problem = problem;
    }

    /// <summary>The section the problem is in (TARGET, CODE, ..., or "kind N" for an unknown one); null for the
    /// header and the section table.</summary>
    public string? Section { get; }

    /// <summary>Offset in the file of the first byte of the offending field.</summary>
    public long ByteOffset { get; }

    /// <summary>Index of the offending instruction in CODE, when the problem is an instruction.</summary>
    public int? InstructionIndex { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }

    private static string Format(string? section, long byteOffset, int? instructionIndex, string problem)
    {
        string where = section is null ? "" : ", section " + section;
        string at = byteOffset.ToString(CultureInfo.InvariantCulture) + " (0x" + byteOffset.ToString("x", CultureInfo.InvariantCulture) + ")";
        string index = instructionIndex is int i ? ", instruction " + i.ToString(CultureInfo.InvariantCulture) : "";
        return $"NPU binary{where}, byte {at}{index}: {problem}";
    }
}
