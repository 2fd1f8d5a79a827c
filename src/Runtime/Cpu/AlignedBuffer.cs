using System;

namespace Aot.Runtime.Cpu;

/// <summary>
/// Floats for a compiled model's weights and arena, whose first element lies half a page past a page boundary: on a
/// cache line (64 bytes, one Vector512), so with the memory plan's 16-float offsets every value starts on a line and
/// vector loads of packed weights never straddle two (measured: streaming 2.7 MB of weights 16 bytes off a line is 4%
/// slower on one core, 10% on two); and away from the page offset of the large arrays a caller passes in and out,
/// which .NET starts just past a page boundary. A small operand read next to a streamed one at the same offset within
/// a page (4K aliasing: the core takes the load for a read of the store it follows) runs much slower: the
/// elementwise chain with its [1024] operands at the page offset of x and y took 2.7-3.0 ms, half a page away
/// 1.36 ms. The array lives on the pinned object heap, so the placement survives garbage collections.
/// </summary>
public sealed class AlignedBuffer
{
    private const int PageBytes = 4096;
    private const int SkewBytes = PageBytes / 2;

    private readonly float[] _array;
    private readonly int _start;

    public unsafe AlignedBuffer(int length)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, "a buffer cannot have a negative length");
        _array = GC.AllocateArray<float>(length + PageBytes / sizeof(float), pinned: true);
        fixed (float* first = _array)
        {
            // A float array's elements are 4-byte aligned, so whole floats reach the skewed boundary.
            _start = (int)((PageBytes + SkewBytes - (nuint)first % PageBytes) % PageBytes) / sizeof(float);
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
