using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Aot.Runtime;

// The Vector512 forms that generated elementwise loops call under Vector512.IsHardwareAccelerated, plus their
// memory helpers (partial blocks for short rows, non-temporal stores, prefetch, alignment). Exp and Sigmoid, the hot ones, are written for AVX-512 (vscalefps
// builds 2^n and handles the range, vrcp14ps plus one Newton step replaces the division); the others apply the
// Vector<float> form to each half (or to the whole vector where Vector<float> is 512 bits), so their algorithm and
// error bound exist once.
public static partial class KernelMath
{
    /// <summary>Lane-wise max(x, 0) with the semantics of <c>MathF.Max(x, 0f)</c> (NaN stays NaN, -0 gives +0), as
    /// <see cref="Relu(Vector{float})"/>: vmaxps(0, x) returns x when it is NaN, and adding +0 turns -0 into +0
    /// (vrangeps would be one instruction, but it returns 0 for a NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Relu(Vector512<float> x) =>
        Avx512F.IsSupported ? Avx512F.Add(Avx512F.Max(Vector512<float>.Zero, x), Vector512<float>.Zero) : Halves<ReluOf>(x, x);

    /// <summary>
    /// Lane-wise e^x: n = round(x log2 e), Cody-Waite reduction r = x - n ln2 (ln2 in two parts), the
    /// degree-6 polynomial of <see cref="Exp(Vector{float})"/>, and 2^n applied by vscalefps, which also gives
    /// +infinity above the range. x is clamped to [-87.3, 89] first, so below the range the result is about 1.2e-38
    /// (the smallest normal floats; never a denormal, whose arithmetic is slow downstream). Relative error below 2e-7
    /// in the range; NaN stays NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x) =>
        Avx512F.IsSupported ? ExpAvx512(Avx512F.Min(Vector512.Create(89f), Avx512F.Max(Vector512.Create(-87.3f), x))) : Halves<ExpOf>(x, x);

    /// <summary>Lane-wise 1 / (1 + e^-x), absolute error below 1e-7. e^-x as in <see cref="Exp(Vector512{float})"/> with x
    /// clamped to [-87, 87.3] (so 1 + e^-x is finite and its reciprocal a normal float) and without negating x: with
    /// s = x + n ln2, e^-x = 2^n e^-s, whose polynomial is e^r's with the odd coefficients negated. The reciprocal is
    /// vrcp14ps refined by one Newton step (relative error about 2^-28 before rounding).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x)
    {
        if (!Avx512F.IsSupported) return Halves<SigmoidOf>(x, x);
        x = Avx512F.Min(Vector512.Create(87.33655f), Avx512F.Max(Vector512.Create(-87f), x)); // NaN passes through
        var n = Avx512F.RoundScale(Avx512F.Multiply(x, Vector512.Create(-Log2E)), 0); // -x = n ln2 + r, r = -s
        var s = Avx512F.FusedMultiplyAdd(n, Vector512.Create(Ln2High), x);
        s = Avx512F.FusedMultiplyAdd(n, Vector512.Create(Ln2Low), s);
        var p = Avx512F.FusedMultiplyAdd(Vector512.Create(ExpC6), s, Vector512.Create(-ExpC5));
        p = Avx512F.FusedMultiplyAdd(p, s, Vector512.Create(ExpC4));
        p = Avx512F.FusedMultiplyAdd(p, s, Vector512.Create(-ExpC3));
        p = Avx512F.FusedMultiplyAdd(p, s, Vector512.Create(0.5f));
        p = Avx512F.FusedMultiplyAdd(p, s, Vector512.Create(-1f));
        p = Avx512F.FusedMultiplyAdd(p, s, Vector512.Create(1f));
        var d = Avx512F.Add(Vector512.Create(1f), Avx512F.Scale(p, n));
        var q = Avx512F.Reciprocal14(d);
        return Avx512F.FusedMultiplyAdd(Avx512F.FusedMultiplyAddNegated(d, q, Vector512.Create(1f)), q, q);
    }

    /// <summary>a * b + c, fused where the hardware has it (one rounding), else multiplied and added.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) =>
        Avx512F.IsSupported ? Avx512F.FusedMultiplyAdd(a, b, c) : a * b + c;

    /// <summary>e^x for x already clamped to [-87.3, 89] (NaN passes through every step).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpAvx512(Vector512<float> x)
    {
        var n = Avx512F.RoundScale(Avx512F.Multiply(x, Vector512.Create(Log2E)), 0); // round to nearest
        var r = Avx512F.FusedMultiplyAddNegated(n, Vector512.Create(Ln2High), x);
        r = Avx512F.FusedMultiplyAddNegated(n, Vector512.Create(Ln2Low), r);
        var p = Avx512F.FusedMultiplyAdd(Vector512.Create(ExpC6), r, Vector512.Create(ExpC5));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(ExpC4));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(ExpC3));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1f));
        return Avx512F.Scale(p, n);
    }

    /// <summary>Lane-wise tanh, as <see cref="Tanh(Vector{float})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x) => Halves<TanhOf>(x, x);

    /// <summary>Lane-wise erf, as <see cref="Erf(Vector{float})"/> (the same series, Abramowitz and Stegun tail and error
    /// bound). On AVX-512 the form of <see cref="Erf256"/> a whole vector at a time: t's division is vrcp14ps plus a
    /// Newton step, e^-x^2 is <see cref="ExpAvx512"/> of -min(x^2, 80), the sign is copied with a mask, NaN passes
    /// through the series' blend and the tail's arithmetic.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Erf(Vector512<float> x)
    {
        if (!Avx512F.IsSupported) return Halves<ErfOf>(x, x);
        var sign = Vector512.Create(-0f);
        var z = Vector512.AndNot(x, sign);
        var x2 = Avx512F.Multiply(x, x);
        var series = Avx512F.FusedMultiplyAdd(Vector512.Create(ErfS10), x2, Vector512.Create(ErfS9));
        series = Avx512F.FusedMultiplyAdd(series, x2, Vector512.Create(ErfS8));
        series = Avx512F.FusedMultiplyAdd(series, x2, Vector512.Create(ErfS7));
        series = Avx512F.FusedMultiplyAdd(series, x2, Vector512.Create(ErfS6));
        series = Avx512F.FusedMultiplyAdd(series, x2, Vector512.Create(ErfS5));
        series = Avx512F.FusedMultiplyAdd(series, x2, Vector512.Create(ErfS4));
        series = Avx512F.FusedMultiplyAdd(series, x2, Vector512.Create(ErfS3));
        series = Avx512F.FusedMultiplyAdd(series, x2, Vector512.Create(ErfS2));
        series = Avx512F.FusedMultiplyAdd(series, x2, Vector512.Create(ErfS1));
        series = Avx512F.Multiply(Avx512F.FusedMultiplyAdd(series, x2, Vector512.Create(ErfS0)), x);

        var tail = (Vector512.Create(1f) - ErfcAvx512(z, x2)) | (sign & x);
        return Vector512.ConditionalSelect(Vector512.LessThan(z, Vector512.Create(1f)), series, tail);
    }

    /// <summary>
    /// Lane-wise exact GELU, x Φ(x) with Φ(x) = ½ erfc(-x / √2). On AVX-512 one form for every x, without
    /// <see cref="Erf(Vector512{float})"/>'s series: with z = |x| / √2 and erfc z = t (a1 + ... + a5 t^4) e^(-z^2),
    /// t = 1 / (1 + p z) (Abramowitz and Stegun 7.1.26, absolute error below 1.5e-7), Φ is 1 - ½ erfc z for x &gt;= 0 and
    /// ½ erfc z below: absolute error below 1.5e-7 (1 + |x|) with rounding. NaN stays NaN. Elsewhere as <see cref="Gelu(Vector{float})"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Gelu(Vector512<float> x)
    {
        if (!Avx512F.IsSupported) return Halves<GeluOf>(x, x);
        var z = Avx512F.Multiply(Vector512.AndNot(x, Vector512.Create(-0f)), Vector512.Create(0.70710677f));
        var half = Avx512F.Multiply(ErfcAvx512(z, Avx512F.Multiply(z, z)), Vector512.Create(0.5f)); // ½ erfc z
        var phi = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), Vector512.Create(1f) - half, half);
        return Avx512F.Multiply(x, phi);
    }

    /// <summary>erfc z for z = |x| (z2 = z^2) by Abramowitz and Stegun 7.1.26: t (a1 + ... + a5 t^4) e^(-z^2) with
    /// t = 1 / (1 + p z) from vrcp14ps plus a Newton step (z capped at 16, where erfc is 0 in float anyway, so t stays
    /// finite) and e^(-z^2) from <see cref="ExpAvx512"/> of -min(z^2, 80) (no denormals); absolute error below 1.5e-7.
    /// NaN passes vminps' second operand.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ErfcAvx512(Vector512<float> z, Vector512<float> z2)
    {
        var d = Avx512F.FusedMultiplyAdd(Vector512.Create(ErfP), Avx512F.Min(Vector512.Create(16f), z), Vector512.Create(1f));
        var t = Avx512F.Reciprocal14(d);
        t = Avx512F.FusedMultiplyAdd(Avx512F.FusedMultiplyAddNegated(d, t, Vector512.Create(1f)), t, t);
        var poly = Avx512F.FusedMultiplyAdd(Vector512.Create(ErfA5), t, Vector512.Create(ErfA4));
        poly = Avx512F.FusedMultiplyAdd(poly, t, Vector512.Create(ErfA3));
        poly = Avx512F.FusedMultiplyAdd(poly, t, Vector512.Create(ErfA2));
        poly = Avx512F.FusedMultiplyAdd(poly, t, Vector512.Create(ErfA1));
        var e = ExpAvx512(Avx512F.Subtract(Vector512<float>.Zero, Avx512F.Min(Vector512.Create(80f), z2)));
        return Avx512F.Multiply(Avx512F.Multiply(poly, t), e);
    }

    /// <summary>Lane-wise maximum with the semantics of <see cref="MathF.Max(float, float)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Halves<MaxOf>(a, b);

    /// <summary>Lane-wise minimum with the semantics of <see cref="MathF.Min(float, float)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Halves<MinOf>(a, b);

    /// <summary>Lane-wise a == b as a 0/1 mask.</summary>
    public static Vector512<float> Equal(Vector512<float> a, Vector512<float> b) => Mask(Vector512.Equals(a, b));

    /// <summary>Lane-wise a &gt; b as a 0/1 mask.</summary>
    public static Vector512<float> Greater(Vector512<float> a, Vector512<float> b) => Mask(Vector512.GreaterThan(a, b));

    /// <summary>Lane-wise a &gt;= b as a 0/1 mask.</summary>
    public static Vector512<float> GreaterOrEqual(Vector512<float> a, Vector512<float> b) => Mask(Vector512.GreaterThanOrEqual(a, b));

    /// <summary>Lane-wise a &lt; b as a 0/1 mask.</summary>
    public static Vector512<float> Less(Vector512<float> a, Vector512<float> b) => Mask(Vector512.LessThan(a, b));

    /// <summary>Lane-wise a &lt;= b as a 0/1 mask.</summary>
    public static Vector512<float> LessOrEqual(Vector512<float> a, Vector512<float> b) => Mask(Vector512.LessThanOrEqual(a, b));

    /// <summary>Lane-wise condition != 0 ? a : b (a NaN condition selects a, like the scalar form).</summary>
    public static Vector512<float> Where(Vector512<float> condition, Vector512<float> a, Vector512<float> b) =>
        Vector512.ConditionalSelect(Vector512.Equals(condition, Vector512<float>.Zero), b, a);

    private static Vector512<float> Mask(Vector512<float> bits) => Vector512.ConditionalSelect(bits, Vector512<float>.One, Vector512<float>.Zero);

    /// <summary>The first <paramref name="count"/> (0 to 16) elements of <paramref name="source"/> in the low lanes, zeros
    /// above: the blocks of a row too short for whole blocks in a generated Vector512 loop, so that every element goes
    /// through the same vector arithmetic whatever its position. Two vmaskmovps loads (lanes past count are not read, so they cannot fault).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> LoadPartial(ReadOnlySpan<float> source, int count)
    {
        source = source.Slice(0, count);
        if (!Avx.IsSupported) return LoadFew(source);
        var (low, high) = PartialMasks(count);
        fixed (float* p = source)
        {
            return Vector512.Create(Avx.MaskLoad(p, low), Avx.MaskLoad(p + 8, high));
        }
    }

    /// <summary>Writes the low <paramref name="count"/> (0 to 16) lanes of <paramref name="value"/> to
    /// <paramref name="destination"/>, lane by lane (the bytes past count are not touched; vmaskmovps would, on AMD, stall
    /// the non-temporal stores of the neighbouring blocks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StorePartial(Vector512<float> value, Span<float> destination, int count)
    {
        destination = destination.Slice(0, count);
        if (count == Vector512<float>.Count) value.CopyTo(destination);
        else StoreFew(value, destination);
    }

    /// <summary>Lane masks (sign bit set) of lanes 0..7 and 8..15 below count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float> Low, Vector256<float> High) PartialMasks(int count)
    {
        var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        var n = Vector256.Create(count);
        return (Vector256.GreaterThan(n, lanes).AsSingle(), Vector256.GreaterThan(n - Vector256.Create(8), lanes).AsSingle());
    }

    private static Vector512<float> LoadFew(ReadOnlySpan<float> source)
    {
        var v = Vector512<float>.Zero;
        source.CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.As<Vector512<float>, float>(ref v), Vector512<float>.Count));
        return v;
    }

    private static void StoreFew(Vector512<float> value, Span<float> destination)
    {
        ref float lanes = ref Unsafe.As<Vector512<float>, float>(ref value);
        for (int i = 0; i < destination.Length; i++) destination[i] = Unsafe.Add(ref lanes, i);
    }

    /// <summary>
    /// Writes a block of 16 at <paramref name="destination"/> + <paramref name="elementOffset"/> with a non-temporal
    /// store (vmovntps: around the caches, without first reading the line) when the address is 64-byte aligned, an
    /// ordinary store otherwise: for outputs too large to stay cached, it saves the read-for-ownership that makes an
    /// ordinary store cost two memory transfers. Unchecked, like <see cref="Vector512.StoreUnsafe{T}(Vector512{T}, ref T, nuint)"/>;
    /// the memory must be pinned (generated code calls it inside <see cref="Cpu.ParallelLoops.Elementwise"/>, which
    /// pins every span).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StoreNonTemporal(Vector512<float> value, ref float destination, nuint elementOffset)
    {
        float* p = (float*)Unsafe.AsPointer(ref Unsafe.Add(ref destination, elementOffset));
        if (Avx512F.IsSupported && ((nuint)p & 63) == 0) Avx512F.StoreAlignedNonTemporal(p, value);
        else value.Store(p);
    }

    /// <summary>
    /// Prefetches <paramref name="lines"/> cache lines from the one holding <paramref name="destination"/> +
    /// <paramref name="elementOffset"/> (which may lie past the data: a prefetch never faults). A row written with
    /// non-temporal stores writes its ends, which share lines with its neighbours, with ordinary stores, and an
    /// ordinary store to a line that is not cached waits for the line to come from memory; fetched a row ahead, the
    /// lines are there when those stores come.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void PrefetchLines(ref float destination, nint elementOffset, int lines)
    {
        if (!Sse.IsSupported) return;
        byte* p = (byte*)Unsafe.AsPointer(ref destination) + elementOffset * sizeof(float);
        for (int i = 0; i < lines; i++) Sse.Prefetch0(p + 64 * i);
    }

    /// <summary>Orders this thread's earlier non-temporal stores before its later stores (sfence): they are weakly
    /// ordered, and whoever reads the result next may be another thread, told by an ordinary store that it is ready.</summary>
    public static void FenceNonTemporalStores()
    {
        if (Sse.IsSupported) Sse.StoreFence();
    }

    /// <summary>How many elements of <paramref name="destination"/> (1 to 16) come before the next 64-byte boundary: the
    /// head block that makes every later block of a generated Vector512 loop cache-line aligned.</summary>
    public static unsafe int ElementsToAlignment(Span<float> destination)
    {
        nuint offset = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(destination)) & 63;
        return offset == 0 ? Vector512<float>.Count : (int)Math.Max(1, (64 - offset) / sizeof(float));
    }

    /// <summary>A Vector&lt;float&gt; function that <see cref="Halves{TFunction}(Vector512{float}, Vector512{float})"/>
    /// applies to a Vector512 (a struct type argument, so the call is specialized and inlined; no delegate).</summary>
    private interface IVectorFunction
    {
        static abstract Vector<float> Apply(Vector<float> a, Vector<float> b);
    }

    private readonly struct ReluOf : IVectorFunction { public static Vector<float> Apply(Vector<float> a, Vector<float> b) => Relu(a); }
    private readonly struct ExpOf : IVectorFunction { public static Vector<float> Apply(Vector<float> a, Vector<float> b) => Exp(a); }
    private readonly struct SigmoidOf : IVectorFunction { public static Vector<float> Apply(Vector<float> a, Vector<float> b) => Sigmoid(a); }
    private readonly struct TanhOf : IVectorFunction { public static Vector<float> Apply(Vector<float> a, Vector<float> b) => Tanh(a); }
    private readonly struct ErfOf : IVectorFunction { public static Vector<float> Apply(Vector<float> a, Vector<float> b) => Erf(a); }
    private readonly struct GeluOf : IVectorFunction { public static Vector<float> Apply(Vector<float> a, Vector<float> b) => Gelu(a); }
    private readonly struct MaxOf : IVectorFunction { public static Vector<float> Apply(Vector<float> a, Vector<float> b) => Max(a, b); }
    private readonly struct MinOf : IVectorFunction { public static Vector<float> Apply(Vector<float> a, Vector<float> b) => Min(a, b); }

    /// <summary>The function applied to each 256-bit half of a and b as <see cref="Vector{T}"/> (to the whole vectors where
    /// Vector&lt;float&gt; is 512 bits wide, to each 128-bit quarter where it is 128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Halves<TFunction>(Vector512<float> a, Vector512<float> b) where TFunction : struct, IVectorFunction
    {
        if (Vector<float>.Count == 16) return TFunction.Apply(a.AsVector(), b.AsVector()).AsVector512();
        if (Vector<float>.Count == 8)
        {
            return Vector512.Create(TFunction.Apply(a.GetLower().AsVector(), b.GetLower().AsVector()).AsVector256(),
                                    TFunction.Apply(a.GetUpper().AsVector(), b.GetUpper().AsVector()).AsVector256());
        }

        return Vector512.Create(Quarters<TFunction>(a.GetLower(), b.GetLower()), Quarters<TFunction>(a.GetUpper(), b.GetUpper()));
    }

    private static Vector256<float> Quarters<TFunction>(Vector256<float> a, Vector256<float> b) where TFunction : struct, IVectorFunction =>
        Vector256.Create(TFunction.Apply(a.GetLower().AsVector(), b.GetLower().AsVector()).AsVector128(),
                         TFunction.Apply(a.GetUpper().AsVector(), b.GetUpper().AsVector()).AsVector128());
}
