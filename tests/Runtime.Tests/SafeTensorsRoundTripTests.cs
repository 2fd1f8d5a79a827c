using System.Buffers.Binary;
using System.Text;
using Aot.Dsl;
using Aot.Runtime;
using static Aot.Runtime.Tests.SafeTensorsTestUtil;

namespace Aot.Runtime.Tests;

public class SafeTensorsRoundTripTests
{
    private static List<KeyValuePair<string, Tensor>> SampleTensors() => new()
    {
        Entry("layer.0.weight", Tensor.Random(1, -1f, 1f, 3, 4)),
        Entry("layer.0.bias", Tensor.FromArray(new[] { 0f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, float.MaxValue, BitConverter.Int32BitsToSingle(0x7FC12345) }, 2, 4)),
        Entry("indices", Tensor.FromArray(new[] { 0, -1, int.MaxValue, int.MinValue, 42 }, 5)),
        Entry("scale", Tensor.Scalar(0.5f)),
        Entry("step", Tensor.FromArray(new[] { 7 })),
        Entry("empty", Tensor.Zeros(0)),
        Entry("empty.2d", Tensor.Zeros(DType.Int32, 2, 0, 3)),
        Entry("cube", Tensor.Random(2, 0f, 10f, 2, 3, 2)),
    };

    [Fact]
    public void Serialize_then_Parse_round_trips_every_tensor_bit_for_bit()
    {
        var tensors = SampleTensors();
        var bytes = SafeTensors.Serialize(tensors);
        using var file = SafeTensorsFile.Parse(bytes);

        Assert.Equal(tensors.Select(t => t.Key), file.Names);
        Assert.Empty(file.Metadata);
        foreach (var (name, expected) in tensors)
        {
            AssertSameBits(expected, file.Read(name));
            AssertSameBits(expected, file.Read(name, expected.DType, expected.Shape));
            Assert.Equal(new TensorSpec(name, expected.DType, expected.ShapeArray()), file.GetSpec(name));
        }
    }

    [Fact]
    public void Write_then_Open_round_trips_and_leaves_no_temporary_files()
    {
        using var dir = new TempDir();
        string path = dir.File("model.safetensors");
        var tensors = SampleTensors();
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        SafeTensors.Write(path, tensors, metadata);

        Assert.Equal(SafeTensors.Serialize(tensors, metadata), File.ReadAllBytes(path));
        Assert.Equal(new[] { "model.safetensors" }, Directory.GetFiles(dir.Path).Select(Path.GetFileName));

        using (var file = SafeTensorsFile.Open(path))
        {
            Assert.Equal(path, file.SourceName);
            Assert.Equal("pt", file.Metadata["format"]);
            foreach (var (name, expected) in tensors) AssertSameBits(expected, file.Read(name));
        }

        // Overwriting an existing file replaces it.
        SafeTensors.Write(path, new[] { Entry("only", Tensor.Scalar(1f)) });
        using (var file = SafeTensorsFile.Open(path))
        {
            Assert.Equal(new[] { "only" }, file.Names);
        }
    }

    [Fact]
    public void Rank0_and_empty_tensors_have_the_expected_layout()
    {
        var bytes = SafeTensors.Serialize(new[]
        {
            Entry("s", Tensor.Scalar(3f)),
            Entry("e", Tensor.Zeros(0)),
            Entry("i", Tensor.FromArray(new[] { 9 })),
        });
        using var file = SafeTensorsFile.Parse(bytes);
        Assert.Equal(Array.Empty<int>(), file.GetSpec("s").Shape);
        Assert.Equal(new[] { 0 }, file.GetSpec("e").Shape);
        Assert.Equal(3f, file.Read("s").Floats[0]);
        Assert.Equal(0, file.Read("e").Length);
        Assert.Equal(9, file.Read("i", DType.Int32, ReadOnlySpan<int>.Empty).Ints[0]);

        string header = HeaderText(bytes);
        Assert.Contains("\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}", header);
        Assert.Contains("\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}", header);
        Assert.Contains("\"i\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[4,8]}", header);
    }

    [Fact]
    public void No_tensors_is_a_valid_file()
    {
        var bytes = SafeTensors.Serialize(Array.Empty<KeyValuePair<string, Tensor>>());
        Assert.Equal(16, bytes.Length); // 8-byte length + "{}" padded to 8
        using var file = SafeTensorsFile.Parse(bytes);
        Assert.Empty(file.Names);
    }

    [Fact]
    public void Metadata_and_unusual_names_round_trip()
    {
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["quote\"and\\backslash"] = "line\nbreak\ttab",
            ["unicode"] = "héllo wörld ✓ 🚀",
            ["empty"] = "",
            ["html"] = "<a href='x'>&amp;</a>",
        };
        var tensors = new[]
        {
            Entry("emb.wörd", Tensor.Scalar(1f)),
            Entry("weird \"name\" \\ / \u0001", Tensor.Scalar(2f)),
            Entry("", Tensor.Scalar(3f)),
        };
        var bytes = SafeTensors.Serialize(tensors, metadata);
        using var file = SafeTensorsFile.Parse(bytes);
        Assert.Equal(metadata.OrderBy(p => p.Key, StringComparer.Ordinal), file.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(tensors.Select(t => t.Key), file.Names);
        Assert.Equal(2f, file.Read("weird \"name\" \\ / \u0001").Floats[0]);
        Assert.Equal(3f, file.Read("").Floats[0]);

        // Non-ASCII text of the basic multilingual plane is written as UTF-8, not \u escapes (like the Python writer);
        // System.Text.Json escapes astral characters such as emoji, which is still valid JSON and round-trips.
        Assert.Contains("emb.wörd", HeaderText(bytes));
        Assert.Contains("héllo wörld ✓", HeaderText(bytes));
    }

    [Fact]
    public void Header_is_padded_with_spaces_to_a_multiple_of_8()
    {
        for (int nameLength = 1; nameLength <= 16; nameLength++)
        {
            var bytes = SafeTensors.Serialize(new[] { Entry(new string('x', nameLength), Tensor.Scalar(1f)) });
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            Assert.Equal(0UL, n % 8);
            string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
            Assert.EndsWith("}", header.TrimEnd(' '));
            Assert.True(header.Length - header.TrimEnd(' ').Length < 8);
            Assert.Equal(8 + (int)n + 4, bytes.Length);
        }
    }

    [Fact]
    public void Tensors_are_written_in_the_given_order_with_contiguous_offsets()
    {
        var bytes = SafeTensors.Serialize(new[]
        {
            Entry("z", Tensor.Zeros(3)),
            Entry("a", Tensor.Zeros(DType.Int32, 2)),
            Entry("m", Tensor.Zeros(1, 1)),
        });
        string header = HeaderText(bytes);
        int z = header.IndexOf("\"z\"", StringComparison.Ordinal), a = header.IndexOf("\"a\"", StringComparison.Ordinal), m = header.IndexOf("\"m\"", StringComparison.Ordinal);
        Assert.True(z < a && a < m);
        Assert.Contains("\"z\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}", header);
        Assert.Contains("\"a\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[12,20]}", header);
        Assert.Contains("\"m\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[20,24]}", header);
    }

    [Fact]
    public void Writer_rejects_caller_mistakes_with_ArgumentException()
    {
        Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(new[] { Entry("a", Tensor.Scalar(1f)), Entry("a", Tensor.Scalar(2f)) }));
        Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(new[] { Entry("__metadata__", Tensor.Scalar(1f)) }));
        Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(new[] { Entry("a", null!) }));
        Assert.Throws<ArgumentNullException>(() => SafeTensors.Serialize(null!));
    }

    [Fact]
    public void Open_keeps_the_file_until_disposed_and_reads_lazily()
    {
        using var dir = new TempDir();
        string path = dir.File("w.safetensors");
        SafeTensors.Write(path, new[] { Entry("w", Tensor.FromArray(new[] { 1f, 2f }, 2)) });
        var file = SafeTensorsFile.Open(path);
        Assert.Equal(new[] { 1f, 2f }, file.Read("w").Floats.ToArray());
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.Read("w"));
        Assert.Equal(new[] { 2 }, file.GetSpec("w").Shape); // the header stays available
    }

    [Fact]
    public void TensorSpec_has_value_equality_on_the_shape()
    {
        var a = new TensorSpec("w", DType.Float32, new[] { 2, 3 });
        var b = new TensorSpec("w", DType.Float32, new[] { 2, 3 });
        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, new TensorSpec("w", DType.Float32, new[] { 3, 2 }));
        Assert.NotEqual(a, new TensorSpec("w", DType.Int32, new[] { 2, 3 }));
        Assert.NotEqual(a, new TensorSpec("v", DType.Float32, new[] { 2, 3 }));
        Assert.Equal("w: F32 [2, 3]", a.ToString());
        Assert.Equal(default(TensorSpec), default(TensorSpec));
    }

    [Fact]
    public void GetSpec_returns_a_copy_of_the_shape()
    {
        using var file = SafeTensorsFile.Parse(SafeTensors.Serialize(new[] { Entry("w", Tensor.Zeros(2, 3)) }));
        file.GetSpec("w").Shape[0] = 99;
        Assert.Equal(new[] { 2, 3 }, file.GetSpec("w").Shape);
    }

    internal static string HeaderText(byte[] file)
    {
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        return Encoding.UTF8.GetString(file, 8, (int)n);
    }
}
