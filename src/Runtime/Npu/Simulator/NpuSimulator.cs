using System;
using Aot.Npu;

namespace Aot.Runtime.Npu;

/// <summary>Settings of a simulated run.</summary>
public sealed class NpuSimulatorOptions
{
    /// <summary>The watchdog: a run that has not finished by this cycle throws <see cref="NpuWatchdogException"/>.
    /// Default 2^32 (about 4.3 s of a 1 GHz NPU-1).</summary>
    public long MaxCycles { get; init; } = 1L << 32;

    /// <summary>Run the happens-before race checker (<see cref="NpuReport.Races"/>). Off by default: it keeps a vector
    /// clock per instruction and compares footprints of unsynchronized pairs.</summary>
    public bool CheckRaces { get; init; }

    /// <summary>Keep the timeline for <see cref="NpuReport.WriteChromeTrace"/> (on by default; cheap).</summary>
    public bool RecordTrace { get; init; } = true;
}

/// <summary>
/// Runs an <see cref="NpuProgram"/> on a model of the NPU-1 (docs/npu/isa.md): bit-exact functional results and the
/// cycle-level timing model (dispatcher, queues, DMA port, MXU pipeline, VPU, bank conflicts, semaphores), in a
/// discrete-event simulation fast enough for whole models.
/// <code>
/// var sim = new NpuSimulator(program);
/// sim.SetInput("x", xBytes);                 // or write sim.Input directly
/// NpuReport report = sim.Run();
/// byte[] y = sim.GetOutput("y");             // or read sim.Output
/// Console.Write(report.Format());
/// using (var f = File.Create("trace.json")) report.WriteChromeTrace(f);
/// </code>
/// Memory safety does not depend on the loader: every footprint is checked when the simulator is created, and any
/// problem (or a run that cannot finish) is an <see cref="NpuRuntimeException"/>.
/// </summary>
public sealed class NpuSimulator
{
    private readonly SimProgram _program;
    private readonly SimMachine _machine;

    /// <summary>Decodes and checks <paramref name="program"/>; throws <see cref="NpuRuntimeException"/> if any
    /// instruction could not run.</summary>
    public NpuSimulator(NpuProgram program, NpuSimulatorOptions? options = null)
    {
        _program = new SimProgram(program);
        _machine = new SimMachine(program);
        Options = options ?? new NpuSimulatorOptions();
    }

    public NpuProgram Program => _program.Program;

    public NpuSimulatorOptions Options { get; }

    /// <summary>The INPUT region. Fill it before <see cref="Run"/>; runs do not change it.</summary>
    public Span<byte> Input => _machine.Dram[(int)Region.Input];

    /// <summary>The OUTPUT region as the last run left it (cleared at the start of each run).</summary>
    public ReadOnlySpan<byte> Output => _machine.Dram[(int)Region.Output];

    /// <summary>The WORKSPACE region as the last run left it (cleared at the start of each run).</summary>
    public ReadOnlySpan<byte> Workspace => _machine.Dram[(int)Region.Workspace];

    /// <summary>The local address space after the last run: scratchpad (0x00000-0x7FFFF), then the accumulator
    /// (0x80000-0x9FFFF, row r lane l at 0x80000 + 128 r + 4 l).</summary>
    public ReadOnlySpan<byte> Local => _machine.Local;

    /// <summary>Copies <paramref name="bytes"/> into the INPUT symbol <paramref name="name"/>; its size must match.</summary>
    public void SetInput(string name, ReadOnlySpan<byte> bytes)
    {
        var symbol = Find(name);
        if (symbol.Region != Region.Input) throw new NpuRuntimeException($"symbol '{name}' is in {SimText.Region(symbol.Region)}, not INPUT");
        if (bytes.Length != symbol.ByteSize) throw new NpuRuntimeException($"input '{name}' is {bytes.Length} bytes; the program expects {symbol.ByteSize}");
        bytes.CopyTo(Input.Slice(symbol.Offset, symbol.ByteSize));
    }

    /// <summary>A copy of symbol <paramref name="name"/>'s bytes (any region) as the last run left them.</summary>
    public byte[] GetOutput(string name)
    {
        var symbol = Find(name);
        return _machine.Dram[(int)symbol.Region].AsSpan(symbol.Offset, symbol.ByteSize).ToArray();
    }

    private NpuSymbol Find(string name)
    {
        foreach (var s in _program.Program.Symbols ?? Array.Empty<NpuSymbol>())
        {
            if (s.Name == name)
            {
                long end = (long)s.Offset + s.ByteSize;
                if (s.Offset < 0 || s.ByteSize < 0 || (uint)s.Region > 3 || end > _machine.Dram[(int)s.Region].Length)
                    throw new NpuRuntimeException($"symbol '{name}' does not fit its region");
                return s;
            }
        }

        throw new NpuRuntimeException($"the program has no symbol '{name}'");
    }

    /// <summary>Clears scratchpad, accumulator, OUTPUT and WORKSPACE, runs the program to HALT, and reports.</summary>
    public NpuReport Run()
    {
        _machine.Reset();
        var race = Options.CheckRaces ? new SimRaceChecker(_program) : null;
        var engine = new SimEngine(_program, _machine, race, Options.MaxCycles, Options.RecordTrace);
        engine.Run();
        return new NpuReport(_program, engine, race, Options.RecordTrace);
    }
}
