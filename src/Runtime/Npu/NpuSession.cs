using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Aot.Npu;

namespace Aot.Runtime.Npu;

/// <summary>A kernel of a compiled NPU program and the cycles the compiler's cost model predicted for it.</summary>
public sealed record NpuKernelPrediction(string Name, string Description, long PredictedCycles);

/// <summary>How a compiled model runs on the simulated NPU-1.</summary>
public sealed class NpuRunOptions
{
    /// <summary>Report unsynchronized overlapping accesses (slower).</summary>
    public bool CheckRaces { get; init; }

    /// <summary>Keep the per-instruction timeline for <see cref="NpuSession.WriteTrace"/> (on by default).</summary>
    public bool RecordTrace { get; init; } = true;

    /// <summary>Watchdog: a run longer than this many cycles stops with an exception naming the stuck queues.</summary>
    public long MaxCycles { get; init; } = 1L << 32;
}

/// <summary>
/// A compiled model's NPU-1 program bound to its weights (the CONST region, packed by the generated code in the
/// layout the compiler chose), validated by <see cref="NpuLoader"/> and run on an <see cref="NpuSimulator"/>. Inputs
/// and output are fp32 in the model's own (row-major, NCHW) layout; the session converts to and from the program's
/// DRAM formats (fp16, channels-last). Generated <c>NpuCompiled</c> classes wrap one of these.
/// </summary>
public sealed class NpuSession
{
    private readonly NpuSimulator _simulator;
    private readonly NpuSymbol[] _inputs;
    private readonly NpuSymbol _output;
    private readonly byte[][] _inputBytes;

    public NpuSession(ReadOnlySpan<byte> program, byte[] constants, NpuRunOptions? options = null)
    {
        options ??= new NpuRunOptions();
        Program = NpuLoader.Load(program, constants);
        _simulator = new NpuSimulator(Program, new NpuSimulatorOptions { CheckRaces = options.CheckRaces, RecordTrace = options.RecordTrace, MaxCycles = options.MaxCycles });
        _inputs = Program.Symbols.Where(s => s.Region == Region.Input).ToArray();
        _output = Program.Symbols.SingleOrDefault(s => s.Region == Region.Output)
            ?? throw new NpuRuntimeException("the program has no OUTPUT symbol");
        _inputBytes = _inputs.Select(s => new byte[s.ByteSize]).ToArray();
    }

    public NpuProgram Program { get; }

    /// <summary>The report of the last <see cref="Run"/>.</summary>
    public NpuReport? LastReport { get; private set; }

    /// <summary>Converts input <paramref name="index"/> (fp32, the model's layout) into the program's INPUT region.</summary>
    public void WriteInput(int index, ReadOnlySpan<float> values)
    {
        if ((uint)index >= (uint)_inputs.Length) throw new ArgumentOutOfRangeException(nameof(index), index, $"the program has {_inputs.Length} inputs");
        var symbol = _inputs[index];
        if (values.Length != Elements(symbol)) throw new ArgumentException($"input '{symbol.Name}' has {Elements(symbol)} elements, got {values.Length}", nameof(values));
        var bytes = _inputBytes[index];
        Array.Clear(bytes);
        var map = Layout(symbol);
        for (int i = 0; i < values.Length; i++) Write(bytes, map(i), symbol.DType, values[i]);
        _simulator.SetInput(symbol.Name, bytes);
    }

    /// <summary>Runs the program once (to HALT) and keeps its report.</summary>
    public NpuReport Run() => LastReport = _simulator.Run();

    /// <summary>The OUTPUT symbol as fp32 in the model's layout.</summary>
    public void ReadOutput(Span<float> output)
    {
        if (output.Length != Elements(_output)) throw new ArgumentException($"the output has {Elements(_output)} elements, got {output.Length}", nameof(output));
        var bytes = _simulator.Output.Slice(_output.Offset, _output.ByteSize);
        var map = Layout(_output);
        for (int i = 0; i < output.Length; i++) output[i] = Read(bytes, map(i), _output.DType);
    }

    /// <summary>The last run's timeline as Chrome trace JSON (open it in https://ui.perfetto.dev).</summary>
    public void WriteTrace(Stream stream) => (LastReport ?? throw new InvalidOperationException("run the model first")).WriteChromeTrace(stream);

    private static long Elements(NpuSymbol s)
    {
        long n = 1;
        foreach (var d in s.Shape) n *= d;
        return n;
    }

    /// <summary>Maps an element index in the model's row-major order to its element index in the program's storage.</summary>
    private static Func<int, int> Layout(NpuSymbol s)
    {
        if (s.Layout != NpuContainer.LayoutChannelsLast) return i => i;
        int c = s.Shape[1], h = s.Shape[2], w = s.Shape[3];
        int padded = (int)NpuContainer.PaddedChannels(c);
        return i =>
        {
            int x = i % w, y = i / w % h, ch = i / (w * h) % c;
            return (y * w + x) * padded + ch;
        };
    }

    private static void Write(byte[] bytes, int element, NpuDType dtype, float value)
    {
        switch (dtype)
        {
            case NpuDType.Float16:
                BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(element * 2), (Half)value);
                break;
            case NpuDType.Float32:
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(element * 4), value);
                break;
            default:
                throw new NpuRuntimeException($"inputs of type {dtype} are quantized by the caller");
        }
    }

    private static float Read(ReadOnlySpan<byte> bytes, int element, NpuDType dtype) => dtype switch
    {
        NpuDType.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.Slice(element * 2)),
        NpuDType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(element * 4)),
        _ => throw new NpuRuntimeException($"outputs of type {dtype} are dequantized by the caller"),
    };
}
