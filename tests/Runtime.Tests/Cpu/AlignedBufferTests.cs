using Aot.Runtime.Cpu;

namespace Runtime.Tests.Cpu;

public class AlignedBufferTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    public void ElementZeroIsHalfAPagePastAPageBoundaryAndSlicesStayInside(int length)
    {
        for (int i = 0; i < 20; i++)
        {
            var buffer = new AlignedBuffer(length);
            ref float first = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(buffer.Slice(0, length));
            Assert.Equal(2048, (long)System.Runtime.CompilerServices.Unsafe.ByteOffset(ref System.Runtime.CompilerServices.Unsafe.NullRef<float>(), ref first) % 4096);

            Assert.Equal(length, buffer.Length);
            Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Slice(0, length + 1));
            Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Slice(length + 1, 0));
            Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Slice(-1, 1));
        }
    }

    [Fact]
    public void SlicesShareTheBuffer()
    {
        var buffer = new AlignedBuffer(64);
        buffer.Slice(16, 16).Fill(3f);
        Assert.All(buffer.Slice(16, 16).ToArray(), v => Assert.Equal(3f, v));
        Assert.All(buffer.Slice(0, 16).ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(3f, buffer.Slice(31, 1)[0]);
    }
}
