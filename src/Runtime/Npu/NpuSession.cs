using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Aot.Npu;

namespace Aot.Runtime.Npu;

/// <summary>A kernel of a compiled NPU program and the cycles the compiler's cost model predicted for it.</summary>
public sealed record NpuKernelPrediction(string Name, string Description, long PredictedCycles);

/// <summary>The operand precision of the NPU program a compiled model runs.</summary>
public enum NpuPrecision
{
    /// <summary>fp16 operands, fp32 accumulation and epilogues.</summary>
    Float16,

    /// <summary>
    /// int8 x int8 -> int32 matmuls and convolutions: weights quantized per output channel (symmetric), activations
    /// that feed only matmuls per tensor (symmetric, scale = max |x| / 127 over the calibration samples); the rest fp16.
    /// </summary>
    Int8,
}

/// <summary>How a compiled model runs on the simulated NPU-1.</summary>
public sealed class NpuRunOptions
{
    /// <summary>The program to run: fp16 (default) or int8 (needs <see cref="Calibration"/>).</summary>
    public NpuPrecision Precision { get; init; }

    /// <summary>Representative inputs for int8: each sample is the model's inputs in Forward's order. The activation
    /// ranges are measured by running the fp16 program on them.</summary>
    public IReadOnlyList<Aot.Dsl.Tensor[]>? Calibration { get; init; }

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
    private readonly IReadOnlyDictionary<string, float> _scales;

    /// <param name="program">The NPU-1 binary (its CONST region bound at load time).</param>
    /// <param name="constants">The CONST region: the weights packed in the layout the compiler chose.</param>
    /// <param name="options">Race checking, trace recording, watchdog.</param>
    /// <param name="scales">Calibrated scales by activation name (int8 programs): int8 inputs are quantized with them.</param>
    public NpuSession(ReadOnlySpan<byte> program, byte[] constants, NpuRunOptions? options = null, IReadOnlyDictionary<string, float>? scales = null)
    {
        _scales = scales ?? new Dictionary<string, float>();
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
        float scale = symbol.DType == NpuDType.Int8
            ? _scales.TryGetValue(symbol.Name, out var s) ? s : throw new NpuRuntimeException($"int8 input '{symbol.Name}' has no calibrated scale")
            : 1f;
        for (int i = 0; i < values.Length; i++) Write(bytes, map(i), symbol.DType, values[i], scale);
        _simulator.SetInput(symbol.Name, bytes);
    }

    /// <summary>Symbol <paramref name="name"/> (any region, fp16 or fp32) as the last run left it, in storage order.</summary>
    public float[] ReadSymbol(string name)
    {
        var symbol = Program.Symbols.FirstOrDefault(s => s.Name == name) ?? throw new NpuRuntimeException($"the program has no symbol '{name}'");
        var bytes = _simulator.GetOutput(name);
        int size = symbol.DType == NpuDType.Float32 ? 4 : 2;
        var values = new float[bytes.Length / size];
        for (int i = 0; i < values.Length; i++) values[i] = Read(bytes, i, symbol.DType);
        return values;
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

    private static void Write(byte[] bytes, int element, NpuDType dtype, float value, float scale)
    {
        switch (dtype)
        {
            case NpuDType.Int8:
                bytes[element] = (byte)(sbyte)Math.Clamp(MathF.Round(value / scale, MidpointRounding.ToEven), -127f, 127f);
                break;
            case NpuDType.Float16:
                BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(element * 2), (Half)value);
                break;
            case NpuDType.Float32:
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(element * 4), value);
                break;
            default:
                throw new NpuRuntimeException($"inputs of type {dtype} are not supported");
        }
    }

    private static float Read(ReadOnlySpan<byte> bytes, int element, NpuDType dtype) => dtype switch
    {
        NpuDType.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes.Slice(element * 2)),
        NpuDType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(element * 4)),
        _ => throw new NpuRuntimeException($"reading {dtype} symbols is not supported"),
    };
}

/// <summary>
/// Measures activation ranges for the int8 program: runs the fp16 program on each calibration sample and keeps, per
/// activation, the largest magnitude seen (inputs from the samples, intermediates from the fp16 program's
/// "act:%id" symbols). Scales are symmetric: max |x| / 127.
/// </summary>
public static class NpuCalibration
{
    /// <param name="fp16">A session running the model's fp16 program.</param>
    /// <param name="inputNames">The model's inputs in Forward's order.</param>
    /// <param name="samples">Each sample is the model's inputs in Forward's order.</param>
    /// <param name="activations">The names whose scales the int8 program needs.</param>
    public static IReadOnlyDictionary<string, float> Calibrate(NpuSession fp16, IReadOnlyList<string> inputNames, IReadOnlyList<Aot.Dsl.Tensor[]> samples, IReadOnlyList<string> activations)
    {
        if (samples.Count == 0) throw new ArgumentException("int8 needs at least one calibration sample", nameof(samples));
        var max = activations.ToDictionary(a => a, _ => 0f);
        foreach (var sample in samples)
        {
            if (sample.Length != inputNames.Count) throw new ArgumentException($"a calibration sample has {sample.Length} inputs; the model takes {inputNames.Count}", nameof(samples));
            for (int i = 0; i < sample.Length; i++) fp16.WriteInput(i, sample[i].Floats);
            fp16.Run();
            foreach (var name in activations)
            {
                int input = IndexOf(inputNames, name);
                var values = input >= 0 ? sample[input].Floats.ToArray() : fp16.ReadSymbol(name);
                foreach (var v in values) max[name] = MathF.Max(max[name], MathF.Abs(v));
            }
        }

        return max.ToDictionary(p => p.Key, p => p.Value > 0 ? p.Value / 127f : 1f);
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (names[i] == name) return i;
        }

        return -1;
    }
}
