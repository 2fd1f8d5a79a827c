// Linked as source into Aot.Runtime and Aot.Generator: CRC-32 of the NPU-1 binary container. System.IO.Hashing is
// a package, not part of the BCL, and the generator cannot take package dependencies, so this is the classic
// table-driven implementation (IEEE 802.3 / zlib / PNG: reflected polynomial 0xEDB88320, initial value and final
// xor 0xFFFFFFFF). CRC-32("123456789") = 0xCBF43926.
using System;

#if AOT_GENERATOR
namespace Aot.Generator.Npu;
#else
namespace Aot.Npu;
#endif

/// <summary>CRC-32 (IEEE, as zlib's <c>crc32</c>) of the container's section table and sections.</summary>
public static class NpuCrc32
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>The CRC-32 of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>
    /// Continues a CRC: <c>Append(Compute(a), b) == Compute(a ++ b)</c>; <c>Append(0, data) == Compute(data)</c>.
    /// </summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        uint c = ~crc;
        var table = Table;
        foreach (byte b in data)
        {
            c = table[(c ^ b) & 0xFF] ^ (c >> 8);
        }

        return ~c;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
