using System;
using System.Globalization;

namespace Aot.Runtime.Npu;

/// <summary>
/// The simulator could not run a program: an instruction the machine cannot execute (an operand outside its memory,
/// an unknown opcode, a matmul with no weights, ...), inputs of the wrong size, or (as
/// <see cref="NpuWatchdogException"/>) a run that did not finish. The simulator never reads or writes outside its
/// memories; whatever a program does, the worst outcome is this exception.
/// </summary>
public class NpuRuntimeException : Exception
{
    public NpuRuntimeException(string message, int? instructionIndex = null, long? cycle = null)
        : base(Format(message, instructionIndex, cycle))
    {
        InstructionIndex = instructionIndex;
        Cycle = cycle;
    }

    /// <summary>The instruction at fault, when there is one.</summary>
    public int? InstructionIndex { get; }

    /// <summary>The simulated cycle at which the problem was found, when the run had started.</summary>
    public long? Cycle { get; }

    private static string Format(string message, int? instructionIndex, long? cycle)
    {
        string at = instructionIndex is int i ? "instruction " + i.ToString(CultureInfo.InvariantCulture) + ": " : "";
        string when = cycle is long c ? " (cycle " + c.ToString(CultureInfo.InvariantCulture) + ")" : "";
        return "NPU simulator: " + at + message + when;
    }
}

/// <summary>
/// The run passed <see cref="NpuSimulatorOptions.MaxCycles"/>, or nothing could make progress any more (a deadlock:
/// a wait no signal will ever satisfy). The message names the cycle and every non-empty queue's head with what it
/// is waiting for; <see cref="StuckHeads"/> holds the same lines.
/// </summary>
public sealed class NpuWatchdogException : NpuRuntimeException
{
    public NpuWatchdogException(string message, long cycle, string[] stuckHeads)
        : base(message + (stuckHeads.Length == 0 ? "" : "; stuck: " + string.Join("; ", stuckHeads)), null, cycle)
    {
        StuckHeads = stuckHeads;
    }

    /// <summary>One line per stuck queue head (and the dispatcher), e.g. <c>MXU: #12 MXU_MM ... waits s3 &gt;= 5 (s3 = 4)</c>.</summary>
    public string[] StuckHeads { get; }
}
