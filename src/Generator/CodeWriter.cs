using System;
using System.Text;

namespace Aot.Generator;

/// <summary>Indented text writer for generated C#.</summary>
internal sealed class CodeWriter
{
    private readonly StringBuilder _sb = new();
    private int _indent;

    /// <param name="indent">The starting indentation level (a writer for a fragment inserted with <see cref="Raw"/>).</param>
    public CodeWriter(int indent = 0) => _indent = indent;

    public int Indent => _indent;

    /// <summary>Appends text already indented and ending with a newline (a fragment from another writer).</summary>
    public CodeWriter Raw(string text)
    {
        _sb.Append(text);
        return this;
    }

    public CodeWriter Line(string text = "")
    {
        if (text.Length > 0) _sb.Append(' ', _indent * 4).Append(text);
        _sb.Append('\n');
        return this;
    }

    /// <summary>Writes "text" then "{" and indents until the returned scope is disposed (which writes "}" + suffix).</summary>
    public IDisposable Block(string text, string suffix = "")
    {
        if (text.Length > 0) Line(text);
        Line("{");
        _indent++;
        return new Scope(this, suffix);
    }

    /// <summary>A bare { } block, to scope the locals of one kernel.</summary>
    public IDisposable Block() => Block("");

    public override string ToString() => _sb.ToString();

    private sealed class Scope : IDisposable
    {
        private readonly CodeWriter _writer;
        private readonly string _suffix;

        public Scope(CodeWriter writer, string suffix)
        {
            _writer = writer;
            _suffix = suffix;
        }

        public void Dispose()
        {
            _writer._indent--;
            _writer.Line("}" + _suffix);
        }
    }
}
