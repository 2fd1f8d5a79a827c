using System;
using System.Buffers.Binary;
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
        PackGemmPanelsFp16(ConvAsGemm(w, k, c, r, s), r * s * Blocks(c) * Block, k, transposed: false, destination);
    }

    /// <summary>w [k, c, r, s] as the implicit GEMM's B [(r, s, c'), k] with c' = c padded to 32 (zeros).</summary>
    private static float[] ConvAsGemm(ReadOnlySpan<float> w, int k, int c, int r, int s)
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

        return b;
    }

    /// <summary>
    /// B [k, n] (or [n, k] when <paramref name="transposed"/>) as int8 panels in the layout of
    /// <see cref="PackGemmPanelsFp16"/>, each column quantized symmetrically: q = round(v / scale), scale = max |column| / 127.
    /// Returns the n column scales (a dequantization vector combines them with the activation's scale).
    /// </summary>
    public static float[] PackGemmPanelsInt8(ReadOnlySpan<float> b, int k, int n, bool transposed, Span<byte> destination)
    {
        if (b.Length != (long)k * n) throw new ArgumentException($"B has {b.Length} elements, expected {k} x {n}", nameof(b));
        int kPadded = Blocks(k) * Block;
        if (destination.Length != Blocks(n) * kPadded * Block) throw new ArgumentException($"destination has {destination.Length} bytes, expected {Blocks(n) * kPadded * Block}", nameof(destination));
        destination.Clear();
        var scales = new float[n];
        for (int col = 0; col < n; col++)
        {
            float max = 0;
            for (int kk = 0; kk < k; kk++) max = MathF.Max(max, MathF.Abs(transposed ? b[col * k + kk] : b[kk * n + col]));
            scales[col] = max > 0 ? max / 127f : 1f;
            for (int kk = 0; kk < k; kk++)
            {
                float v = transposed ? b[col * k + kk] : b[kk * n + col];
                destination[((col / Block) * kPadded + kk) * Block + col % Block] = (byte)(sbyte)Math.Clamp(MathF.Round(v / scales[col], MidpointRounding.ToEven), -127f, 127f);
            }
        }

        return scales;
    }

    /// <summary>Convolution weights [k, c, r, s] as int8 implicit-GEMM panels (see <see cref="PackConvPanelsFp16"/>), one scale per output channel.</summary>
    public static float[] PackConvPanelsInt8(ReadOnlySpan<float> w, int k, int c, int r, int s, Span<byte> destination) =>
        PackGemmPanelsInt8(ConvAsGemm(w, k, c, r, s), r * s * Blocks(c) * Block, k, transposed: false, destination);

    /// <summary>activationScale x weightScales[j] as fp32, padded to whole 32-lane vectors: turns int32 sums back into values.</summary>
    public static void WriteDequantize(ReadOnlySpan<float> weightScales, float activationScale, Span<byte> destination)
    {
        Span<float> v = weightScales.Length <= 4096 ? stackalloc float[weightScales.Length] : new float[weightScales.Length];
        for (int i = 0; i < v.Length; i++) v[i] = weightScales[i] * activationScale;
        PackFloat32Vector(v, 1f, destination);
    }

    /// <summary>n copies of <paramref name="value"/> as fp32, padded to whole 32-lane vectors.</summary>
    public static void WriteFill(float value, int n, Span<byte> destination)
    {
        if (destination.Length != Float32VectorBytes(n)) throw new ArgumentException($"destination has {destination.Length} bytes, expected {Float32VectorBytes(n)}", nameof(destination));
        destination.Clear();
        for (int i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(destination.Slice(i * 4, 4), value);
    }

    /// <summary>Bytes of a vector of n floats padded to whole 32-lane vectors.</summary>
    public static int Float32VectorBytes(int n) => Blocks(n) * Block * 4;

    /// <summary>v * scale as fp32, zero padded to whole 32-lane vectors.</summary>
    public static void PackFloat32Vector(ReadOnlySpan<float> v, float scale, Span<byte> destination)
    {
        if (destination.Length != Float32VectorBytes(v.Length)) throw new ArgumentException($"destination has {destination.Length} bytes, expected {Float32VectorBytes(v.Length)}", nameof(destination));
        destination.Clear();
        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(destination.Slice(i * 4, 4), v[i] * scale);
    }

    private static void WriteHalf(Span<byte> at, Half h)
    {
        ushort bits = BitConverter.HalfToUInt16Bits(h);
        at[0] = (byte)bits;
        at[1] = (byte)(bits >> 8);
    }

    private static int Blocks(int n) => (n + Block - 1) / Block;
}
