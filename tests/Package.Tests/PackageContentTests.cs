using System.IO.Compression;
using System.Xml.Linq;

namespace Package.Tests;

/// <summary>What the two packages contain and declare (`unzip -l` in test form).</summary>
[Collection(DotnetBuilds.Name)]
public class PackageContentTests
{
    private readonly PackagesFixture _packages;

    public PackageContentTests(PackagesFixture packages) => _packages = packages;

    [Fact]
    public void CompilerPackageHasTheLibrariesTheGeneratorAndTheBuildFilesAndNothingElse()
    {
        var files = Entries(_packages.Package("Aot.Compiler"));
        Assert.Equal(new[]
        {
            "Aot.Compiler.nuspec",
            "README.md",
            "analyzers/dotnet/cs/Aot.CodeFixes.dll",
            "analyzers/dotnet/cs/Aot.Generator.dll",
            "build/Aot.Compiler.props",
            "build/Aot.Compiler.targets",
            "buildTransitive/Aot.Compiler.props",
            "buildTransitive/Aot.Compiler.targets",
            "lib/net8.0/Aot.Dsl.dll",
            "lib/net8.0/Aot.Dsl.xml",
            "lib/net8.0/Aot.Runtime.dll",
            "lib/net8.0/Aot.Runtime.xml",
            "tools/onnx/Aot.Dsl.dll",
            "tools/onnx/Aot.Onnx.dll",
            "tools/onnx/Aot.OnnxImport.deps.json",
            "tools/onnx/Aot.OnnxImport.dll",
            "tools/onnx/Aot.OnnxImport.runtimeconfig.json",
            "tools/onnx/Aot.Runtime.dll",
            "tools/onnx/System.Numerics.Tensors.dll",
        }, files);
        Assert.DoesNotContain(files, f => f.Contains("CodeAnalysis", StringComparison.OrdinalIgnoreCase));

        var symbols = Entries(_packages.Package("Aot.Compiler", "snupkg"));
        Assert.Contains("lib/net8.0/Aot.Dsl.pdb", symbols);
        Assert.Contains("lib/net8.0/Aot.Runtime.pdb", symbols);
    }

    [Fact]
    public void CompilerPackageMetadataAndDependencies()
    {
        var nuspec = Nuspec(_packages.Package("Aot.Compiler"), "Aot.Compiler");
        Assert.Equal("Aot.Compiler", Element(nuspec, "id"));
        Assert.Equal(Repo.Version, Element(nuspec, "version"));
        Assert.False(string.IsNullOrWhiteSpace(Element(nuspec, "description")));
        var license = nuspec.Descendants().Single(e => e.Name.LocalName == "license");
        Assert.Equal(("expression", "MIT"), ((string?)license.Attribute("type"), license.Value));
        Assert.Equal("README.md", Element(nuspec, "readme"));
        var repository = nuspec.Descendants().Single(e => e.Name.LocalName == "repository");
        Assert.Equal("git", (string?)repository.Attribute("type"));
        Assert.Equal("https://github.com/aot-tensor/aot", (string?)repository.Attribute("url"));

        var dependencies = Dependencies(nuspec);
        Assert.Contains(dependencies, d => d.Id == "System.Numerics.Tensors");
        // CPU-only and NativeAOT apps reference this package alone: it must never bring ILGPU.
        Assert.DoesNotContain(dependencies, d => d.Id.Contains("ILGPU", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(dependencies, d => d.Id.StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal));
    }

    [Fact]
    public void BuildPropsExposeEveryKnobToTheGenerator()
    {
        using var zip = ZipFile.OpenRead(_packages.Package("Aot.Compiler"));
        foreach (var folder in new[] { "build", "buildTransitive" })
        {
            using var stream = zip.GetEntry($"{folder}/Aot.Compiler.props")!.Open();
            var visible = XDocument.Load(stream).Descendants().Where(e => e.Name.LocalName == "CompilerVisibleProperty")
                .Select(e => (string?)e.Attribute("Include")).ToArray();
            Assert.Equal(new[] { "AotDumpIR", "AotDisabledPasses", "AotTargets", "AotInstructionSet", "AotTuningFile" }, visible);
        }
    }

    [Fact]
    public void GpuPackageHasOnlyTheGpuRuntimeAndDependsOnTheCompilerAndIlgpu()
    {
        Assert.Equal(new[]
        {
            "Aot.Compiler.Gpu.nuspec",
            "README.md",
            "lib/net8.0/Aot.Runtime.Gpu.dll",
            "lib/net8.0/Aot.Runtime.Gpu.xml",
        }, Entries(_packages.Package("Aot.Compiler.Gpu")));

        var nuspec = Nuspec(_packages.Package("Aot.Compiler.Gpu"), "Aot.Compiler.Gpu");
        Assert.Equal("Aot.Compiler.Gpu", Element(nuspec, "id"));
        var dependencies = Dependencies(nuspec);
        var compiler = Assert.Single(dependencies, d => d.Id == "Aot.Compiler");
        Assert.Equal(Repo.Version, compiler.Version);
        // The generator and build files of Aot.Compiler must reach an app that references only Aot.Compiler.Gpu.
        Assert.True(compiler.Exclude is null or "", $"Aot.Compiler's assets are excluded: {compiler.Exclude}");
        Assert.Contains(dependencies, d => d.Id == "ILGPU" && d.Version == "1.5.3");
    }

    internal sealed record Dependency(string Id, string? Version, string? Exclude);

    private static string[] Entries(string package)
    {
        Assert.True(File.Exists(package), $"{package} was not packed");
        using var zip = ZipFile.OpenRead(package);
        return zip.Entries.Select(e => e.FullName)
            .Where(n => !n.StartsWith("_rels/", StringComparison.Ordinal) && !n.StartsWith("package/", StringComparison.Ordinal) && n != "[Content_Types].xml")
            .OrderBy(n => n, StringComparer.Ordinal)
            .ToArray();
    }

    private static XDocument Nuspec(string package, string id)
    {
        using var zip = ZipFile.OpenRead(package);
        using var stream = zip.GetEntry(id + ".nuspec")!.Open();
        return XDocument.Load(stream);
    }

    private static string? Element(XDocument nuspec, string name) =>
        nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;

    private static Dependency[] Dependencies(XDocument nuspec) =>
        nuspec.Descendants().Where(e => e.Name.LocalName == "dependency")
            .Select(e => new Dependency((string)e.Attribute("id")!, (string?)e.Attribute("version"), (string?)e.Attribute("exclude")))
            .ToArray();
}
