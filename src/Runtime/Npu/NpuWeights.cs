using System;
using Aot.Npu;

namespace Aot.Runtime.Npu;

/// <summary>
/// Packs weights into the CONST layouts the NPU backend chose at build time (the generated loader calls these with
/// the weights read from the weights file; only the layout is fixed at build time). The layouts match the order the
/// kernels stream them: see docs/npu/isa.md and the generator's NpuLowering.
/// </summary>
public static class NpuWeights
{
    private const int Block = NpuTarget.ArraySize;

    /// <summary>Bytes of B [k, n] packed as fp16 32-column panels.</summary>
    public static int GemmPanelsBytes(int k, int n) => Blocks(n) * Blocks(k) * Block * Block * 2;

    /// <summary>
    /// B [k, n] row-major (or [n, k] when <paramref name="transposed"/>) into fp16 panels
    /// [ceil(n/32)][ceil(k/32)*32][32]: panel p holds columns 32p..32p+31, one 64-byte row per k, zero padded.
    /// </summary>
    public static void PackGemmPanelsFp16(ReadOnlySpan<float> b, int k, int n, bool transposed, Span<byte> destination)
    {
        if (b.Length != (long)k * n) throw new ArgumentException($"B has {b.Length} elements, expected {k} x {n}", nameof(b));
        int kPadded = Blocks(k) * Block;
        if (destination.Length != GemmPanelsBytes(k, n)) throw new ArgumentException($"destination has {destination.Length} bytes, expected {GemmPanelsBytes(k, n)}", nameof(destination));
        destination.Clear();
        for (int p = 0; p < Blocks(n); p++)
        {
            for (int kk = 0; kk < k; kk++)
            {
                var row = destination.Slice((p * kPadded + kk) * Block * 2, Block * 2);
                for (int c = 0; c < Block && p * Block + c < n; c++)
                {
                    int col = p * Block + c;
                    float v = transposed ? b[col * k + kk] : b[kk * n + col];
                    WriteHalf(row.Slice(c * 2), (Half)v);
                }
            }
        }
    }

    /// <summary>
    /// Convolution weights w [k, c, r, s] as the panels of the implicit GEMM's B [(r, s, c'), k] with c' the channels
    /// padded to a multiple of 32 (the NPU convolution reads channels-last activations in 32-channel blocks).
    /// </summary>
    public static void PackConvPanelsFp16(ReadOnlySpan<float> w, int k, int c, int r, int s, Span<byte> destination)
    {
        if (w.Length != (long)k * c * r * s) throw new ArgumentException($"w has {w.Length} elements, expected {k} x {c} x {r} x {s}", nameof(w));
        int cPadded = Blocks(c) * Block;
        var b = new float[r * s * cPadded * k];
        for (int o = 0; o < k; o++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                for (int y = 0; y < r; y++)
                {
                    for (int x = 0; x < s; x++) b[((y * s + x) * cPadded + ch) * k + o] = w[((o * c + ch) * r + y) * s + x];
                }
            }
        }

        PackGemmPanelsFp16(b, r * s * cPadded, k, transposed: false, destination);
    }

    /// <summary>Bytes of a vector of n floats padded to whole 32-lane vectors.</summary>
    public static int Float32VectorBytes(int n) => Blocks(n) * Block * 4;

    /// <summary>v * scale as fp32, zero padded to whole 32-lane vectors.</summary>
    public static void PackFloat32Vector(ReadOnlySpan<float> v, float scale, Span<byte> destination)
    {
        if (destination.Length != Float32VectorBytes(v.Length)) throw new ArgumentException($"destination has {destination.Length} bytes, expected {Float32VectorBytes(v.Length)}", nameof(destination));
        destination.Clear();
        for (int i = 0; i < v.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(destination.Slice(i * 4, 4), v[i] * scale);
    }

    private static void WriteHalf(Span<byte> at, Half h)
    {
        ushort bits = BitConverter.HalfToUInt16Bits(h);
        at[0] = (byte)bits;
        at[1] = (byte)(bits >> 8);
    }

    private static int Blocks(int n) => (n + Block - 1) / Block;
}
