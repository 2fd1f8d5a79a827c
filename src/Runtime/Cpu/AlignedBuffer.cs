using System;

namespace Aot.Runtime.Cpu;

/// <summary>
/// Floats whose first element is 64-byte aligned (one cache line, one Vector512): a compiled model's weights and
/// arena. The memory plan aligns every value's offset to 16 floats, so each value then starts on a cache line too and
/// the kernels' vector loads of packed weights never straddle two lines (measured here: streaming 2.7 MB of weights
/// with Vector512 loads 16 bytes off a line is 4% slower on one core, 10% on two). The array lives on the pinned object
/// heap, so the alignment survives garbage collections.
/// </summary>
public sealed class AlignedBuffer
{
    private const int Alignment = 64;

    private readonly float[] _array;
    private readonly int _start;

    public unsafe AlignedBuffer(int length)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, "a buffer cannot have a negative length");
        _array = GC.AllocateArray<float>(length + Alignment / sizeof(float) - 1, pinned: true);
        fixed (float* first = _array)
        {
            // A float array's elements are 4-byte aligned, so whole floats reach the next line boundary.
            _start = (int)((Alignment - (nuint)first % Alignment) % Alignment) / sizeof(float);
        }

        Length = length;
    }

    public int Length { get; }

    /// <summary>Floats [start, start + length) of the buffer.</summary>
    public Span<float> Slice(int start, int length)
    {
        if ((uint)start > (uint)Length || (uint)length > (uint)(Length - start)) throw new ArgumentOutOfRangeException(nameof(start), $"[{start}, {start}+{length}) is outside the buffer of {Length} floats");
        return new Span<float>(_array, _start + start, length);
    }
}
