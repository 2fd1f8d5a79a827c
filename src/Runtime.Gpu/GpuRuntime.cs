using System;
using System.Globalization;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace Aot.Runtime.Gpu;

/// <summary>
/// The mechanics every generated <c>GpuCompiled</c> class shares: checking that the accelerator can run the
/// model's kernels, allocating device buffers with a clear out-of-memory error, and host/device copies that
/// allocate nothing on the managed heap. Generated code holds only what is specific to one model (kernels,
/// buffer sizes, the launch sequence).
/// </summary>
public static class GpuRuntime
{
    /// <summary>
    /// Throws <see cref="NotSupportedException"/> naming the model when the accelerator cannot launch its kernels:
    /// groups of <paramref name="groupSize"/> threads, <paramref name="sharedMemoryBytes"/> bytes of static shared
    /// memory per group.
    /// </summary>
    public static void RequireKernelSupport(Accelerator accelerator, int groupSize, int sharedMemoryBytes, string model)
    {
        if (accelerator is null) throw new ArgumentNullException(nameof(accelerator));
        if (accelerator.MaxNumThreadsPerGroup < groupSize)
        {
            throw new NotSupportedException(string.Format(CultureInfo.InvariantCulture,
                "{0}: the GPU kernels launch groups of up to {1} threads; accelerator '{2}' supports {3} (for ILGPU's CPU accelerator, create it from a device such as new CPUDevice(32, 8, 1))",
                model, groupSize, accelerator.Name, accelerator.MaxNumThreadsPerGroup));
        }

        if (accelerator.MaxSharedMemoryPerGroup < sharedMemoryBytes)
        {
            throw new NotSupportedException(string.Format(CultureInfo.InvariantCulture,
                "{0}: the GPU kernels use up to {1} bytes of shared memory per group; accelerator '{2}' has {3}",
                model, sharedMemoryBytes, accelerator.Name, accelerator.MaxSharedMemoryPerGroup));
        }
    }

    /// <summary>
    /// Throws <see cref="GpuOutOfMemoryException"/> when <paramref name="bytes"/> (the total a model is about to
    /// allocate) exceeds the accelerator's memory, before anything is allocated.
    /// </summary>
    public static void RequireMemory(Accelerator accelerator, long bytes, string purpose)
    {
        if (accelerator is null) throw new ArgumentNullException(nameof(accelerator));
        RequireMemory(accelerator, bytes, purpose, MemorySizeOf(accelerator));
    }

    /// <summary>Test hook: when set (on this thread), the memory size the checks use instead of
    /// <see cref="Accelerator.MemorySize"/>, so a test can make a model too large for ILGPU's CPU accelerator (whose
    /// memory size is long.MaxValue).</summary>
    [ThreadStatic]
    internal static long? MemorySizeOverride;

    private static long MemorySizeOf(Accelerator accelerator) => MemorySizeOverride ?? accelerator.MemorySize;

    /// <summary><see cref="RequireMemory(Accelerator, long, string)"/> against a given memory size (tests use a small one).</summary>
    internal static void RequireMemory(Accelerator accelerator, long bytes, string purpose, long memorySize)
    {
        if (bytes > memorySize) throw new GpuOutOfMemoryException(purpose, bytes, memorySize, accelerator.Name);
    }

    /// <summary>
    /// Allocates a dense buffer of <paramref name="elements"/> elements (at least one, so every view of it is
    /// valid), throwing <see cref="GpuOutOfMemoryException"/> when it cannot: checked against
    /// <see cref="Accelerator.MemorySize"/> first, and the accelerator's own allocation failure translated.
    /// </summary>
    public static MemoryBuffer1D<T, Stride1D.Dense> Allocate<T>(Accelerator accelerator, long elements, string purpose)
        where T : unmanaged
    {
        if (accelerator is null) throw new ArgumentNullException(nameof(accelerator));
        return Allocate<T>(accelerator, elements, purpose, MemorySizeOf(accelerator));
    }

    /// <summary><see cref="Allocate{T}(Accelerator, long, string)"/> against a given memory size (tests use a small one).</summary>
    internal static MemoryBuffer1D<T, Stride1D.Dense> Allocate<T>(Accelerator accelerator, long elements, string purpose, long memorySize)
        where T : unmanaged
    {
        if (elements < 0) throw new ArgumentOutOfRangeException(nameof(elements));
        long count = Math.Max(elements, 1);
        long bytes = count > long.MaxValue / Marshal.SizeOf<T>() ? long.MaxValue : count * Marshal.SizeOf<T>();
        RequireMemory(accelerator, bytes, purpose, memorySize);
        try
        {
            return accelerator.Allocate1D<T>(count);
        }
        catch (Exception e) when (IsOutOfMemory(e))
        {
            throw new GpuOutOfMemoryException(purpose, bytes, memorySize, accelerator.Name, e);
        }
    }

    /// <summary>Whether an allocation failure means the device (or the host, for the CPU accelerator) is out of memory.</summary>
    internal static bool IsOutOfMemory(Exception e) => e switch
    {
        OutOfMemoryException => true, // the CPU accelerator's host allocation (InsufficientMemoryException included)
        CudaException cuda => cuda.Error == nameof(CudaError.CUDA_ERROR_OUT_OF_MEMORY),
        CLException cl => cl.Error is CLError.CL_MEM_OBJECT_ALLOCATION_FAILURE or CLError.CL_OUT_OF_RESOURCES or CLError.CL_OUT_OF_HOST_MEMORY,
        _ => false,
    };

    /// <summary>The whole buffer as a view (the generated code slices it with <see cref="ArrayView{T}.SubView(long, long)"/>).</summary>
    public static ArrayView<T> ViewOf<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer)
        where T : unmanaged => buffer.View;

    /// <summary>Enqueues a host-to-device copy of <paramref name="source"/> into the start of <paramref name="target"/>
    /// on <paramref name="stream"/>. The caller keeps the span alive and synchronizes before returning to its caller.</summary>
    public static void CopyIn<T>(AcceleratorStream stream, ArrayView<T> target, ReadOnlySpan<T> source)
        where T : unmanaged
    {
        if (source.Length == 0) return;
        if (source.Length > target.Length) throw new ArgumentException("the source span is longer than the device view", nameof(source));
        target.SubView(0, source.Length).CopyFromCPUUnsafeAsync(stream, ref MemoryMarshal.GetReference(source), source.Length);
    }

    /// <summary>Copies the start of <paramref name="source"/> into <paramref name="target"/> after everything enqueued on
    /// <paramref name="stream"/> so far, and waits for it (the stream is idle on return).</summary>
    public static void CopyOut<T>(AcceleratorStream stream, ArrayView<T> source, Span<T> target)
        where T : unmanaged
    {
        if (target.Length > source.Length) throw new ArgumentException("the target span is longer than the device view", nameof(target));
        if (target.Length > 0) source.SubView(0, target.Length).CopyToCPUUnsafeAsync(stream, ref MemoryMarshal.GetReference(target), target.Length);
        stream.Synchronize();
    }

    /// <summary>Enqueues a device-to-device copy of <paramref name="source"/> into <paramref name="target"/> (same length).</summary>
    public static void CopyOnDevice<T>(AcceleratorStream stream, ArrayView<T> source, ArrayView<T> target)
        where T : unmanaged
    {
        if (source.Length != target.Length) throw new ArgumentException("device copy between views of different lengths", nameof(target));
        if (source.Length > 0) source.CopyTo(stream, target);
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming <paramref name="name"/> when a span does not have the expected length.</summary>
    public static void CheckLength(int actual, long expected, string name)
    {
        if (actual != expected)
        {
            throw new ArgumentException(string.Format(CultureInfo.InvariantCulture, "'{0}' must have {1} elements, got {2}", name, expected, actual), name);
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming <paramref name="name"/> when a device view is invalid or
    /// does not have the expected length.</summary>
    public static void CheckView<T>(ArrayView<T> view, long expected, string name)
        where T : unmanaged
    {
        if (!view.IsValid && expected > 0) throw new ArgumentException($"'{name}' is not a valid device view", name);
        if (view.Length != expected)
        {
            throw new ArgumentException(string.Format(CultureInfo.InvariantCulture, "'{0}' must have {1} elements, got {2}", name, expected, view.Length), name);
        }
    }

    /// <summary>
    /// Whether the first element of <paramref name="view"/> is aligned to <paramref name="bytes"/> (a power of two) in
    /// device memory. The generated vectorized kernels (see <see cref="GpuFloat4"/>) assume 16-byte aligned operands:
    /// the arena and weight slots are, and a caller's device view is checked with this before each run (an unaligned
    /// one takes the kernel's scalar variant). An empty view counts as aligned.
    /// </summary>
    public static bool IsAligned<T>(ArrayView<T> view, int bytes)
        where T : unmanaged
    {
        if (view.Length == 0) return true;
        long address = NativePtrOf(view).ToInt64() + IndexInBytesOf(view);
        return (address & (bytes - 1)) == 0;
    }

    // Constrained calls through the interfaces: no boxing of the view, no allocation per run.
    private static IntPtr NativePtrOf<TView>(TView view)
        where TView : IArrayView => view.Buffer.NativePtr;

    private static long IndexInBytesOf<TView>(TView view)
        where TView : IContiguousArrayView => view.IndexInBytes;

    /// <summary>Throws <see cref="ObjectDisposedException"/> for a disposed compiled model.</summary>
    public static void ThrowIfDisposed(bool disposed, string model)
    {
        if (disposed) throw new ObjectDisposedException(model);
    }
}
