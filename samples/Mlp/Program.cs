using System.Diagnostics;
using Aot.Dsl;
using Samples.Mlp;

// `--first-result-only`: make and load the weights, compile, run once, print the first result and exit (the NativeAOT
// test measures process start to this first inference). `--weights FILE`: load that safetensors file (fc1.weight,
// fc1.bias, ... as in MnistMlp) instead of making one, as a deployed app would (tests/Benchmarks times this).
bool firstResultOnly = args.Contains("--first-result-only");
int weightsArg = Array.IndexOf(args, "--weights");
string? weightsFile = weightsArg >= 0 && weightsArg + 1 < args.Length ? args[weightsArg + 1] : null;

var model = new MnistMlp();
if (weightsFile is not null)
{
    model.LoadWeights(weightsFile);
}
else
{
    // 1. Make deterministic weights (He-style uniform init) and save them the way a PyTorch user would export them.
    var weights = new Dictionary<string, Tensor>();
    int seed = 1;
    foreach (var spec in MnistMlp.WeightSpecs)
    {
        int fanIn = spec.Shape.Length == 2 ? spec.Shape[1] : 512;
        float bound = MathF.Sqrt(6f / fanIn);
        weights[spec.Name] = Tensor.Random(seed++, -bound, bound, spec.Shape);
    }

    string path = Path.Combine(Path.GetTempPath(), $"mnist-mlp-{Environment.ProcessId}.safetensors");
    Aot.Runtime.SafeTensors.Write(path, weights);
    model.LoadWeights(path);
    File.Delete(path);
}

// 2. Compile once (copies the weights into the compiled instance) and run on a deterministic image.
var compiled = model.Compile();
var image = Tensor.Random(42, 0f, 1f, 1, 784);
var ours = new float[10];
compiled.Run(image.Floats, ours);
if (firstResultOnly)
{
    Console.WriteLine($"prediction: {Array.IndexOf(ours, ours.Max())} (p = {ours.Max():F4})");
    Console.WriteLine($"first_result_ms: {(DateTime.Now - Process.GetCurrentProcess().StartTime).TotalMilliseconds:F1}");
    return 0;
}

var eager = model.Forward(image);

float maxAbsDiff = 0;
for (int i = 0; i < ours.Length; i++) maxAbsDiff = MathF.Max(maxAbsDiff, MathF.Abs(ours[i] - eager.Floats[i]));
Console.WriteLine($"prediction: {Array.IndexOf(ours, ours.Max())} (p = {ours.Max():F4})");
Console.WriteLine($"max_abs_diff: {maxAbsDiff:E3}");

// 3. Median latency of each path (this is a sample, not a benchmark: see tests/ for measurements).
double Median(Action run, int iterations)
{
    for (int i = 0; i < 5; i++) run();
    var samples = new double[iterations];
    for (int i = 0; i < iterations; i++)
    {
        long start = Stopwatch.GetTimestamp();
        run();
        samples[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
    }

    Array.Sort(samples);
    return samples[iterations / 2];
}

Console.WriteLine($"compiled median: {Median(() => compiled.Run(image.Floats, ours), 200):F1} us");
Console.WriteLine($"eager median: {Median(() => model.Forward(image), 50):F1} us");
return maxAbsDiff <= 1e-4f ? 0 : 1;
