using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;

namespace Aot.Generator.IR;

/// <summary>One named attribute of a node: an int, a float or a list of ints.</summary>
internal sealed record Attr(string Name, long? Int, float? Float, EquatableArray<int> Ints) : IComparable<Attr>
{
    public static Attr OfInt(string name, long value) => new(name, value, null, default);

    public static Attr OfFloat(string name, float value) => new(name, null, value, default);

    public static Attr OfInts(string name, params int[] values) => new(name, null, null, new EquatableArray<int>(ImmutableArray.Create(values)));

    public int CompareTo(Attr? other) => string.CompareOrdinal(Name, other?.Name);

    public override string ToString()
    {
        if (Int is long i) return Name + "=" + i.ToString(CultureInfo.InvariantCulture);
        if (Float is float f) return Name + "=" + f.ToString("R", CultureInfo.InvariantCulture);
        return Name + "=[" + string.Join(",", Ints) + "]";
    }
}

/// <summary>A node's attributes, kept sorted by name so equal attribute sets compare and print equally.</summary>
internal readonly struct Attrs : IEquatable<Attrs>
{
    public static readonly Attrs None = new(ImmutableArray<Attr>.Empty);

    private readonly EquatableArray<Attr> _items;

    private Attrs(ImmutableArray<Attr> sorted) => _items = new EquatableArray<Attr>(sorted);

    public static Attrs Of(params Attr[] attrs) => new(attrs.OrderBy(a => a.Name, StringComparer.Ordinal).ToImmutableArray());

    public ImmutableArray<Attr> Items => _items.Items;

    public bool Has(string name) => Find(name) is not null;

    public long Int(string name) => Find(name)?.Int ?? throw Missing(name);

    public float Float(string name) => Find(name)?.Float ?? throw Missing(name);

    public int[] Ints(string name) => Find(name) is { } a && a.Int is null && a.Float is null ? a.Ints.Items.ToArray() : throw Missing(name);

    public Attrs With(Attr attr) => Of(Items.Where(a => a.Name != attr.Name).Append(attr).ToArray());

    public bool Equals(Attrs other) => _items.Equals(other._items);

    public override bool Equals(object? obj) => obj is Attrs other && Equals(other);

    public override int GetHashCode() => _items.GetHashCode();

    public override string ToString() => Items.IsEmpty ? "" : "{" + string.Join(", ", Items) + "}";

    private Attr? Find(string name)
    {
        foreach (var a in Items)
        {
            if (a.Name == name) return a;
        }

        return null;
    }

    private static KeyNotFoundException Missing(string name) => new("attribute '" + name + "' is missing or has another kind");
}
