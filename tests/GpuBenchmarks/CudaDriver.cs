using System.Reflection;
using System.Runtime.InteropServices;

namespace GpuBenchmarks;

/// <summary>
/// ILGPU P/Invokes the CUDA driver as "cuda", which .NET probes as libcuda.so / cuda.so: the development symlink, which
/// containers and driver-only installs often lack (they have libcuda.so.1, which PyTorch uses). This resolver also
/// tries libcuda.so.1. Skipped on WSL, where ILGPU installs a resolver of its own (an assembly can have only one).
/// </summary>
internal static class CudaDriver
{
    public static void RegisterResolver()
    {
        if (!OperatingSystem.IsLinux() || IsWsl()) return;
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(ILGPU.Context).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // A resolver is already registered for ILGPU: leave it.
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name is not ("cuda" or "libcuda" or "libcuda.so")) return IntPtr.Zero;
        foreach (var candidate in new[] { "libcuda.so", "libcuda.so.1" })
        {
            if (NativeLibrary.TryLoad(candidate, assembly, searchPath, out var handle)) return handle;
        }

        return IntPtr.Zero; // fall back to the default probing (and its error message)
    }

    private static bool IsWsl()
    {
        try
        {
            return File.ReadAllText("/proc/version").Contains("Microsoft", StringComparison.OrdinalIgnoreCase) && Directory.Exists("/usr/lib/wsl/lib");
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
