using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
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

/// <summary>One entry of <see cref="Diagnostic.Properties"/> (what a code fix needs to know), as plain data.</summary>
internal sealed record DiagnosticProperty(string Key, string? Value);

/// <summary>
/// An equatable diagnostic for the pipeline model; turned into a Roslyn Diagnostic when reported.
/// <see cref="Properties"/> are sorted by key so equal property sets compare equal.
/// </summary>
internal sealed record DiagnosticInfo(string Id, LocationInfo? Location, string Message, EquatableArray<DiagnosticProperty> Properties = default)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, Location? location, string message, IEnumerable<DiagnosticProperty>? properties = null) =>
        new(descriptor.Id, LocationInfo.From(location), message,
            properties is null ? EquatableArray<DiagnosticProperty>.Empty : new EquatableArray<DiagnosticProperty>(properties.OrderBy(p => p.Key, System.StringComparer.Ordinal)));

    public Diagnostic ToDiagnostic()
    {
        var descriptor = System.Array.Find(DiagnosticDescriptors.All, d => d.Id == Id);
        var properties = Properties.Count == 0
            ? null
            : ImmutableDictionary.CreateRange(Properties.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value)));
        return Diagnostic.Create(descriptor, Location?.ToLocation() ?? Microsoft.CodeAnalysis.Location.None, properties, Message);
    }
}
