// Linked as source into both Aot.Dsl (public) and Aot.Generator (internal): one definition of the
// element types the compiler knows, so the IR, the weights files and the eager reference agree.
#if AOT_GENERATOR
namespace Aot.Generator.IR;
#else
namespace Aot.Dsl;
#endif

/// <summary>Element type of a tensor. Only Float32 and Int32 are computed today; the others are
/// carried through the IR and weights files so quantized and half-precision paths fit later.</summary>
#if AOT_GENERATOR
internal
#else
public
#endif
enum DType
{
    Float32 = 0,
    Float16 = 1,
    BFloat16 = 2,
    Int8 = 3,
    Int32 = 4,
    Int64 = 5,
    Bool = 6,
}

#if AOT_GENERATOR
internal
#else
public
#endif
static class DTypeInfo
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(DType dtype) => dtype switch
    {
        DType.Float32 => 4,
        DType.Float16 => 2,
        DType.BFloat16 => 2,
        DType.Int8 => 1,
        DType.Int32 => 4,
        DType.Int64 => 8,
        DType.Bool => 1,
        _ => throw new System.ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    /// <summary>The dtype's name in a safetensors header ("F32", "I32", ...).</summary>
    public static string SafeTensorsName(DType dtype) => dtype switch
    {
        DType.Float32 => "F32",
        DType.Float16 => "F16",
        DType.BFloat16 => "BF16",
        DType.Int8 => "I8",
        DType.Int32 => "I32",
        DType.Int64 => "I64",
        DType.Bool => "BOOL",
        _ => throw new System.ArgumentOutOfRangeException(nameof(dtype), dtype, "unknown dtype"),
    };

    public static bool TryParseSafeTensorsName(string name, out DType dtype)
    {
        switch (name)
        {
            case "F32": dtype = DType.Float32; return true;
            case "F16": dtype = DType.Float16; return true;
            case "BF16": dtype = DType.BFloat16; return true;
            case "I8": dtype = DType.Int8; return true;
            case "I32": dtype = DType.Int32; return true;
            case "I64": dtype = DType.Int64; return true;
            case "BOOL": dtype = DType.Bool; return true;
            default: dtype = DType.Float32; return false;
        }
    }

    /// <summary>Lower-case name used by the IR printer ("f32", "i32", ...).</summary>
    public static string ShortName(DType dtype) => dtype switch
    {
        DType.Float32 => "f32",
        DType.Float16 => "f16",
        DType.BFloat16 => "bf16",
        DType.Int8 => "i8",
        DType.Int32 => "i32",
        DType.Int64 => "i64",
        DType.Bool => "bool",
        _ => "?",
    };
}
