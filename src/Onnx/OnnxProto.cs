using System;
using System.Collections.Generic;

namespace Aot.Onnx;

// The parts of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) the importer reads, with their field
// numbers. Fields not listed are skipped (their wire format is still checked).
//   ModelProto         ir_version=1 producer_name=2 producer_version=3 graph=7 opset_import=8
//   OperatorSetIdProto domain=1 version=2
//   GraphProto         node=1 name=2 initializer=5 input=11 output=12 value_info=13 sparse_initializer=15
//   NodeProto          input=1 output=2 name=3 op_type=4 attribute=5 domain=7
//   AttributeProto     name=1 f=2 i=3 s=4 t=5 g=6 floats=7 ints=8 strings=9 tensors=10 graphs=11 type=20 ref_attr_name=21
//   TensorProto        dims=1 data_type=2 segment=3 float_data=4 int32_data=5 string_data=6 int64_data=7 name=8
//                      raw_data=9 double_data=10 external_data=13 data_location=14
//   StringStringEntry  key=1 value=2
//   ValueInfoProto     name=1 type=2;  TypeProto tensor_type=1;  TypeProto.Tensor elem_type=1 shape=2
//   TensorShapeProto   dim=1;  Dimension dim_value=1 dim_param=2

public sealed class OnnxModelProto
{
    public long IrVersion { get; set; }
    public string ProducerName { get; set; } = "";
    public string ProducerVersion { get; set; } = "";
    public List<(string Domain, long Version)> OpsetImports { get; } = new();
    public OnnxGraphProto? Graph { get; set; }
}

public sealed class OnnxGraphProto
{
    public string Name { get; set; } = "";
    public List<OnnxNodeProto> Nodes { get; } = new();
    public List<OnnxTensorProto> Initializers { get; } = new();
    public List<OnnxValueInfo> Inputs { get; } = new();
    public List<OnnxValueInfo> Outputs { get; } = new();
    public List<OnnxValueInfo> ValueInfo { get; } = new();
    public int SparseInitializers { get; set; }
}

public sealed class OnnxNodeProto
{
    public List<string> Inputs { get; } = new();
    public List<string> Outputs { get; } = new();
    public string Name { get; set; } = "";
    public string OpType { get; set; } = "";
    public string Domain { get; set; } = "";
    public List<OnnxAttributeProto> Attributes { get; } = new();

    /// <summary>"name" (OpType), as error messages name a node.</summary>
    public string Describe(int index) => $"node {index} '{(Name.Length > 0 ? Name : "(unnamed)")}' ({OpType})";
}

/// <summary>AttributeProto.AttributeType values.</summary>
public enum OnnxAttributeType
{
    Undefined = 0, Float = 1, Int = 2, String = 3, Tensor = 4, Graph = 5, Floats = 6, Ints = 7, Strings = 8, Tensors = 9,
    Graphs = 10, SparseTensor = 11, SparseTensors = 12, TypeProto = 13, TypeProtos = 14,
}

public sealed class OnnxAttributeProto
{
    public string Name { get; set; } = "";
    public OnnxAttributeType Type { get; set; }
    public float F { get; set; }
    public long I { get; set; }
    public byte[] S { get; set; } = Array.Empty<byte>();
    public OnnxTensorProto? T { get; set; }
    /// <summary>A subgraph (If's then_branch/else_branch, Loop's body).</summary>
    public OnnxGraphProto? G { get; set; }
    public List<float> Floats { get; } = new();
    public List<long> Ints { get; } = new();
    public List<byte[]> Strings { get; } = new();
    public string RefAttrName { get; set; } = "";
    /// <summary>Fields present but not read (g, graphs, strings, tensors, ...): their numbers, for "unsupported" errors.</summary>
    public List<int> OtherFields { get; } = new();
}

/// <summary>TensorProto.DataType values.</summary>
public enum OnnxDataType
{
    Undefined = 0, Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7, String = 8, Bool = 9,
    Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13, Complex64 = 14, Complex128 = 15, BFloat16 = 16,
}

public sealed class OnnxTensorProto
{
    public List<long> Dims { get; } = new();
    public OnnxDataType DataType { get; set; }
    public string Name { get; set; } = "";
    public ReadOnlyMemory<byte>? RawData { get; set; }
    public List<float> FloatData { get; } = new();
    public List<int> Int32Data { get; } = new();
    public List<long> Int64Data { get; } = new();
    public List<double> DoubleData { get; } = new();
    public List<(string Key, string Value)> ExternalData { get; } = new();
    public int DataLocation { get; set; }
    public bool HasSegment { get; set; }
    public int StringCount { get; set; }
    /// <summary>Where it is in the model (e.g. <c>ModelProto.graph.initializer[2]</c>).</summary>
    public string Path { get; set; } = "";
}

/// <summary>A ValueInfoProto with a tensor type: name, element type and (if declared) the dimensions.</summary>
public sealed class OnnxValueInfo
{
    public string Name { get; set; } = "";
    public OnnxDataType ElemType { get; set; }
    public bool IsTensor { get; set; }
    /// <summary>Null when the type has no shape; each dimension is a value or a symbolic name (or neither).</summary>
    public List<(long? Value, string? Param)>? Shape { get; set; }
}

/// <summary>Parses ONNX ModelProto bytes.</summary>
public static class OnnxParser
{
    public static OnnxModelProto Parse(ReadOnlyMemory<byte> bytes)
    {
        var r = new ProtoReader(bytes, 0, bytes.Length, "ModelProto");
        var model = new OnnxModelProto();
        bool sawGraph = false;
        while (r.Next())
        {
            switch (r.Field)
            {
                case 1: model.IrVersion = r.Name("ir_version").Int64(); break;
                case 2: model.ProducerName = r.Name("producer_name").String(); break;
                case 3: model.ProducerVersion = r.Name("producer_version").String(); break;
                case 7:
                    if (sawGraph) throw r.Name("graph").Error("a second graph (the file may be two models concatenated)");
                    sawGraph = true;
                    model.Graph = Graph(r.Name("graph").Message("ModelProto.graph"));
                    break;
                case 8: model.OpsetImports.Add(Opset(r.Name("opset_import").Message($"ModelProto.opset_import[{model.OpsetImports.Count}]"))); break;
                default: r.Skip(); break;
            }
        }

        return model;
    }

    private static (string, long) Opset(ProtoReader r)
    {
        string domain = "";
        long version = 0;
        while (r.Next())
        {
            switch (r.Field)
            {
                case 1: domain = r.Name("domain").String(); break;
                case 2: version = r.Name("version").Int64(); break;
                default: r.Skip(); break;
            }
        }

        return (domain, version);
    }

    private static OnnxGraphProto Graph(ProtoReader r)
    {
        var g = new OnnxGraphProto();
        while (r.Next())
        {
            switch (r.Field)
            {
                case 1: g.Nodes.Add(Node(r.Name("node").Message($"{r.Path}.node[{g.Nodes.Count}]"))); break;
                case 2: g.Name = r.Name("name").String(); break;
                case 5: g.Initializers.Add(Tensor(r.Name("initializer"), $"{r.Path}.initializer[{g.Initializers.Count}]")); break;
                case 11: g.Inputs.Add(ValueInfo(r.Name("input").Message($"{r.Path}.input[{g.Inputs.Count}]"))); break;
                case 12: g.Outputs.Add(ValueInfo(r.Name("output").Message($"{r.Path}.output[{g.Outputs.Count}]"))); break;
                case 13: g.ValueInfo.Add(ValueInfo(r.Name("value_info").Message($"{r.Path}.value_info[{g.ValueInfo.Count}]"))); break;
                case 15: r.Name("sparse_initializer").Bytes(); g.SparseInitializers++; break;
                default: r.Skip(); break;
            }
        }

        return g;
    }

    private static OnnxNodeProto Node(ProtoReader r)
    {
        var n = new OnnxNodeProto();
        while (r.Next())
        {
            switch (r.Field)
            {
                case 1: n.Inputs.Add(r.Name("input").String()); break;
                case 2: n.Outputs.Add(r.Name("output").String()); break;
                case 3: n.Name = r.Name("name").String(); break;
                case 4: n.OpType = r.Name("op_type").String(); break;
                case 5: n.Attributes.Add(Attribute(r.Name("attribute").Message($"{r.Path}.attribute[{n.Attributes.Count}]"))); break;
                case 7: n.Domain = r.Name("domain").String(); break;
                default: r.Skip(); break;
            }
        }

        return n;
    }

    private static OnnxAttributeProto Attribute(ProtoReader r)
    {
        var a = new OnnxAttributeProto();
        while (r.Next())
        {
            switch (r.Field)
            {
                case 1: a.Name = r.Name("name").String(); break;
                case 2: a.F = r.Name("f").Float(); break;
                case 3: a.I = r.Name("i").Int64(); break;
                case 4: a.S = r.Name("s").Bytes().ToArray(); break;
                case 5: a.T = Tensor(r.Name("t"), $"{r.Path}.t"); break;
                case 6: a.G = Graph(r.Name("g").Message($"{r.Path}.g")); break;
                case 7: r.Name("floats").Floats(a.Floats); break;
                case 8: r.Name("ints").Int64s(a.Ints); break;
                case 9: a.Strings.Add(r.Name("strings").Bytes().ToArray()); break;
                case 20:
                    long type = r.Name("type").Int64();
                    if (type < 0 || type > 14) throw r.Error($"unknown attribute type {type}");
                    a.Type = (OnnxAttributeType)type;
                    break;
                case 21: a.RefAttrName = r.Name("ref_attr_name").String(); break;
                default:
                    a.OtherFields.Add(r.Field);
                    r.Skip();
                    break;
            }
        }

        return a;
    }

    private static OnnxTensorProto Tensor(ProtoReader outer, string path)
    {
        var r = outer.Message(path);
        var t = new OnnxTensorProto { Path = path };
        while (r.Next())
        {
            switch (r.Field)
            {
                case 1: r.Name("dims").Int64s(t.Dims); break;
                case 2:
                    long type = r.Name("data_type").Int64();
                    if (type < 0 || type > 23) throw r.Error($"unknown data_type {type}");
                    t.DataType = (OnnxDataType)type;
                    break;
                case 3: r.Name("segment").Bytes(); t.HasSegment = true; break;
                case 4: r.Name("float_data").Floats(t.FloatData); break;
                case 5:
                {
                    var values = new List<long>();
                    r.Name("int32_data").Int64s(values);
                    foreach (var v in values) t.Int32Data.Add(unchecked((int)v));
                    break;
                }

                case 6: r.Name("string_data").Bytes(); t.StringCount++; break;
                case 7: r.Name("int64_data").Int64s(t.Int64Data); break;
                case 8: t.Name = r.Name("name").String(); break;
                case 9: t.RawData = r.Name("raw_data").Bytes(out _); break;
                case 10: r.Name("double_data").Doubles(t.DoubleData); break;
                case 13: t.ExternalData.Add(Entry(r.Name("external_data").Message($"{path}.external_data[{t.ExternalData.Count}]"))); break;
                case 14: t.DataLocation = r.Name("data_location").Int32(); break;
                default: r.Skip(); break;
            }
        }

        return t;
    }

    private static (string, string) Entry(ProtoReader r)
    {
        string key = "", value = "";
        while (r.Next())
        {
            switch (r.Field)
            {
                case 1: key = r.Name("key").String(); break;
                case 2: value = r.Name("value").String(); break;
                default: r.Skip(); break;
            }
        }

        return (key, value);
    }

    private static OnnxValueInfo ValueInfo(ProtoReader r)
    {
        var v = new OnnxValueInfo();
        while (r.Next())
        {
            switch (r.Field)
            {
                case 1: v.Name = r.Name("name").String(); break;
                case 2: TypeProto(r.Name("type").Message($"{r.Path}.type"), v); break;
                default: r.Skip(); break;
            }
        }

        return v;
    }

    private static void TypeProto(ProtoReader r, OnnxValueInfo v)
    {
        while (r.Next())
        {
            if (r.Field != 1)
            {
                r.Skip();
                continue;
            }

            v.IsTensor = true;
            var t = r.Name("tensor_type").Message($"{r.Path}.tensor_type");
            while (t.Next())
            {
                switch (t.Field)
                {
                    case 1: v.ElemType = (OnnxDataType)t.Name("elem_type").Int32(); break;
                    case 2:
                        v.Shape = new();
                        var shape = t.Name("shape").Message($"{t.Path}.shape");
                        while (shape.Next())
                        {
                            if (shape.Field != 1)
                            {
                                shape.Skip();
                                continue;
                            }

                            var d = shape.Name("dim").Message($"{shape.Path}.dim[{v.Shape.Count}]");
                            long? value = null;
                            string? param = null;
                            while (d.Next())
                            {
                                switch (d.Field)
                                {
                                    case 1: value = d.Name("dim_value").Int64(); break;
                                    case 2: param = d.Name("dim_param").String(); break;
                                    default: d.Skip(); break;
                                }
                            }

                            v.Shape.Add((value, param));
                        }

                        break;
                    default: t.Skip(); break;
                }
            }
        }
    }
}
