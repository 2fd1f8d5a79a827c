namespace Package.Tests;

/// <summary>
/// Packs Aot.Compiler and Aot.Compiler.Gpu (already built: this project references the packing projects) into a
/// temporary folder feed, and gives the consumers an isolated NuGet packages folder, so a 0.1.0 cached by an earlier
/// run can never hide a change.
/// </summary>
public sealed class PackagesFixture : IDisposable
{
    public PackagesFixture()
    {
        Root = Directory.CreateTempSubdirectory("aot-packages-").FullName;
        Directory.CreateDirectory(Feed);
        foreach (var project in new[] { "nuget/Aot/Aot.csproj", "nuget/Aot.Gpu/Aot.Gpu.csproj" })
        {
            var pack = Dotnet.Run($"pack \"{Path.Combine(Repo.Root, project)}\" -c {Repo.Configuration} --no-build -o \"{Feed}\" -nodeReuse:false", Repo.Root);
            if (pack.ExitCode != 0)
            {
                Dispose(); // xunit does not dispose a fixture whose constructor threw
                throw new InvalidOperationException($"dotnet pack {project} failed:\n{pack.Output}");
            }

            PackOutput += pack.Output;
        }
    }

    /// <summary>A temporary folder outside the repository; removed at the end.</summary>
    public string Root { get; }

    public string Feed => Path.Combine(Root, "feed");

    /// <summary>NUGET_PACKAGES for the consumer apps (shared by the tests of one run, never the user's cache).</summary>
    public string PackagesFolder => Path.Combine(Root, "nuget-packages");

    public string PackOutput { get; } = "";

    public string Package(string id, string extension = "nupkg") => Path.Combine(Feed, $"{id}.{Repo.Version}.{extension}");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

[CollectionDefinition(DotnetBuilds.Name, DisableParallelization = true)]
public sealed class DotnetBuildsCollection : ICollectionFixture<PackagesFixture>
{
}
