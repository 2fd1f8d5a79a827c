using System.Text;
using Aot.Dsl;
using Aot.Runtime;
using static Aot.Runtime.Tests.SafeTensorsTestUtil;

namespace Aot.Runtime.Tests;

public class SafeTensorsValidationTests
{
    private const string Prefix = "weights file 'bad.safetensors': ";

    private static WeightsException Fails(byte[] bytes)
    {
        var e = Assert.Throws<WeightsException>(() => SafeTensorsFile.Parse(bytes, "bad.safetensors"));
        Assert.StartsWith(Prefix, e.Message);
        Assert.Equal("bad.safetensors", e.SourceName);
        return e;
    }

    private static WeightsException Fails(string json, int dataLength = 0) => Fails(Build(json, new byte[dataLength]));

    private static string F32(string name, string shape, string offsets) =>
        $"\"{name}\":{{\"dtype\":\"F32\",\"shape\":{shape},\"data_offsets\":{offsets}}}";

    // ---- Framing -----------------------------------------------------------------------------------------

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    public void File_shorter_than_8_bytes(int length)
    {
        var e = Fails(new byte[length]);
        Assert.Equal($"{Prefix}is {length} bytes long; a safetensors file starts with an 8-byte header length", e.Message);
        Assert.Null(e.TensorName);
    }

    [Fact]
    public void Header_length_larger_than_the_file()
    {
        var e = Fails(Build(Encoding.UTF8.GetBytes("{}"), new byte[8], declaredLength: 100));
        Assert.Equal($"{Prefix}declares a 100-byte header, but only 10 bytes follow the 8-byte length (is the file truncated?)", e.Message);
    }

    [Theory]
    [InlineData(100_000_001UL)]
    [InlineData(0x7FFF_FFFF_FFFF_FFFFUL)]
    [InlineData(ulong.MaxValue)]
    public void Absurd_header_length_is_rejected_before_allocating(ulong declared)
    {
        var e = Fails(Build(Encoding.UTF8.GetBytes("{}"), null, declaredLength: declared));
        Assert.Equal($"{Prefix}declares a {declared}-byte header, more than the 100000000-byte limit (is it a safetensors file?)", e.Message);
    }

    [Fact]
    public void Header_length_limit_also_applies_to_files_on_disk()
    {
        using var dir = new TempDir();
        string path = dir.File("huge.safetensors");
        File.WriteAllBytes(path, Build(Encoding.UTF8.GetBytes("{}"), null, declaredLength: ulong.MaxValue));
        var e = Assert.Throws<WeightsException>(() => SafeTensorsFile.Open(path));
        Assert.StartsWith($"weights file '{path}': declares a 18446744073709551615-byte header", e.Message);
    }

    [Fact]
    public void Missing_file_is_a_WeightsException_with_the_IO_error_inside()
    {
        using var dir = new TempDir();
        string path = dir.File("nope.safetensors");
        var e = Assert.Throws<WeightsException>(() => SafeTensorsFile.Open(path));
        Assert.StartsWith($"weights file '{path}': cannot be opened: ", e.Message);
        Assert.IsAssignableFrom<IOException>(e.InnerException);
    }

    // ---- Header syntax -----------------------------------------------------------------------------------

    [Fact]
    public void Header_not_UTF8()
    {
        var e = Fails(Build(new byte[] { (byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}' }));
        Assert.Equal($"{Prefix}header is not valid UTF-8 (bad byte at header offset 2)", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"a\":")]
    [InlineData("{\"a\":{}} trailing")]
    [InlineData("{'a':1}")]
    [InlineData("{\"a\":1,}")]
    public void Header_not_JSON(string json)
    {
        var e = Fails(json);
        Assert.StartsWith($"{Prefix}header is not valid JSON: ", e.Message);
        Assert.IsAssignableFrom<System.Text.Json.JsonException>(e.InnerException);
    }

    [Fact]
    public void Deeply_nested_header_is_not_JSON_we_accept()
    {
        var e = Fails("{\"a\":{\"x\":" + new string('[', 10_000) + new string(']', 10_000) + "}}");
        Assert.StartsWith($"{Prefix}header is not valid JSON: ", e.Message);
    }

    [Theory]
    [InlineData("[1, 2]", "array")]
    [InlineData("\"text\"", "string")]
    [InlineData("42", "number")]
    [InlineData("null", "null")]
    [InlineData("true", "boolean")]
    public void Header_not_an_object(string json, string kind)
    {
        Assert.Equal($"{Prefix}header is a JSON {kind}, not an object", Fails(json).Message);
    }

    [Fact]
    public void Escaped_lone_surrogate_in_a_name()
    {
        var e = Fails("{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4);
        Assert.StartsWith($"{Prefix}header has an unreadable JSON string: ", e.Message);
        e = Fails("{\"__metadata__\":{\"k\":\"\\udc00\"}}");
        Assert.StartsWith($"{Prefix}header has an unreadable JSON string: ", e.Message);
    }

    // ---- Entries -----------------------------------------------------------------------------------------

    [Theory]
    [InlineData("5", "5")]
    [InlineData("[1]", "[1]")]
    [InlineData("\"F32\"", "\"F32\"")]
    [InlineData("null", "null")]
    public void Entry_not_an_object(string entry, string shown)
    {
        var e = Fails("{\"w\":" + entry + "}");
        Assert.Equal($"{Prefix}tensor 'w' has header entry {shown}, expected an object with dtype, shape and data_offsets", e.Message);
        Assert.Equal("w", e.TensorName);
    }

    [Theory]
    [InlineData("{\"shape\":[1],\"data_offsets\":[0,4]}", "dtype")]
    [InlineData("{\"dtype\":\"F32\",\"data_offsets\":[0,4]}", "shape")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[1]}", "data_offsets")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[1],\"offsets\":[0,4]}", "data_offsets")]
    public void Entry_missing_a_key(string entry, string key)
    {
        Assert.Equal($"{Prefix}tensor 'w' has no \"{key}\" in its header entry", Fails("{\"w\":" + entry + "}", 4).Message);
    }

    [Fact]
    public void Entry_with_a_key_twice()
    {
        var e = Fails("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        Assert.Equal($"{Prefix}tensor 'w' has \"dtype\" twice in its header entry", e.Message);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("null")]
    [InlineData("[\"F32\"]")]
    public void Dtype_not_a_string(string dtype)
    {
        var e = Fails("{\"w\":{\"dtype\":" + dtype + ",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        Assert.Equal($"{Prefix}tensor 'w' has dtype {dtype}, expected a string such as \"F32\"", e.Message);
    }

    [Theory]
    [InlineData("F33")]
    [InlineData("f32")]
    [InlineData("float32")]
    [InlineData("")]
    public void Unknown_dtype(string dtype)
    {
        var e = Fails("{\"w\":{\"dtype\":\"" + dtype + "\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        Assert.StartsWith($"{Prefix}tensor 'w' has unknown dtype \"{dtype}\" (the format defines BOOL, U8, I8,", e.Message);
    }

    [Theory]
    [InlineData("\"2x3\"")]
    [InlineData("{}")]
    [InlineData("null")]
    [InlineData("6")]
    public void Shape_not_an_array(string shape)
    {
        Assert.Equal($"{Prefix}tensor 'w' has shape {shape}, expected an array of dimensions", Fails("{" + F32("w", shape, "[0,4]") + "}", 4).Message);
    }

    [Theory]
    [InlineData("[2,1.5]", "1.5", 1)]
    [InlineData("[\"2\"]", "\"2\"", 0)]
    [InlineData("[null]", "null", 0)]
    [InlineData("[[1]]", "[1]", 0)]
    [InlineData("[1e400]", "1e400", 0)]
    [InlineData("[2.0]", "2.0", 0)]
    [InlineData("[1e3]", "1e3", 0)]
    public void Shape_dimension_not_an_integer(string shape, string dim, int axis)
    {
        var e = Fails("{" + F32("w", shape, "[0,4]") + "}", 4);
        Assert.Equal($"{Prefix}tensor 'w' has shape {shape}: dimension {axis} is {dim}, not an integer", e.Message);
    }

    [Theory]
    [InlineData("[2,-3]", 1, "-3")]
    [InlineData("[-99999999999999999999]", 0, "-99999999999999999999")]
    public void Negative_dimension(string shape, int axis, string dim)
    {
        var e = Fails("{" + F32("w", shape, "[0,24]") + "}", 24);
        Assert.Equal($"{Prefix}tensor 'w' has shape {shape}: dimension {axis} is {dim}, negative", e.Message);
    }

    [Theory]
    [InlineData("[3000000000]", "3000000000")]
    [InlineData("[99999999999999999999999]", "99999999999999999999999")]
    public void Dimension_too_large_for_the_runtime(string shape, string dim)
    {
        var e = Fails("{" + F32("w", shape, "[0,4]") + "}", 4);
        Assert.Equal($"{Prefix}tensor 'w' has shape {shape}: dimension 0 is {dim}, larger than 2147483647, the largest dimension this runtime supports", e.Message);
    }

    [Fact]
    public void Element_count_overflow()
    {
        var e = Fails("{" + F32("w", "[2147483647,2147483647,2147483647]", "[0,4]") + "}", 4);
        Assert.Equal($"{Prefix}tensor 'w' has shape [2147483647, 2147483647, 2147483647], whose element count overflows 64 bits", e.Message);
    }

    [Fact]
    public void Byte_size_overflow()
    {
        var e = Fails("{\"w\":{\"dtype\":\"F64\",\"shape\":[2147483647,2147483647,4],\"data_offsets\":[0,8]}}", 8);
        Assert.StartsWith($"{Prefix}tensor 'w' has shape [2147483647, 2147483647, 4] and dtype F64, whose byte size overflows 64 bits", e.Message);
    }

    [Fact]
    public void A_zero_dimension_makes_an_empty_tensor_even_next_to_huge_ones()
    {
        using var file = SafeTensorsFile.Parse(Build("{" + F32("w", "[2147483647,0,2147483647]", "[0,0]") + "}"));
        Assert.Equal(0, file.Read("w").Length);
    }

    [Theory]
    [InlineData("[0]")]
    [InlineData("[0,4,8]")]
    [InlineData("[]")]
    [InlineData("{\"begin\":0,\"end\":4}")]
    [InlineData("\"0-4\"")]
    [InlineData("null")]
    public void Data_offsets_not_a_pair(string offsets)
    {
        Assert.Equal($"{Prefix}tensor 'w' has data_offsets {offsets}, expected [begin, end]", Fails("{" + F32("w", "[1]", offsets) + "}", 4).Message);
    }

    [Theory]
    [InlineData("[0,-4]")]
    [InlineData("[-1,3]")]
    [InlineData("[0,4.0]")]
    [InlineData("[\"0\",4]")]
    [InlineData("[0,null]")]
    [InlineData("[0,18446744073709551616]")]
    public void Data_offsets_not_non_negative_integers(string offsets)
    {
        var e = Fails("{" + F32("w", "[1]", offsets) + "}", 4);
        Assert.Equal($"{Prefix}tensor 'w' has data_offsets {offsets}, expected two non-negative integers [begin, end]", e.Message);
    }

    [Fact]
    public void Data_offsets_descending()
    {
        Assert.Equal($"{Prefix}tensor 'w' has data_offsets [8, 4]: begin is after end", Fails("{" + F32("w", "[1]", "[8,4]") + "}", 8).Message);
    }

    [Theory]
    [InlineData("[0,16]", 8, "[0, 16], outside the 8-byte data buffer")]
    [InlineData("[18446744073709551611,18446744073709551615]", 8, "[18446744073709551611, 18446744073709551615], outside the 8-byte data buffer")]
    public void Data_offsets_outside_the_buffer(string offsets, int dataLength, string detail)
    {
        var e = Fails("{" + F32("w", "[1]", offsets) + "}", dataLength);
        Assert.Equal($"{Prefix}tensor 'w' has data_offsets {detail} (is the file truncated?)", e.Message);
    }

    [Fact]
    public void Data_offsets_disagree_with_shape_and_dtype()
    {
        var e = Fails("{" + F32("w", "[2,3]", "[0,20]") + "}", 20);
        Assert.Equal($"{Prefix}tensor 'w' has data_offsets [0, 20] (20 bytes), but shape [2, 3] of dtype F32 needs 6 * 4 = 24 bytes", e.Message);
    }

    [Fact]
    public void Overlapping_tensors()
    {
        var e = Fails("{" + F32("a", "[2]", "[0,8]") + "," + F32("b", "[2]", "[4,12]") + "}", 12);
        Assert.Equal($"{Prefix}tensor 'b' has data_offsets [4, 12], which overlap tensor 'a' at [0, 8]", e.Message);
    }

    [Fact]
    public void Identical_offsets_overlap()
    {
        var e = Fails("{" + F32("a", "[1]", "[0,4]") + "," + F32("b", "[1]", "[0,4]") + "}", 4);
        Assert.Equal($"{Prefix}tensor 'b' has data_offsets [0, 4], which overlap tensor 'a' at [0, 4]", e.Message);
    }

    [Fact]
    public void Empty_tensor_inside_another_tensor_is_an_overlap()
    {
        var e = Fails("{" + F32("a", "[2]", "[0,8]") + "," + F32("e", "[0]", "[4,4]") + "}", 8);
        Assert.Equal($"{Prefix}tensor 'e' has data_offsets [4, 4], which overlap tensor 'a' at [0, 8]", e.Message);
    }

    [Fact]
    public void Gap_between_tensors()
    {
        var e = Fails("{" + F32("a", "[1]", "[0,4]") + "," + F32("b", "[1]", "[8,12]") + "}", 12);
        Assert.Equal($"{Prefix}tensor 'b' has data_offsets [8, 12], leaving bytes [4, 8) after tensor 'a' (which ends at 4) not covered by any tensor", e.Message);
    }

    [Fact]
    public void Gap_at_the_start()
    {
        var e = Fails("{" + F32("a", "[1]", "[4,8]") + "}", 8);
        Assert.Equal($"{Prefix}tensor 'a' has data_offsets [4, 8], leaving bytes [0, 4) at the start of the data buffer not covered by any tensor", e.Message);
    }

    [Fact]
    public void Trailing_bytes_after_the_last_tensor()
    {
        var e = Fails("{" + F32("a", "[1]", "[0,4]") + "}", 7);
        Assert.Equal($"{Prefix}data buffer is 7 bytes but the tensors end at 4: bytes [4, 7) are not covered by any tensor", e.Message);
    }

    [Fact]
    public void Data_without_any_tensor()
    {
        var e = Fails("{}", 3);
        Assert.Equal($"{Prefix}data buffer is 3 bytes but the header has no tensors: bytes [0, 3) are not covered by any tensor", e.Message);
    }

    [Fact]
    public void Duplicate_tensor_names()
    {
        var e = Fails("{" + F32("w", "[1]", "[0,4]") + "," + F32("w", "[1]", "[4,8]") + "}", 8);
        Assert.Equal($"{Prefix}tensor 'w' appears twice in the header", e.Message);
    }

    [Fact]
    public void Duplicate_names_spelled_differently_in_JSON()
    {
        var e = Fails("{" + F32("w", "[1]", "[0,4]") + "," + F32("\\u0077", "[1]", "[4,8]") + "}", 8);
        Assert.Equal($"{Prefix}tensor 'w' appears twice in the header", e.Message);
    }

    // ---- Metadata ----------------------------------------------------------------------------------------

    [Theory]
    [InlineData("[\"a\"]")]
    [InlineData("\"pt\"")]
    [InlineData("3")]
    public void Metadata_not_an_object(string metadata)
    {
        Assert.Equal($"{Prefix}\"__metadata__\" is {metadata}, expected an object of strings", Fails("{\"__metadata__\":" + metadata + "}").Message);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("null")]
    [InlineData("{\"x\":\"y\"}")]
    [InlineData("true")]
    public void Metadata_value_not_a_string(string value)
    {
        var e = Fails("{\"__metadata__\":{\"format\":\"pt\",\"version\":" + value + "}}");
        Assert.Equal($"{Prefix}\"__metadata__\" key 'version' has value {value}, expected a string", e.Message);
    }

    [Fact]
    public void Metadata_twice()
    {
        Assert.Equal($"{Prefix}header has \"__metadata__\" twice", Fails("{\"__metadata__\":{},\"__metadata__\":{}}").Message);
    }

    [Fact]
    public void Metadata_key_twice()
    {
        Assert.Equal($"{Prefix}\"__metadata__\" has key 'k' twice", Fails("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}").Message);
    }

    // ---- Reading against the model's declarations -------------------------------------------------------

    private static SafeTensorsFile ModelFile() => SafeTensorsFile.Parse(
        SafeTensors.Serialize(new[]
        {
            Entry("W1", Tensor.Zeros(512, 784)),
            Entry("b1", Tensor.Zeros(512)),
            Entry("ids", Tensor.Zeros(DType.Int32, 3)),
            Entry("scale", Tensor.Scalar(1f)),
        }),
        "x.safetensors");

    [Fact]
    public void Shape_mismatch_names_both_shapes()
    {
        using var file = ModelFile();
        var e = Assert.Throws<WeightsException>(() => file.Read("W1", DType.Float32, new[] { 784, 512 }));
        Assert.Equal("weights file 'x.safetensors': tensor 'W1' has shape [512, 784], the model declares [784, 512]", e.Message);
        Assert.Equal("W1", e.TensorName);
        Assert.Equal("x.safetensors", e.SourceName);
    }

    [Theory]
    [InlineData("b1", new[] { 512, 1 }, "[512]", "[512, 1]")]
    [InlineData("scale", new[] { 1 }, "[]", "[1]")]
    [InlineData("b1", new int[0], "[512]", "[]")]
    public void Rank_mismatch_names_both_shapes(string name, int[] declared, string stored, string shown)
    {
        using var file = ModelFile();
        var e = Assert.Throws<WeightsException>(() => file.Read(name, DType.Float32, declared));
        Assert.Equal($"weights file 'x.safetensors': tensor '{name}' has shape {stored}, the model declares {shown}", e.Message);
    }

    [Fact]
    public void Dtype_mismatch_names_both_dtypes()
    {
        using var file = ModelFile();
        var e = Assert.Throws<WeightsException>(() => file.Read("ids", DType.Float32, new[] { 3 }));
        Assert.Equal("weights file 'x.safetensors': tensor 'ids' has dtype I32, the model declares F32", e.Message);
        e = Assert.Throws<WeightsException>(() => file.Read("b1", DType.BFloat16, new[] { 512 }));
        Assert.Equal("weights file 'x.safetensors': tensor 'b1' has dtype F32, the model declares BF16", e.Message);
    }

    [Fact]
    public void Missing_tensor_lists_what_the_file_has()
    {
        using var file = ModelFile();
        var e = Assert.Throws<WeightsException>(() => file.Read("W2", DType.Float32, new[] { 10, 512 }));
        Assert.Equal("weights file 'x.safetensors': tensor 'W2' is not in the file (it has 4 tensors: 'W1', 'b1', 'ids', 'scale')", e.Message);
        Assert.Throws<WeightsException>(() => file.Read("W2"));
        Assert.Throws<WeightsException>(() => file.GetSpec("W2"));
        Assert.False(file.Contains("W2"));
        Assert.True(file.Contains("W1"));
    }

    [Fact]
    public void Missing_tensor_message_is_bounded_for_large_files()
    {
        var tensors = Enumerable.Range(0, 50).Select(i => Entry($"t{i}", Tensor.Scalar(i))).ToArray();
        using var file = SafeTensorsFile.Parse(SafeTensors.Serialize(tensors), "big.safetensors");
        var e = Assert.Throws<WeightsException>(() => file.GetSpec("nope"));
        Assert.Equal("weights file 'big.safetensors': tensor 'nope' is not in the file (it has 50 tensors: 't0', 't1', 't2', 't3', 't4', 't5', 't6', 't7', 't8', 't9', ...)", e.Message);
    }

    [Fact]
    public void Names_from_the_file_are_sanitized_in_messages()
    {
        var e = Fails("{\"bad\\nname\":5}");
        Assert.Equal($"{Prefix}tensor 'bad\\u000aname' has header entry 5, expected an object with dtype, shape and data_offsets", e.Message);
        Assert.Equal("bad\nname", e.TensorName);
    }

    [Fact]
    public void Matching_declaration_reads_the_tensor()
    {
        using var file = ModelFile();
        var t = file.Read("W1", DType.Float32, new[] { 512, 784 });
        Assert.Equal(512 * 784, t.Length);
    }
}
