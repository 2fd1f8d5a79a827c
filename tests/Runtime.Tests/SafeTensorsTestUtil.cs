using System.Buffers.Binary;
using System.Text;
using Aot.Dsl;
using Aot.Runtime;

namespace Aot.Runtime.Tests;

internal static class SafeTensorsTestUtil
{
    /// <summary>A file from a header JSON text (not padded) and a data buffer.</summary>
    public static byte[] Build(string json, byte[]? data = null) => Build(Encoding.UTF8.GetBytes(json), data);

    public static byte[] Build(byte[] header, byte[]? data = null, ulong? declaredLength = null)
    {
        data ??= Array.Empty<byte>();
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    public static KeyValuePair<string, Tensor> Entry(string name, Tensor tensor) => new(name, tensor);

    public static void AssertSameBits(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.DType, actual.DType);
        Assert.Equal(expected.ShapeArray(), actual.ShapeArray());
        if (expected.DType == DType.Float32)
        {
            var e = expected.Floats.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();
            var a = actual.Floats.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();
            Assert.Equal(e, a);
        }
        else
        {
            Assert.Equal(expected.Ints.ToArray(), actual.Ints.ToArray());
        }
    }

    /// <summary>Opens the bytes and touches everything; only <see cref="WeightsException"/> may escape.</summary>
    public static bool TryLoadEverything(byte[] bytes)
    {
        try
        {
            using var file = SafeTensorsFile.Parse(bytes, "fuzz.safetensors");
            _ = file.Metadata.Count;
            foreach (var name in file.Names)
            {
                try
                {
                    var spec = file.GetSpec(name);
                    var tensor = file.Read(name);
                    Assert.Equal(spec.Shape, tensor.ShapeArray());
                    _ = file.Read(name, spec.DType, spec.Shape);
                }
                catch (WeightsException e)
                {
                    Assert.StartsWith("weights file 'fuzz.safetensors': ", e.Message);
                }
            }

            return true;
        }
        catch (WeightsException e)
        {
            Assert.StartsWith("weights file 'fuzz.safetensors': ", e.Message);
            return false;
        }
    }

    /// <summary>A temporary directory removed on dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public TempDir()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "aot-safetensors-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Path);
        }

        public string Path { get; }

        public string File(string name) => System.IO.Path.Combine(Path, name);

        public void Dispose()
        {
            try
            {
                Directory.Delete(Path, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
