using Aot.Dsl;
using Aot.Runtime.Npu;
using Samples.Npu;

// The NPU-1 sample: compiles models to the simulated accelerator (docs/npu/isa.md), runs them on the simulator next
// to the eager reference, prints the simulator's report and the compiler's predictions, and writes a Chrome trace.
string tracePath = args.Length > 0 ? args[0] : "npu-trace.json";

// 1. A transformer encoder block in fp16.
var block = new EncoderBlock();
Randomize(EncoderBlock.WeightSpecs, seed: 1, block.LoadWeights);
var x = Tensor.Random(100, -1f, 1f, 1, EncoderBlock.Seq, EncoderBlock.DModel);
var npu = block.CompileNpu();
var y = npu.Run(x);
var report = npu.LastReport!;
Console.WriteLine("== EncoderBlock on NPU-1 (fp16) ==");
Console.WriteLine(report.Format());
Console.WriteLine("kernel                     predicted   simulated");
foreach (var kernel in npu.Kernels)
{
    long simulated = report.Marks.Single(m => m.Name == kernel.Name).Cycles;
    Console.WriteLine($"{kernel.Name,-24} {kernel.PredictedCycles,11:N0} {simulated,11:N0}  ({(double)kernel.PredictedCycles / simulated:F3})");
}

Console.WriteLine($"max |npu - eager| = {MaxRelativeError(y, block.Forward(x)):P3} of max |eager|");
using (var trace = File.Create(tracePath)) npu.WriteTrace(trace);
Console.WriteLine($"trace: {Path.GetFullPath(tracePath)} (open it in https://ui.perfetto.dev)");

// 2. An MLP in int8, calibrated on 16 sample batches; its accuracy drop against fp32.
var classifier = new Classifier();
Randomize(Classifier.WeightSpecs, seed: 50, classifier.LoadWeights);
var calibration = Enumerable.Range(0, 16).Select(i => new[] { Tensor.Random(1000 + i, 0f, 1f, 8, 784) }).ToList();
var int8 = classifier.CompileNpu(new NpuRunOptions { Precision = NpuPrecision.Int8, Calibration = calibration });
int agree = 0, total = 0;
double worst = 0;
for (int b = 0; b < 8; b++)
{
    var images = Tensor.Random(2000 + b, 0f, 1f, 8, 784);
    var quantized = int8.Run(images);
    var reference = classifier.Forward(images);
    worst = Math.Max(worst, MaxRelativeError(quantized, reference));
    for (int row = 0; row < 8; row++)
    {
        agree += ArgMax(quantized, row) == ArgMax(reference, row) ? 1 : 0;
        total++;
    }
}

Console.WriteLine();
Console.WriteLine("== Classifier on NPU-1 (int8, per-channel weights, per-tensor activations) ==");
Console.WriteLine($"cycles per batch of 8: {int8.LastReport!.TotalCycles:N0}; top-1 agreement with fp32: {agree}/{total}; max |int8 - fp32| = {worst:P2} of max |fp32|");

// Random weights (layernorm gains near 1) through a safetensors file, as real weights would arrive.
static void Randomize(IReadOnlyList<Aot.Runtime.TensorSpec> specs, int seed, Action<string> load)
{
    var weights = new Dictionary<string, Tensor>();
    foreach (var spec in specs)
    {
        float bound = spec.Shape.Length == 2 ? MathF.Sqrt(6f / spec.Shape[1]) : 0.1f;
        weights[spec.Name] = spec.Name.StartsWith("Ln", StringComparison.Ordinal) && spec.Name.EndsWith('W')
            ? Tensor.Random(seed++, 0.9f, 1.1f, spec.Shape)
            : Tensor.Random(seed++, -bound, bound, spec.Shape);
    }

    string path = Path.Combine(Path.GetTempPath(), $"npu-sample-{Environment.ProcessId}-{seed}.safetensors");
    Aot.Runtime.SafeTensors.Write(path, weights);
    load(path);
    File.Delete(path);
}

static double MaxRelativeError(Tensor ours, Tensor reference)
{
    double scale = 0, worst = 0;
    for (int i = 0; i < reference.Length; i++) scale = Math.Max(scale, Math.Abs(reference.Floats[i]));
    for (int i = 0; i < reference.Length; i++) worst = Math.Max(worst, Math.Abs(ours.Floats[i] - reference.Floats[i]));
    return worst / scale;
}

static int ArgMax(Tensor t, int row)
{
    int cols = t.Length / 8, best = 0;
    for (int c = 1; c < cols; c++) best = t.Floats[row * cols + c] > t.Floats[row * cols + best] ? c : best;
    return best;
}
