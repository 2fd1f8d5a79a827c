using Aot.Dsl;
using Aot.Onnx;
using Aot.Runtime;
using Aot.Tests.Onnx;
using static Aot.Tests.Onnx.OnnxAttr;

namespace Onnx.Tests;

/// <summary>Initializers stored next to the model (external data), and the safetensors file the importer writes.</summary>
public sealed class ExternalDataTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aot-onnx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteModel(string location, float[] weight, long offset)
    {
        var g = new OnnxGraph("ext");
        var t = OnnxTensor.Of(weight, 4, 3) with { External = (location, offset, weight.Length * 4L) };
        g.Output(g.Op("Gemm", new[] { g.Input("x", 2, 3), g.Initializer("fc.weight", t) }, Int("transB", 1)), 2, 4);
        string path = Path.Combine(_dir, "model.onnx");
        File.WriteAllBytes(path, g.ToModel());
        return path;
    }

    [Fact]
    public void ExternalWeightsLandInTheSafetensorsFile()
    {
        var weight = Aot.Dsl.Tensor.Random(3, -1f, 1f, 4, 3).Floats.ToArray();
        var bytes = new byte[16 + weight.Length * 4];
        OnnxTensor.Of(weight, 4, 3).Raw().CopyTo(bytes, 16);
        File.WriteAllBytes(Path.Combine(_dir, "weights.bin"), bytes);
        string model = WriteModel("weights.bin", weight, offset: 16);

        var import = OnnxImporter.ImportFile(model, new OnnxImportOptions { ClassName = "Ext" });
        Assert.Contains("// Imported from model.onnx", import.Source);
        string safetensors = Path.Combine(_dir, "Ext.safetensors");
        import.WriteWeights(safetensors);
        using var file = SafeTensorsFile.Open(safetensors);
        var read = file.Read("fc.weight", DType.Float32, new[] { 4, 3 });
        Assert.Equal(weight, read.Floats.ToArray());
    }

    [Theory]
    [InlineData("../outside.bin", "outside the model's folder")]
    [InlineData("missing.bin", "does not exist")]
    public void BadExternalLocationsAreMalformed(string location, string expected)
    {
        string model = WriteModel(location, new float[12], offset: 0);
        var e = Assert.Throws<OnnxFormatException>(() => OnnxImporter.ImportFile(model, new OnnxImportOptions { ClassName = "Ext" }));
        Assert.Contains(expected, e.Message);
        Assert.Contains("'fc.weight'", e.Message);
    }

    [Fact]
    public void ExternalDataPastTheEndIsMalformed()
    {
        File.WriteAllBytes(Path.Combine(_dir, "short.bin"), new byte[40]);
        string model = WriteModel("short.bin", new float[12], offset: 0);
        var e = Assert.Throws<OnnxFormatException>(() => OnnxImporter.ImportFile(model, new OnnxImportOptions { ClassName = "Ext" }));
        Assert.Contains("past the end", e.Message);
    }
}
