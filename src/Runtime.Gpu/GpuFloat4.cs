using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Aot.Runtime.Gpu;

/// <summary>
/// Four consecutive floats, the unit of the vectorized kernels: a generated kernel reads and writes a float tensor as
/// <c>view.Cast&lt;GpuFloat4&gt;()</c> (declared 16-byte aligned with <c>AsAligned(16)</c>), which ILGPU's PTX backend
/// turns into one 128-bit access (<c>ld.global.v4.f32</c> / <c>st.global.v4.f32</c>) instead of four 32-bit ones.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
public struct GpuFloat4
{
    public float X;
    public float Y;
    public float Z;
    public float W;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public GpuFloat4(float x, float y, float z, float w)
    {
        X = x;
        Y = y;
        Z = z;
        W = w;
    }
}
