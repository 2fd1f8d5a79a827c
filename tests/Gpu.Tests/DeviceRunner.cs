using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Aot.Dsl;
using Aot.Generator.Backends.Gpu;
using Aot.Generator.IR;
using ILGPU;
using ILGPU.Runtime;
using Xunit.Abstractions;
using DType = Aot.Generator.IR.DType;

namespace Gpu.Tests;

/// <summary>Entry point of the test assembly when run directly (dotnet test does not use it).</summary>
public static class Program
{
    public static int Main(string[] args) => DeviceRunner.Run(args);
}

/// <summary>
/// Runs this assembly's tests outside xunit, on ILGPU's CPU accelerator or (<c>--cuda</c>) the first CUDA device, for a
/// GPU machine that has a .NET runtime but no SDK: <c>dotnet Gpu.Tests.dll --cuda [--filter text] [--bench]</c>.
/// <c>--bench</c> then times the tiled GEMM with every tile shape on a few problem sizes, marking the cost model's choice;
/// <c>--variants</c> times code-generation options (GEMM shared-memory indexing and padding, BK = 16 tiles, the unroll
/// of elementwise loops) and the memory-bound kernels of a transformer layer.
/// </summary>
internal static class DeviceRunner
{
    public static int Run(string[] args)
    {
        GpuFixture.UseCuda = args.Contains("--cuda");
        int f = Array.IndexOf(args, "--filter");
        string? filter = f >= 0 && f + 1 < args.Length ? args[f + 1] : null;
        using var fixture = new GpuFixture();
        var acc = fixture.Accelerator;
        Console.WriteLine($"accelerator: {acc.Name} ({acc.AcceleratorType}), {acc.MemorySize} bytes, {acc.NumMultiprocessors} multiprocessors, max group {acc.MaxNumThreadsPerGroup}");
        int passed = 0, failed = 0;
        var total = Stopwatch.StartNew();
        if (!args.Contains("--no-tests"))
        {
            foreach (var type in typeof(Program).Assembly.GetTypes().Where(t => t.IsPublic && t.IsClass && !t.IsAbstract).OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                foreach (var method in type.GetMethods().Where(m => m.GetCustomAttribute<FactAttribute>() is { Skip: null }))
                {
                    string name = type.Name + "." + method.Name;
                    if (filter is not null && !name.Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
                    var watch = Stopwatch.StartNew();
                    var output = new ConsoleOutput();
                    try
                    {
                        var ctor = type.GetConstructors().Single();
                        var instance = ctor.Invoke(ctor.GetParameters().Select(p => p.ParameterType == typeof(GpuFixture) ? fixture : (object)output).ToArray());
                        GpuCompiledGraphs.Unwrap(() => method.Invoke(instance, null));
                        passed++;
                        Console.WriteLine($"PASS {name} ({watch.Elapsed.TotalSeconds:F1} s)");
                    }
                    catch (Exception e)
                    {
                        failed++;
                        var lines = e.ToString().Split('\n');
                        Console.WriteLine($"FAIL {name} ({watch.Elapsed.TotalSeconds:F1} s): " + string.Join("\n    ", lines.Take(40)));
                    }

                    foreach (var line in output.Lines.Take(60)) Console.WriteLine("    | " + line);
                }
            }

            Console.WriteLine($"tests: {passed} passed, {failed} failed in {total.Elapsed.TotalSeconds:F0} s");
        }

        if (args.Contains("--bench")) GemmBench(acc);
        if (args.Contains("--variants")) VariantBench(acc);
        return failed == 0 ? 0 : 1;
    }

    private sealed class ConsoleOutput : ITestOutputHelper
    {
        public List<string> Lines { get; } = new();

        public void WriteLine(string message) => Lines.Add(message);

        public void WriteLine(string format, params object[] args) => Lines.Add(string.Format(CultureInfo.InvariantCulture, format, args));
    }

    /// <summary>
    /// Milliseconds and GFLOP/s of the tiled GEMM for every tile shape (forced) on a few shapes: the large square
    /// benchmark and the products of a BERT-base layer at 4096 tokens.
    /// </summary>
    private static void GemmBench(Accelerator acc)
    {
        // MatMul shapes, and Gemm with transB (a Linear layer's [out, in] weight) for the transformer's projections.
        var shapes = new (int Batch, int M, int N, int K, bool TransB)[]
        {
            (1, 4096, 4096, 4096, false), (1, 4096, 768, 768, false), (1, 4096, 3072, 768, false), (1, 4096, 768, 3072, false), (96, 512, 512, 64, false), (96, 512, 64, 512, false),
            (1, 4096, 768, 768, true), (1, 4096, 3072, 768, true), (1, 4096, 768, 3072, true),
        };
        var graphs = shapes.Select(s =>
        {
            var g = new GraphBuilder("Bench");
            int a = g.AddInput("a", s.Batch == 1 ? new TensorType(DType.Float32, s.M, s.K) : new TensorType(DType.Float32, s.Batch, s.M, s.K));
            if (s.TransB)
            {
                int bt = g.AddInput("b", new TensorType(DType.Float32, s.N, s.K));
                g.TryAdd(OpKind.Gemm, new[] { a, bt }, Attrs.Of(Attr.OfFloat(AttrNames.Alpha, 1f), Attr.OfFloat(AttrNames.Beta, 1f), Attr.OfInt(AttrNames.TransA, 0L), Attr.OfInt(AttrNames.TransB, 1L)), out int z);
                g.AddOutput(z);
                return g.Build();
            }

            int b = g.AddInput("b", s.Batch == 1 ? new TensorType(DType.Float32, s.K, s.N) : new TensorType(DType.Float32, s.Batch, s.K, s.N));
            g.TryAdd(OpKind.MatMul, new[] { a, b }, Attrs.None, out int y);
            g.AddOutput(y);
            return g.Build();
        }).ToArray();
        var results = new Dictionary<(int Shape, GemmTile Tile), double>();
        foreach (var tile in GpuTiling.Candidates)
        {
            var compiled = GpuCompiledGraphs.Compile(graphs, target: GpuTarget.H100 with { ForcedTile = tile });
            for (int s = 0; s < shapes.Length; s++)
            {
                var (batch, m, n, k, _) = shapes[s];
                using var model = compiled.Instantiate(s, Array.Empty<Tensor>(), acc);
                using var a = acc.Allocate1D<float>((long)batch * m * k);
                using var b = acc.Allocate1D<float>((long)batch * k * n);
                using var y = acc.Allocate1D<float>((long)batch * m * n);
                a.MemSetToZero();
                b.MemSetToZero();
                var run = model.GetType().GetMethod("Run", new[] { typeof(ArrayView<float>), typeof(ArrayView<float>), typeof(ArrayView<float>) })!;
                var args = new object[] { (ArrayView<float>)a.View, (ArrayView<float>)b.View, (ArrayView<float>)y.View };
                run.Invoke(model, args);
                acc.Synchronize();
                int iterations = 0;
                var watch = Stopwatch.StartNew();
                while (iterations < 3 || watch.Elapsed.TotalSeconds < 0.2)
                {
                    run.Invoke(model, args);
                    iterations++;
                    if (iterations % 4 == 0) acc.Synchronize();
                }

                acc.Synchronize();
                results[(s, tile)] = watch.Elapsed.TotalMilliseconds / iterations;
            }
        }

        for (int s = 0; s < shapes.Length; s++)
        {
            var (batch, m, n, k, transB) = shapes[s];
            var chosen = GpuTiling.Choose(batch, m, n, k, GpuTarget.H100).Tile;
            double flops = 2.0 * batch * m * n * k;
            Console.WriteLine($"GEMM batch {batch} m {m} n {n} k {k}{(transB ? " (Gemm, B transposed)" : "")}:");
            foreach (var tile in GpuTiling.Candidates.OrderBy(t => results[(s, t)]))
            {
                double ms = results[(s, tile)];
                Console.WriteLine($"  {(tile == chosen ? "*" : " ")} {tile.BM,3}x{tile.BN,-3}x{tile.BK,-2} {tile.TM}x{tile.TN} {tile.Threads,3} threads: {ms,9:F3} ms {flops / ms / 1e6,9:F0} GFLOP/s");
            }
        }
    }

    /// <summary>Milliseconds per run of <paramref name="model"/>'s device-view Run on freshly allocated, zeroed views.</summary>
    private static double Time(Accelerator acc, object model, long[] inputLengths, long outputLength)
    {
        var buffers = inputLengths.Append(outputLength).Select(n => acc.Allocate1D<float>(n)).ToArray();
        try
        {
            foreach (var b in buffers) b.MemSetToZero();
            var run = model.GetType().GetMethod("Run", buffers.Select(_ => typeof(ArrayView<float>)).ToArray())!;
            var args = buffers.Select(b => (object)(ArrayView<float>)b.View).ToArray();
            run.Invoke(model, args);
            acc.Synchronize();
            int iterations = 0;
            var watch = Stopwatch.StartNew();
            while (iterations < 3 || watch.Elapsed.TotalSeconds < 0.2)
            {
                run.Invoke(model, args);
                iterations++;
                if (iterations % 4 == 0) acc.Synchronize();
            }

            acc.Synchronize();
            return watch.Elapsed.TotalMilliseconds / iterations;
        }
        finally
        {
            foreach (var b in buffers) b.Dispose();
        }
    }

    private static void VariantBench(Accelerator acc)
    {
        var shapes = new (int M, int N, int K)[] { (4096, 4096, 4096), (4096, 768, 768), (4096, 3072, 768) };
        var gemms = shapes.Select(s =>
        {
            var g = new GraphBuilder("Bench");
            int a = g.AddInput("a", new TensorType(DType.Float32, s.M, s.K));
            int b = g.AddInput("b", new TensorType(DType.Float32, s.K, s.N));
            g.TryAdd(OpKind.MatMul, new[] { a, b }, Attrs.None, out int y);
            g.AddOutput(y);
            return g.Build();
        }).ToArray();
        var tiles = new[] { new GemmTile(128, 128, 8, 8, 8), new GemmTile(128, 128, 16, 8, 8), new GemmTile(64, 64, 8, 8, 8), new GemmTile(64, 64, 16, 8, 8), new GemmTile(64, 128, 8, 4, 8), new GemmTile(128, 64, 16, 8, 4) };
        var targets = new (string Name, GpuTarget Target)[]
        {
            ("index64 padded", GpuTarget.H100),
            ("index32 padded", GpuTarget.H100 with { SharedIndex64 = false }),
            ("index64 no padding", GpuTarget.H100 with { SharedPadding = false }),
        };
        foreach (var (name, target) in targets)
        {
            foreach (var tile in tiles)
            {
                var compiled = GpuCompiledGraphs.Compile(gemms, target: target with { ForcedTile = tile });
                for (int s = 0; s < shapes.Length; s++)
                {
                    var (m, n, k) = shapes[s];
                    using var model = compiled.Instantiate(s, Array.Empty<Tensor>(), acc);
                    double ms = Time(acc, model, new[] { (long)m * k, (long)k * n }, (long)m * n);
                    Console.WriteLine($"VARIANT gemm {m}x{n}x{k} {name} {tile.BM}x{tile.BN}x{tile.BK} {tile.TM}x{tile.TN}: {ms:F3} ms {2.0 * m * n * k / ms / 1e6:F0} GFLOP/s");
                }
            }
        }

        // Memory-bound kernels of a BERT-base layer at batch 8 x 512 tokens, and the benchmark's elementwise chain.
        var memory = new List<(string Name, Graph Graph, Tensor[] Weights, long[] Inputs, long Output, double Bytes)>();
        {
            var g = new GraphBuilder("Chain");
            int x = g.AddInput("x", new TensorType(DType.Float32, 65536, 1024));
            int a = g.AddWeight("a", new TensorType(DType.Float32, 1024));
            int b = g.AddWeight("b", new TensorType(DType.Float32, 1024));
            int c = g.AddWeight("c", new TensorType(DType.Float32, 1024));
            int N(OpKind op, params int[] inputs) { g.TryAdd(op, inputs, Attrs.None, out int id); return id; }
            g.AddOutput(N(OpKind.Add, N(OpKind.Mul, N(OpKind.Relu, N(OpKind.Add, N(OpKind.Mul, x, a), b)), N(OpKind.Sigmoid, x)), c));
            var w = new[] { Tensor.Zeros(1024), Tensor.Zeros(1024), Tensor.Zeros(1024) };
            memory.Add(("chain relu(x*a+b)*sigmoid(x)+c [65536,1024]", g.Build(), w, new[] { 65536L * 1024 }, 65536L * 1024, 2.0 * 65536 * 1024 * 4));
        }

        {
            var g = new GraphBuilder("Heads");
            int x = g.AddInput("x", new TensorType(DType.Float32, 8, 512, 12, 64));
            g.TryAdd(OpKind.Transpose, new[] { x }, Attrs.Of(Attr.OfInts(AttrNames.Perm, 0, 2, 1, 3)), out int y);
            g.AddOutput(y);
            memory.Add(("transpose [8,512,12,64] (0,2,1,3)", g.Build(), Array.Empty<Tensor>(), new[] { 8L * 512 * 768 }, 8L * 512 * 768, 2.0 * 8 * 512 * 768 * 4));
        }

        {
            var g = new GraphBuilder("Softmax");
            int x = g.AddInput("x", new TensorType(DType.Float32, 8, 12, 512, 512));
            g.TryAdd(OpKind.Softmax, new[] { x }, Attrs.Of(Attr.OfInt(AttrNames.Axis, 3L)), out int y);
            g.AddOutput(y);
            memory.Add(("softmax [8,12,512,512] axis 3", g.Build(), Array.Empty<Tensor>(), new[] { 8L * 12 * 512 * 512 }, 8L * 12 * 512 * 512, 2.0 * 8 * 12 * 512 * 512 * 4));
        }

        {
            var g = new GraphBuilder("LayerNorm");
            int x = g.AddInput("x", new TensorType(DType.Float32, 4096, 768));
            int gamma = g.AddWeight("gamma", new TensorType(DType.Float32, 768));
            int beta = g.AddWeight("beta", new TensorType(DType.Float32, 768));
            g.TryAdd(OpKind.LayerNorm, new[] { x, gamma, beta }, Attrs.Of(Attr.OfInt(AttrNames.Axis, 1L), Attr.OfFloat(AttrNames.Epsilon, 1e-5f)), out int y);
            g.AddOutput(y);
            memory.Add(("layernorm [4096,768]", g.Build(), new[] { Tensor.Zeros(768), Tensor.Zeros(768) }, new[] { 4096L * 768 }, 4096L * 768, 2.0 * 4096 * 768 * 4));
        }

        foreach (int unroll in new[] { 1, 2, 4, 8 })
        {
            var compiled = GpuCompiledGraphs.Compile(memory.Select(m => m.Graph).ToArray(), target: GpuTarget.H100 with { ElementwiseUnroll = unroll });
            for (int i = 0; i < memory.Count; i++)
            {
                if (unroll != 4 && i >= 2) continue; // reductions do not use the unroll
                using var model = compiled.Instantiate(i, memory[i].Weights, acc);
                double ms = Time(acc, model, memory[i].Inputs, memory[i].Output);
                Console.WriteLine($"VARIANT memory {memory[i].Name} unroll {unroll}: {ms:F3} ms {memory[i].Bytes / ms / 1e6:F0} GB/s");
            }
        }
    }
}
