using System.Buffers.Binary;
using System.Text;
using Aot.Dsl;
using Aot.Runtime;
using static Aot.Runtime.Tests.SafeTensorsTestUtil;

namespace Aot.Runtime.Tests;

/// <summary>Damaged files may only ever produce <see cref="WeightsException"/> (or load): never another exception.</summary>
public class SafeTensorsRobustnessTests
{
    private static byte[] ValidFile()
    {
        // Writer output plus a hand-made F16 entry, so the "cannot hold this dtype" path is fuzzed too.
        var bytes = SafeTensors.Serialize(
            new[]
            {
                Entry("w", Tensor.Random(3, -1f, 1f, 2, 3)),
                Entry("b", Tensor.FromArray(new[] { 1f, 2f }, 2)),
                Entry("ids", Tensor.FromArray(new[] { 5, -6, 7 }, 3)),
                Entry("s", Tensor.Scalar(0.25f)),
                Entry("e", Tensor.Zeros(2, 0)),
            },
            new Dictionary<string, string> { ["format"] = "pt", ["note"] = "fuzz" });
        string header = SafeTensorsRoundTripTests.HeaderText(bytes).TrimEnd(' ');
        int dataLength = bytes.Length - 8 - (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        header = header[..^1] + $",\"h\":{{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[{dataLength},{dataLength + 4}]}}}}";
        var data = new byte[dataLength + 4];
        Array.Copy(bytes, bytes.Length - dataLength, data, 0, dataLength);
        return Build(header, data);
    }

    [Fact]
    public void The_fuzz_seed_file_is_valid()
    {
        Assert.True(TryLoadEverything(ValidFile()));
        using var file = SafeTensorsFile.Parse(ValidFile());
        Assert.Equal(new[] { "w", "b", "ids", "s", "e", "h" }, file.Names);
    }

    [Fact]
    public void Every_truncation_is_rejected_with_WeightsException()
    {
        var bytes = ValidFile();
        for (int length = 0; length < bytes.Length; length++)
        {
            Assert.False(TryLoadEverything(bytes[..length]), $"truncated to {length} bytes, the file still loaded");
        }
    }

    [Fact]
    public void Every_truncation_of_a_file_on_disk_is_rejected_with_WeightsException()
    {
        var bytes = ValidFile();
        using var dir = new TempDir();
        string path = dir.File("t.safetensors");
        for (int length = 0; length < bytes.Length; length += 7)
        {
            File.WriteAllBytes(path, bytes[..length]);
            var e = Assert.Throws<WeightsException>(() => SafeTensorsFile.Open(path));
            Assert.StartsWith($"weights file '{path}': ", e.Message);
        }
    }

    [Fact]
    public void Random_bit_flips_never_escape_as_other_exceptions()
    {
        var original = ValidFile();
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        var rng = new Random(20240611);
        int loaded = 0, rejected = 0;
        for (int i = 0; i < 4000; i++)
        {
            var bytes = (byte[])original.Clone();
            int flips = 1 + rng.Next(4);
            for (int f = 0; f < flips; f++)
            {
                // Mostly hit the length prefix and the header, where the interesting parsing is.
                int position = rng.Next(10) < 8 ? rng.Next(headerEnd) : rng.Next(bytes.Length);
                bytes[position] ^= (byte)(1 << rng.Next(8));
            }

            if (TryLoadEverything(bytes)) loaded++;
            else rejected++;
        }

        Assert.True(rejected > 1000, $"only {rejected} mutations were rejected");
        Assert.True(loaded > 0, "no mutation loaded (data-only flips should)");
    }

    [Fact]
    public void Random_structural_byte_edits_never_escape_as_other_exceptions()
    {
        var original = ValidFile();
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        byte[] interesting = Encoding.ASCII.GetBytes("{}[]\",:-.0123456789eE \\nutf").Concat(new byte[] { 0x00, 0x80, 0xC3, 0xFF }).ToArray();
        var rng = new Random(7);
        for (int i = 0; i < 3000; i++)
        {
            var bytes = new List<byte>(original);
            int edits = 1 + rng.Next(3);
            for (int k = 0; k < edits; k++)
            {
                int position = 8 + rng.Next(Math.Min(headerEnd, bytes.Count) - 8);
                byte value = interesting[rng.Next(interesting.Length)];
                switch (rng.Next(3))
                {
                    case 0: bytes[position] = value; break;
                    case 1: bytes.Insert(position, value); break;
                    default: bytes.RemoveAt(position); break;
                }
            }

            // Keep the declared header length consistent with insertions/deletions half of the time,
            // so the JSON parser (not just the length check) sees the damage.
            var array = bytes.ToArray();
            if (rng.Next(2) == 0)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(array, (ulong)(headerEnd - 8 + (array.Length - original.Length)));
            }

            TryLoadEverything(array);
        }
    }

    [Fact]
    public void Random_header_lengths_never_escape_as_other_exceptions()
    {
        var original = ValidFile();
        var rng = new Random(99);
        var lengths = new List<ulong> { 0, 1, 7, 8, 9, ulong.MaxValue, ulong.MaxValue - 7, long.MaxValue, (ulong)long.MaxValue + 1, int.MaxValue, (ulong)int.MaxValue + 1, uint.MaxValue, 100_000_000, 100_000_001 };
        for (int i = 0; i < 500; i++) lengths.Add((ulong)rng.NextInt64(0, original.Length + 16));
        for (int i = 0; i < 100; i++) lengths.Add((ulong)rng.NextInt64() * 2 + (ulong)rng.Next(2));

        foreach (var n in lengths)
        {
            var bytes = (byte[])original.Clone();
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, n);
            TryLoadEverything(bytes);
        }
    }

    [Fact]
    public void Random_garbage_never_escapes_as_other_exceptions()
    {
        var rng = new Random(5);
        for (int i = 0; i < 1000; i++)
        {
            var garbage = new byte[rng.Next(64)];
            rng.NextBytes(garbage);
            Assert.False(TryLoadEverything(Build(garbage, null)));
        }
    }
}
