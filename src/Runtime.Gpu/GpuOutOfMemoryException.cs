using System;
using System.Globalization;

namespace Aot.Runtime.Gpu;

/// <summary>
/// A compiled model's device memory (weights, arena, staging buffers) does not fit on the accelerator: thrown
/// before allocating when the request exceeds <see cref="ILGPU.Runtime.Accelerator.MemorySize"/>, and in place of
/// the accelerator's own allocation failure (CUDA_ERROR_OUT_OF_MEMORY and the like) otherwise.
/// </summary>
public sealed class GpuOutOfMemoryException : Exception
{
    public GpuOutOfMemoryException(string purpose, long requestedBytes, long acceleratorMemoryBytes, string acceleratorName, Exception? inner = null)
        : base(Describe(purpose, requestedBytes, acceleratorMemoryBytes, acceleratorName, inner), inner)
    {
        Purpose = purpose;
        RequestedBytes = requestedBytes;
        AcceleratorMemoryBytes = acceleratorMemoryBytes;
        AcceleratorName = acceleratorName;
    }

    /// <summary>What the memory was for ("the arena of MyModel", ...).</summary>
    public string Purpose { get; }

    /// <summary>Bytes requested.</summary>
    public long RequestedBytes { get; }

    /// <summary>The accelerator's total memory in bytes (<see cref="ILGPU.Runtime.Accelerator.MemorySize"/>).</summary>
    public long AcceleratorMemoryBytes { get; }

    /// <summary>The accelerator's name.</summary>
    public string AcceleratorName { get; }

    private static string Describe(string purpose, long requested, long memory, string name, Exception? inner)
    {
        string text = string.Format(CultureInfo.InvariantCulture,
            "cannot allocate {0} bytes ({1}) for {2} on accelerator '{3}', which has {4} bytes ({5}) of memory",
            requested, Human(requested), purpose, name, memory, Human(memory));
        return inner is null
            ? text + ": the request exceeds the accelerator's memory"
            : text + ": the allocation failed (" + inner.GetType().Name + ": " + inner.Message + "); free device memory or use a smaller model";
    }

    private static string Human(long bytes)
    {
        string[] units = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return value.ToString(unit == 0 ? "0" : "0.##", CultureInfo.InvariantCulture) + " " + units[unit];
    }
}
