using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Aot.Generator.Diagnostics;

/// <summary>A location as plain data (a Roslyn <see cref="Location"/> holds a syntax tree, which must not be cached).</summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public static LocationInfo? From(Location? location) =>
        location is null || location.SourceTree is null
            ? null
            : new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);

    public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);
}

/// <summary>An equatable diagnostic for the pipeline model; turned into a Roslyn Diagnostic when reported.</summary>
internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, string Message)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, Location? location, string message) =>
        new(descriptor.Id, LocationInfo.From(location), message);

    public Diagnostic ToDiagnostic()
    {
        var descriptor = System.Array.Find(DiagnosticDescriptors.All, d => d.Id == Id);
        return Diagnostic.Create(descriptor, Location?.ToLocation() ?? Microsoft.CodeAnalysis.Location.None, Message);
    }
}
