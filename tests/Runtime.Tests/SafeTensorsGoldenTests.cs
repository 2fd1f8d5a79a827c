using System.Text;
using Aot.Dsl;
using Aot.Runtime;
using static Aot.Runtime.Tests.SafeTensorsTestUtil;

namespace Aot.Runtime.Tests;

/// <summary>Byte-exact files written out by hand, to pin the format itself rather than self-consistency.</summary>
public class SafeTensorsGoldenTests
{
    // 138 characters of JSON, padded with 6 spaces to 144 = 0x90.
    private const string GoldenJson =
        "{\"__metadata__\":{\"format\":\"pt\"}," +
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," +
        "\"b\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[8,12]}}";

    private static byte[] GoldenBytes()
    {
        var bytes = new List<byte>();
        bytes.AddRange(new byte[] { 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 }); // N = 144, u64 little-endian
        bytes.AddRange(Encoding.ASCII.GetBytes(GoldenJson));
        bytes.AddRange(Encoding.ASCII.GetBytes("      "));                               // 6 spaces of padding
        bytes.AddRange(new byte[] { 0x00, 0x00, 0x80, 0x3F });                          // a[0] = 1.0f
        bytes.AddRange(new byte[] { 0x00, 0x00, 0x20, 0xC0 });                          // a[1] = -2.5f
        bytes.AddRange(new byte[] { 0x07, 0x00, 0x00, 0x00 });                          // b = 7
        return bytes.ToArray();
    }

    [Fact]
    public void Golden_header_is_138_characters()
    {
        Assert.Equal(138, GoldenJson.Length);
        Assert.Equal(8 + 144 + 12, GoldenBytes().Length);
    }

    [Fact]
    public void Serialize_produces_the_golden_bytes()
    {
        var bytes = SafeTensors.Serialize(
            new[] { Entry("a", Tensor.FromArray(new[] { 1f, -2.5f }, 2)), Entry("b", Tensor.FromArray(new[] { 7 })) },
            new Dictionary<string, string> { ["format"] = "pt" });
        Assert.Equal(GoldenBytes(), bytes);
    }

    [Fact]
    public void Parse_reads_the_golden_bytes()
    {
        using var file = SafeTensorsFile.Parse(GoldenBytes(), "golden.safetensors");
        Assert.Equal(new[] { "a", "b" }, file.Names);
        Assert.Equal("pt", Assert.Single(file.Metadata).Value);
        Assert.Equal(new TensorSpec("a", DType.Float32, new[] { 2 }), file.GetSpec("a"));
        Assert.Equal(new TensorSpec("b", DType.Int32, Array.Empty<int>()), file.GetSpec("b"));
        Assert.Equal(new[] { 1f, -2.5f }, file.Read("a").Floats.ToArray());
        Assert.Equal(7, file.Read("b").Ints[0]);
    }

    [Fact]
    public void Parses_the_reference_implementations_documentation_example()
    {
        // From the safetensors crate docs: b"<\x00\x00\x00\x00\x00\x00\x00{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}" + 16 zero bytes.
        var bytes = new List<byte> { (byte)'<', 0, 0, 0, 0, 0, 0, 0 };
        bytes.AddRange(Encoding.ASCII.GetBytes("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}"));
        bytes.AddRange(new byte[16]);

        using var file = SafeTensorsFile.Parse(bytes.ToArray());
        var t = file.Read("test", DType.Int32, new[] { 2, 2 });
        Assert.Equal(new int[4], t.Ints.ToArray());
    }

    [Fact]
    public void Parses_a_loosely_formatted_header_with_offsets_out_of_header_order()
    {
        // Spaces and newlines, keys in another order, an unknown key, tensors listed in a different order than their data,
        // a null __metadata__, no padding, and an F16 tensor the runtime cannot hold but must still lay out.
        string json = "{ \"b\" : { \"data_offsets\" : [ 8 , 12 ] , \"shape\" : [ ] , \"dtype\" : \"I32\", \"extra\": {\"x\": [1]} },\n" +
                      "  \"half\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [12, 16]},\n" +
                      "  \"__metadata__\": null,\n" +
                      "  \"a\" : { \"dtype\" : \"F32\" , \"shape\" : [ 2 ] , \"data_offsets\" : [ 0 , 8 ] } }";
        var data = new byte[] { 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0, 0x07, 0x00, 0x00, 0x00, 0x00, 0x3C, 0x00, 0xC0 };
        using var file = SafeTensorsFile.Parse(Build(json, data), "loose.safetensors");

        Assert.Equal(new[] { "b", "half", "a" }, file.Names);
        Assert.Empty(file.Metadata);
        Assert.Equal(new[] { 1f, -2.5f }, file.Read("a").Floats.ToArray());
        Assert.Equal(7, file.Read("b").Ints[0]);
        Assert.Equal(new TensorSpec("half", DType.Float16, new[] { 2 }), file.GetSpec("half"));
        var e = Assert.Throws<WeightsException>(() => file.Read("half"));
        Assert.Equal("weights file 'loose.safetensors': tensor 'half' has dtype F16; the eager runtime cannot hold F16 tensors yet (only F32 and I32)", e.Message);
    }

    [Fact]
    public void Dtypes_the_format_defines_but_the_runtime_lacks_are_laid_out_but_not_read()
    {
        // F64 [1] (8 bytes) then U8 [3] (3 bytes) then F32 [1].
        string json = "{\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}," +
                      "\"u\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}," +
                      "\"f\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[11,15]}}";
        var data = new byte[15];
        BitConverter.GetBytes(1.5f).CopyTo(data, 11);
        using var file = SafeTensorsFile.Parse(Build(json, data), "mixed.safetensors");

        Assert.Equal(new[] { "d", "u", "f" }, file.Names);
        Assert.Equal(1.5f, file.Read("f").Floats[0]);
        var e = Assert.Throws<WeightsException>(() => file.GetSpec("d"));
        Assert.Equal("weights file 'mixed.safetensors': tensor 'd' has dtype F64, which this runtime does not support", e.Message);
        e = Assert.Throws<WeightsException>(() => file.Read("u"));
        Assert.Contains("cannot hold U8 tensors yet", e.Message);
        e = Assert.Throws<WeightsException>(() => file.Read("d", DType.Float32, new[] { 1 }));
        Assert.Equal("weights file 'mixed.safetensors': tensor 'd' has dtype F64, the model declares F32", e.Message);
    }
}
