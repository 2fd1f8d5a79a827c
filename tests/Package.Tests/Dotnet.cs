using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Package.Tests;

/// <summary>Where the repository is and how it was built (stamped into this assembly by the project file).</summary>
internal static class Repo
{
    private static string Metadata(string key) =>
        typeof(Repo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    public static string Root => Path.GetFullPath(Metadata("AotRoot"));

    public static string Configuration => Metadata("Configuration");

    public static string Version => Metadata("Version");
}

/// <summary>Runs the dotnet CLI (or a published binary) as a child process and captures its output.</summary>
internal static class Dotnet
{
    public sealed record Result(int ExitCode, string Output, TimeSpan Elapsed)
    {
        public string[] Lines => Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
    }

    public static Result Run(string args, string workingDirectory, IDictionary<string, string>? environment = null, TimeSpan? timeout = null) =>
        Exec("dotnet", args, workingDirectory, environment, timeout);

    public static Result Exec(string file, string args, string workingDirectory, IDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file, args)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // Plain, parseable output from MSBuild (no terminal logger), and no build servers outliving the test.
        psi.Environment["MSBUILDTERMINALLOGGER"] = "off";
        psi.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        psi.Environment["UseSharedCompilation"] = "false";
        psi.Environment.Remove("MSBUILDNOINPROCNODE");
        // The test host's own MSBuild/`dotnet test` settings must not leak into the child builds.
        psi.Environment.Remove("MSBuildExtensionsPath");
        psi.Environment.Remove("MSBuildSDKsPath");
        psi.Environment.Remove("MSBUILD_EXE_PATH");
        if (environment is not null)
        {
            foreach (var (key, value) in environment) psi.Environment[key] = value;
        }

        var output = new StringBuilder();
        var stopwatch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var limit = timeout ?? TimeSpan.FromMinutes(5);
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{file} {args}` did not finish in {limit.TotalMinutes:F0} minutes:\n{output}");
        }

        process.WaitForExit(); // flushes the asynchronous output readers
        stopwatch.Stop();
        lock (output) return new Result(process.ExitCode, output.ToString(), stopwatch.Elapsed);
    }
}

/// <summary>The tests here run dotnet builds of the repository's projects: one at a time.</summary>
internal static class DotnetBuilds
{
    public const string Name = "dotnet builds";
}
