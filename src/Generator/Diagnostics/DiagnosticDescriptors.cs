using Microsoft.CodeAnalysis;

namespace Aot.Generator.Diagnostics;

/// <summary>
/// Every diagnostic the generator reports, in one table. Each ID has a help page at docs/diagnostics/ID.md.
/// Messages name the concrete shapes and values; severities can be changed with .editorconfig
/// (dotnet_diagnostic.AOT0001.severity = ...), like any compiler diagnostic.
/// </summary>
internal static class DiagnosticDescriptors
{
    public const string HelpLinkBase = "https://github.com/aot-tensor/aot/blob/main/docs/diagnostics/";
    private const string Category = "Aot.Model";

    public static readonly DiagnosticDescriptor MatMulInnerDimension = Error("AOT0001", "Matrix product inner dimensions differ");
    public static readonly DiagnosticDescriptor NotBroadcastable = Error("AOT0002", "Shapes are not broadcastable");
    public static readonly DiagnosticDescriptor AxisOutOfRange = Error("AOT0003", "Axis out of range");
    public static readonly DiagnosticDescriptor ReshapeElementCount = Error("AOT0004", "Reshape changes the number of elements");
    public static readonly DiagnosticDescriptor EmptyOutput = Error("AOT0005", "Convolution or pooling geometry yields an empty output");
    public static readonly DiagnosticDescriptor OperandShape = Error("AOT0006", "Operand has the wrong shape for the operation");
    public static readonly DiagnosticDescriptor OperandDType = Error("AOT0007", "Operand has the wrong element type");
    public static readonly DiagnosticDescriptor InvalidArgument = Error("AOT0008", "Invalid operation argument");
    public static readonly DiagnosticDescriptor UnsupportedConstruct = Error("AOT0009", "Unsupported construct in a model");
    public static readonly DiagnosticDescriptor UnboundedLoopOrRecursion = Error("AOT0010", "Recursion or loop without compile-time bounds");
    public static readonly DiagnosticDescriptor InvalidModelDeclaration = Error("AOT0011", "Invalid model declaration");
    public static readonly DiagnosticDescriptor InvalidTensorDeclaration = Error("AOT0012", "Invalid weight or input declaration");

    // Build configuration: the MSBuild knobs and the tuning file (reported at the file's line, or at no location).
    public static readonly DiagnosticDescriptor InvalidOption = Error("AOT0013", "Invalid value of an Aot MSBuild property");
    public static readonly DiagnosticDescriptor GpuTargetUnavailable = Warning("AOT0014", "The gpu target needs Aot.Compiler.Gpu");
    public static readonly DiagnosticDescriptor MalformedTuningLine = Warning("AOT0015", "Malformed line in a tuning file");
    public static readonly DiagnosticDescriptor StaleTuningEntry = Warning("AOT0016", "Tuning entry does not match the model");
    public static readonly DiagnosticDescriptor NpuUnsupported = Warning("AOT0017", "The NPU backend cannot compile this model");
    public static readonly DiagnosticDescriptor DynamicSizeUnsupported = Error("AOT0018", "A dynamic axis cannot be compiled");
    public static readonly DiagnosticDescriptor DynamicSizeCpuOnly = Warning("AOT0019", "A model with a dynamic axis runs on the CPU only");

    public static readonly DiagnosticDescriptor InternalError = Error("AOT9999", "Internal compiler error");

    public static DiagnosticDescriptor ForShapeError(IR.ShapeErrorKind kind) => kind switch
    {
        IR.ShapeErrorKind.MatMulInner => MatMulInnerDimension,
        IR.ShapeErrorKind.NotBroadcastable => NotBroadcastable,
        IR.ShapeErrorKind.AxisOutOfRange => AxisOutOfRange,
        IR.ShapeErrorKind.ReshapeCount => ReshapeElementCount,
        IR.ShapeErrorKind.EmptyOutput => EmptyOutput,
        IR.ShapeErrorKind.OperandShape => OperandShape,
        IR.ShapeErrorKind.OperandDType => OperandDType,
        _ => InvalidArgument,
    };

    /// <summary>All descriptors, for tests and docs.</summary>
    public static DiagnosticDescriptor[] All =>
    [
        MatMulInnerDimension, NotBroadcastable, AxisOutOfRange, ReshapeElementCount, EmptyOutput, OperandShape, OperandDType,
        InvalidArgument, UnsupportedConstruct, UnboundedLoopOrRecursion, InvalidModelDeclaration, InvalidTensorDeclaration,
        InvalidOption, GpuTargetUnavailable, MalformedTuningLine, StaleTuningEntry, NpuUnsupported, DynamicSizeUnsupported,
        DynamicSizeCpuOnly, InternalError,
    ];

    private static DiagnosticDescriptor Error(string id, string title) => Create(id, title, DiagnosticSeverity.Error);

    private static DiagnosticDescriptor Warning(string id, string title) => Create(id, title, DiagnosticSeverity.Warning);

    private static DiagnosticDescriptor Create(string id, string title, DiagnosticSeverity severity) => new(
        id,
        title,
        messageFormat: "{0}",
        category: Category,
        defaultSeverity: severity,
        isEnabledByDefault: true,
        helpLinkUri: HelpLinkBase + id + ".md");
}
