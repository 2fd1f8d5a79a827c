using System;
using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Aot.Runtime.Cpu;

/// <summary>
/// The instruction set generated code was compiled for (the <c>AotInstructionSet</c> MSBuild property): which GEMM
/// microkernel <see cref="Sgemm.Multiply"/> runs, checked when a model is compiled (<see cref="CpuFeatures.Require"/>).
/// <see cref="Auto"/> (the default) lets the GEMM pick from what the JIT or NativeAOT compiler targets (IsSupported
/// checks, folded to constants), so only one path survives in the machine code. The generated elementwise loops use
/// <see cref="Vector{T}"/> in every case, whose width the JIT or NativeAOT compiler picks.
/// </summary>
public enum CpuInstructionSet
{
    /// <summary>Whatever the compiler targets: AVX-512, else AVX2 + FMA, else the portable <see cref="Vector{T}"/> tile.</summary>
    Auto = 0,

    /// <summary>The portable GEMM tile (<see cref="Vector{T}"/>: 128-bit under NativeAOT for x86-64-v2 or arm64, as wide
    /// as the JIT makes it otherwise); needs 128-bit SIMD (SSE4 or NEON).</summary>
    Vector128,

    /// <summary>The 6 x 16 Vector256 FMA microkernel (twice per 32-column panel); needs AVX2 and FMA (x86-64-v3).</summary>
    Avx2,

    /// <summary>The 6 x 32 Vector512 FMA microkernel; needs AVX-512F (x86-64-v4).</summary>
    Avx512,
}

/// <summary>Checks that the machine (or the NativeAOT build's IlcInstructionSet) provides an instruction set.</summary>
public static class CpuFeatures
{
    /// <summary>Whether code compiled for <paramref name="set"/> can run here. The checks are JIT / NativeAOT
    /// constants, so with a matching IlcInstructionSet this folds to <c>true</c>.</summary>
    public static bool IsSupported(CpuInstructionSet set) => set switch
    {
        CpuInstructionSet.Auto => true,
        CpuInstructionSet.Vector128 => Vector128.IsHardwareAccelerated,
        CpuInstructionSet.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        CpuInstructionSet.Avx512 => Avx512F.IsSupported,
        _ => false,
    };

    /// <summary>Throws <see cref="PlatformNotSupportedException"/> unless <paramref name="set"/> is supported; generated
    /// code calls this when the model is compiled, so a mismatch fails there instead of deep inside a kernel.</summary>
    public static void Require(CpuInstructionSet set)
    {
        if (IsSupported(set)) return;
        throw new PlatformNotSupportedException(
            $"This model was generated for AotInstructionSet={Describe(set)}, which this machine does not support " +
            "(or, under NativeAOT, which the binary's IlcInstructionSet does not include). Build it with a lower AotInstructionSet, " +
            "or leave it empty to pick the kernels from the machine.");
    }

    /// <summary>The MSBuild value and what it needs, for messages.</summary>
    public static string Describe(CpuInstructionSet set) => set switch
    {
        CpuInstructionSet.Vector128 => "vector128 (SSE4 or NEON)",
        CpuInstructionSet.Avx2 => "avx2 (AVX2 and FMA, x86-64-v3)",
        CpuInstructionSet.Avx512 => "avx512 (AVX-512F, x86-64-v4)",
        _ => "auto",
    };
}
