using System;
using System.Collections.Generic;
using Aot.Generator.Npu;

namespace Aot.Generator.Backends.Npu;

/// <summary>
/// Accumulates one NPU-1 program: the instruction stream in dispatch order, semaphores with their signal counts
/// (so a wait can name "the k-th signal of s" without the caller counting) and MARK names. Semaphores are
/// monotonic: <see cref="Signal"/> returns the value the semaphore reaches when that instruction's effects are
/// visible, which is exactly what a later wait needs.
/// </summary>
internal sealed class NpuProgramBuilder
{
    private readonly List<Instruction> _code = new();
    private readonly uint[] _signals = new uint[NpuTarget.Semaphores];
    private int _semaphoresUsed;

    public IReadOnlyList<Instruction> Code => _code;

    /// <summary>A fresh semaphore (initial value 0). Kernels allocate their own; 32 exist in all.</summary>
    public int Semaphore()
    {
        if (_semaphoresUsed == NpuTarget.Semaphores) throw new InvalidOperationException("the program needs more than 32 semaphores");
        return _semaphoresUsed++;
    }

    /// <summary>How many signals semaphore <paramref name="s"/> has received so far in program order.</summary>
    public uint Signals(int s) => _signals[s];

    /// <summary>Appends an instruction that signals <paramref name="s"/>; returns the count that signal makes.</summary>
    public uint Signal(Instruction i, int s)
    {
        Emit(i.WithSignal(s));
        return _signals[s];
    }

    private int _kernelStart = -1;
    private uint[] _kernelInitial = new uint[NpuTarget.Semaphores];

    /// <summary>Starts a kernel: the instructions up to <see cref="EndKernel"/> are scheduled together.</summary>
    public void BeginKernel()
    {
        _kernelStart = _code.Count;
        _kernelInitial = (uint[])_signals.Clone();
    }

    /// <summary>
    /// Orders the kernel's instructions for the dispatcher (<see cref="NpuScheduler"/>) and returns its predicted
    /// cycles. Its semaphores are free for the next kernel, which counts on from the values they reached.
    /// </summary>
    public long EndKernel()
    {
        _semaphoresUsed = 0;
        var kernel = _code.GetRange(_kernelStart, _code.Count - _kernelStart);
        long cycles = NpuScheduler.Schedule(kernel, _kernelInitial);
        _code.RemoveRange(_kernelStart, _code.Count - _kernelStart);
        _code.AddRange(kernel);
        _kernelStart = -1;
        return cycles;
    }

    public void Emit(Instruction i)
    {
        if (i.Signals) _signals[i.SignalSemaphore]++;
        _code.Add(i);
    }

    /// <summary>The STRINGS section: MARK names.</summary>
    public NpuStringTable Strings { get; } = new();

    public void Mark(string name, bool end) => Emit(Instruction.Mark(Strings.Add(name), end));
}
