using System.Globalization;
using Aot.Tests.Onnx;
using Package.Tests;
using static Aot.Tests.Onnx.OnnxAttr;

namespace Onnx.Tests;

/// <summary>
/// The &lt;AotOnnxModel&gt; item end to end: an app (in a temporary folder, referencing the repository's projects as
/// samples/Mlp does, with their outputs already built: BuildProjectReferences=false) declares an .onnx file, builds, and
/// runs the imported model from the copied weights; a second build skips the import.
/// </summary>
public sealed class MsBuildTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aot-onnx-app-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AppWithAnOnnxItemBuildsImportsIncrementallyAndMatchesOnnxRuntime()
    {
        string root = Repo.Root.TrimEnd('/', '\\');
        var g = new OnnxGraph("tiny");
        var h = g.Op("Relu", g.Op("Gemm", new[] { g.SymbolicInput("x", new[] { 0, 4 }, new[] { "batch", null }), g.Initializer("fc.weight", Aot.Dsl.Tensor.Random(5, -1f, 1f, 3, 4).Floats, 3, 4), g.Initializer("fc.bias", new float[] { 0.1f, -0.2f, 0.3f }, 3) }, Int("transB", 1)));
        g.Output(g.Op("Softmax", h, Int("axis", 1)));
        byte[] model = g.ToModel(opset: 13);
        File.WriteAllBytes(Path.Combine(_dir, "tiny.onnx"), model);
        File.WriteAllText(Path.Combine(_dir, "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <ProjectReference Include="{root}/src/Dsl/Aot.Dsl.csproj" />
                <ProjectReference Include="{root}/src/Runtime/Aot.Runtime.csproj" />
                <ProjectReference Include="{root}/src/Generator/Aot.Generator.csproj" OutputItemType="Analyzer" ReferenceOutputAssembly="false" />
                <ProjectReference Include="{root}/src/OnnxImport/Aot.OnnxImport.csproj" ReferenceOutputAssembly="false" OutputItemType="AotOnnxImporter" />
              </ItemGroup>
              <ItemGroup>
                <AotOnnxModel Include="tiny.onnx" ClassName="App.Models.Tiny" Dims="batch=2" />
              </ItemGroup>
              <Import Project="{root}/nuget/Aot/build/Aot.Compiler.props" />
              <Import Project="{root}/nuget/Aot/build/Aot.Compiler.targets" />
            </Project>
            """);
        File.WriteAllText(Path.Combine(_dir, "Program.cs"), """
            using System.Globalization;
            var model = new App.Models.Tiny();
            model.LoadWeights(Path.Combine(AppContext.BaseDirectory, "Tiny.safetensors"));
            var x = Aot.Dsl.Tensor.Random(11, -1f, 1f, 2, 4);
            using var compiled = model.Compile();
            var y = compiled.Run(x);
            Console.WriteLine("output: " + string.Join(" ", y.Floats.ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
            """);

        string build = $"build -c {Repo.Configuration} -p:BuildProjectReferences=false -v:n";
        var first = Dotnet.Run(build, _dir);
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Contains("tiny.onnx -> ", first.Output);
        string bin = Path.Combine(_dir, "bin", Repo.Configuration, "net10.0");
        Assert.True(File.Exists(Path.Combine(bin, "Tiny.safetensors")));

        var run = Dotnet.Exec("dotnet", Path.Combine(bin, "App.dll"), _dir);
        Assert.True(run.ExitCode == 0, run.Output);
        var ours = run.Lines.Single(l => l.StartsWith("output: ", StringComparison.Ordinal))["output: ".Length..]
            .Split(' ').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var expected = Ort.Run(model, new[] { ("x", Aot.Dsl.Tensor.Random(11, -1f, 1f, 2, 4)) });
        Tolerance.AssertClose(expected, Aot.Dsl.Tensor.FromArray(ours, 2, 3), "app output");

        var second = Dotnet.Run(build, _dir);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.DoesNotContain("tiny.onnx -> ", second.Output);
        Assert.Contains("Skipping target \"_AotOnnxImport\"", second.Output);
    }

    [Fact]
    public void UnsupportedModelFailsTheBuildWithTheImportersMessage()
    {
        string root = Repo.Root.TrimEnd('/', '\\');
        var g = new OnnxGraph("bad");
        g.Output(g.Op("Hardmax", g.Input("x", 2, 3)));
        File.WriteAllBytes(Path.Combine(_dir, "bad.onnx"), g.ToModel());
        File.WriteAllText(Path.Combine(_dir, "Bad.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <AotOnnxImporterPath>{root}/src/OnnxImport/bin/{Repo.Configuration}/net8.0/Aot.OnnxImport.dll</AotOnnxImporterPath>
              </PropertyGroup>
              <ItemGroup>
                <AotOnnxModel Include="bad.onnx" ClassName="Bad" />
              </ItemGroup>
              <Import Project="{root}/nuget/Aot/build/Aot.Compiler.targets" />
            </Project>
            """);
        var result = Dotnet.Run($"build -c {Repo.Configuration}", _dir);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("error AOT2001", result.Output);
        Assert.Contains("operator 'Hardmax' is not supported", result.Output);
    }
}
