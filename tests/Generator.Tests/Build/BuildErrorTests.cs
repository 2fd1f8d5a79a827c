using System.Diagnostics;

namespace Generator.Tests.Build;

/// <summary>
/// The user's view: a project with a shape mistake fails `dotnet build` with the diagnostic's ID at file(line,col).
/// Builds a throwaway project that references the freshly built generator and DSL assemblies (no package feed).
/// </summary>
public class BuildErrorTests
{
    [Fact]
    public void ShapeErrorFailsDotnetBuildWithIdAndLocation()
    {
        var dir = Directory.CreateTempSubdirectory("aot-build-error-");
        try
        {
            string bin = AppContext.BaseDirectory;
            File.WriteAllText(Path.Combine(dir.FullName, "BadModel.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                  </PropertyGroup>
                  <ItemGroup>
                    <Reference Include="{Path.Combine(bin, "Aot.Dsl.dll")}" />
                    <Reference Include="{Path.Combine(bin, "Aot.Runtime.dll")}" />
                    <Analyzer Include="{Path.Combine(bin, "Aot.Generator.dll")}" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(dir.FullName, "Model.cs"),
                "using Aot.Dsl;\n" +
                "using static Aot.Dsl.Ops;\n" +
                "\n" +
                "[Model]\n" +
                "public partial class Bad\n" +
                "{\n" +
                "    [Weight(784, 512)] public Tensor? W { get; set; }\n" +
                "    public Tensor Forward([Input(1, 784)] Tensor x) => Relu(Linear(x, W!));\n" +
                "}\n");

            var (exitCode, output) = Run("dotnet", $"build \"{dir.FullName}\" -nologo -nodeReuse:false -p:UseSharedCompilation=false --disable-build-servers", dir.FullName);

            Assert.NotEqual(0, exitCode);
            // Line 8, column 61: the Linear(...) call.
            Assert.Contains("Model.cs(8,61): error AOT0001: Linear: input [1, 784] has 784 features, weight [784, 512] expects 512 (weights are [out, in])", output);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static (int ExitCode, string Output) Run(string file, string args, string workingDirectory)
    {
        var psi = new ProcessStartInfo(file, args)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment.Remove("MSBUILDNOINPROCNODE");
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(4)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("dotnet build did not finish in 4 minutes");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
