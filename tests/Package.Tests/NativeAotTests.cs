using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Package.Tests;

/// <summary>
/// samples/Mlp published with NativeAOT (the README's command): zero trim/AOT/single-file warnings, a binary that
/// runs and matches the eager reference, and its size and process-start-to-first-inference time in the test output.
/// </summary>
[Collection(DotnetBuilds.Name)]
public class NativeAotTests
{
    private readonly ITestOutputHelper _output;

    public NativeAotTests(PackagesFixture packages, ITestOutputHelper output)
    {
        _ = packages; // the collection's fixture: packed once for all the tests that build
        _output = output;
    }

    [Fact]
    public void MlpSamplePublishesWithoutWarningsAndTheBinaryMatchesEager()
    {
        var dir = Directory.CreateTempSubdirectory("aot-nativeaot-");
        try
        {
            string project = Path.Combine(Repo.Root, "samples", "Mlp", "Mlp.csproj");
            var publish = Dotnet.Run(
                $"publish \"{project}\" -c Release -r linux-x64 -p:PublishAot=true -p:IlcInstructionSet=x86-64-v3 -o \"{dir.FullName}\" -nodeReuse:false",
                Repo.Root, timeout: TimeSpan.FromMinutes(8));
            _output.WriteLine($"publish: {publish.Elapsed.TotalSeconds:F1} s");
            Assert.True(publish.ExitCode == 0, publish.Output);
            var warnings = publish.Lines.Where(l => l.Contains("warning", StringComparison.OrdinalIgnoreCase) && !Regex.IsMatch(l, @"^\s*0 Warning\(s\)")).ToArray();
            Assert.True(warnings.Length == 0, "the publish warned:\n" + string.Join("\n", warnings));

            string binary = Path.Combine(dir.FullName, "Mlp");
            Assert.True(File.Exists(binary), "no native binary in " + dir.FullName);
            _output.WriteLine($"binary size: {new FileInfo(binary).Length / 1024.0 / 1024.0:F2} MiB ({new FileInfo(binary).Length} bytes)");

            var run = Dotnet.Exec(binary, "", dir.FullName);
            _output.WriteLine(run.Output);
            Assert.True(run.ExitCode == 0, run.Output);
            var match = Regex.Match(run.Output, @"max_abs_diff: (\S+)");
            Assert.True(match.Success, run.Output);
            Assert.InRange(double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), 0, 1e-4);

            // Process start to the first compiled inference (weights made and loaded, model compiled, one Run), measured
            // from outside: from Process.Start to the line the sample prints right after that first Run.
            var times = new List<double>();
            string reported = "";
            for (int i = 0; i < 5; i++)
            {
                var (elapsed, output) = TimeToFirstResult(binary, dir.FullName);
                times.Add(elapsed.TotalMilliseconds);
                reported = Regex.Match(output, @"first_result_ms: (\S+)").Groups[1].Value;
            }

            times.Sort();
            _output.WriteLine($"start to first result (external, 5 runs): median {times[2]:F1} ms, min {times[0]:F1} ms, max {times[4]:F1} ms; the process's own count (last run): {reported} ms");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The NPU path (loader, simulator, report, trace) is NativeAOT-clean: samples/Npu publishes without a
    /// warning, and the native binary runs the transformer block and the int8 MLP and writes its trace.</summary>
    [Fact]
    public void NpuSamplePublishesWithoutWarningsAndRuns()
    {
        var dir = Directory.CreateTempSubdirectory("aot-nativeaot-npu-");
        try
        {
            string project = Path.Combine(Repo.Root, "samples", "Npu", "Npu.csproj");
            var publish = Dotnet.Run(
                $"publish \"{project}\" -c Release -r linux-x64 -p:PublishAot=true -o \"{dir.FullName}\" -nodeReuse:false",
                Repo.Root, timeout: TimeSpan.FromMinutes(8));
            _output.WriteLine($"publish: {publish.Elapsed.TotalSeconds:F1} s");
            Assert.True(publish.ExitCode == 0, publish.Output);
            var warnings = publish.Lines.Where(l => l.Contains("warning", StringComparison.OrdinalIgnoreCase) && !Regex.IsMatch(l, @"^\s*0 Warning\(s\)")).ToArray();
            Assert.True(warnings.Length == 0, "the publish warned:\n" + string.Join("\n", warnings));

            string binary = Path.Combine(dir.FullName, "Npu");
            string trace = Path.Combine(dir.FullName, "trace.json");
            _output.WriteLine($"binary size: {new FileInfo(binary).Length / 1024.0 / 1024.0:F2} MiB");
            var run = Dotnet.Exec(binary, $"\"{trace}\"", dir.FullName);
            _output.WriteLine(run.Output);
            Assert.True(run.ExitCode == 0, run.Output);
            var error = Regex.Match(run.Output, @"max \|npu - eager\| = ([0-9.]+) ?%");
            Assert.True(error.Success, run.Output);
            Assert.InRange(double.Parse(error.Groups[1].Value, CultureInfo.InvariantCulture), 0, 1.0);
            Assert.True(new FileInfo(trace).Length > 1000, "no trace written");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static (TimeSpan Elapsed, string Output) TimeToFirstResult(string binary, string workingDirectory)
    {
        var psi = new ProcessStartInfo(binary, "--first-result-only")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(psi)!;
        string? first = process.StandardOutput.ReadLine();
        var elapsed = stopwatch.Elapsed;
        string rest = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)), "the binary did not exit");
        Assert.True(process.ExitCode == 0 && first is not null && first.StartsWith("prediction:", StringComparison.Ordinal), first + "\n" + rest);
        return (elapsed, first + "\n" + rest);
    }
}
