using Aot.Generator.Tuning;
using Microsoft.CodeAnalysis.Text;

namespace Generator.Tests.Tuning;

/// <summary>The tuning file's text format: entries, comments, and malformed lines (AOT0015, at their line).</summary>
public class TuningFileTests
{
    private static TuningFile Parse(string text, string path = "/p/app.aot-tuning") => TuningFileFormat.Parse(path, SourceText.From(text));

    [Fact]
    public void ReadsEntriesAndSkipsComments()
    {
        var file = Parse("""
            # Aot tuning file
            # machine: whatever

            App.Models.Mlp/%5 gemm m=1 n=512 k=784 kc=256 mc=6
              App.Models.Mlp/%9   gemm  mc=12 kc=128 k=512 n=512 m=1   # keys in any order, trailing comment
            Cnn/%3 conv m=8 n=81 k=27 kc=8 mc=6
            """);
        Assert.Empty(file.Problems);
        Assert.Equal(3, file.Entries.Count);
        var first = file.Entries[0];
        Assert.Equal(("App.Models.Mlp", "%5", "gemm", 1, 512, 784, 256, 6), (first.Model, first.Kernel, first.Kind, first.M, first.N, first.K, first.Kc, first.Mc));
        Assert.Equal(3, first.Location.LineSpan.Start.Line); // zero-based: the fourth line
        Assert.Equal("/p/app.aot-tuning", first.Location.FilePath);
        Assert.Equal((128, 12), (file.Entries[1].Kc, file.Entries[1].Mc));
        Assert.Equal(("Cnn", "conv"), (file.Entries[2].Model, file.Entries[2].Kind));
        Assert.Equal("App.Models.Mlp/%5 gemm m=1 n=512 k=784 kc=256 mc=6", first.ToString());
    }

    [Theory]
    [InlineData("Mlp/%5 gemm m=1 n=512 k=784 kc=256", "missing mc=")]
    [InlineData("Mlp/%5 gemm m=1 n=512 k=784 kc=256 mc=six", "mc must be a positive integer, not 'six'")]
    [InlineData("Mlp/%5 gemm m=1 n=512 k=784 kc=0 mc=6", "kc must be a positive integer, not '0'")]
    [InlineData("Mlp/%5 gemm m=1 n=512 k=784 kc=-4 mc=6", "kc must be a positive integer, not '-4'")]
    [InlineData("Mlp/%5 gemm m=1 n=512 k=784 kc=256 mc=6 nc=64", "'nc=64' is not one of")]
    [InlineData("Mlp/%5 gemm m=1 m=1 n=512 k=784 kc=256 mc=6", "m= appears twice")]
    [InlineData("Mlp/%5 gemv m=1 n=512 k=784 kc=256 mc=6", "unknown kind 'gemv' (expected gemm or conv)")]
    [InlineData("Mlp%5 gemm m=1 n=512 k=784 kc=256 mc=6", "'Mlp%5' is not <Namespace.Model>/<kernel>")]
    [InlineData("Mlp/ gemm m=1 n=512 k=784 kc=256 mc=6", "'Mlp/' is not <Namespace.Model>/<kernel>")]
    [InlineData("Mlp/%5", "expected a kernel name, a kind and five numbers")]
    public void AMalformedLineIsReportedAtItsLineAndIgnored(string line, string reason)
    {
        var file = Parse("# header\nMlp/%1 gemm m=1 n=2 k=3 kc=3 mc=6\n" + line + "\nMlp/%7 gemm m=1 n=2 k=3 kc=3 mc=6\n");
        Assert.Equal(new[] { "%1", "%7" }, file.Entries.Select(e => e.Kernel));
        var problem = Assert.Single(file.Problems);
        Assert.Equal("AOT0015", problem.Id);
        Assert.Equal(2, problem.Location!.LineSpan.Start.Line);
        Assert.Contains("line 3 of the tuning file", problem.Message);
        Assert.Contains(reason, problem.Message);
    }

    [Fact]
    public void ARepeatedKernelKeepsTheFirstLine()
    {
        var file = Parse("M/%1 gemm m=1 n=2 k=3 kc=3 mc=6\nM/%1 gemm m=1 n=2 k=3 kc=1 mc=6\n");
        Assert.Equal(3, Assert.Single(file.Entries).Kc);
        Assert.Contains("repeats kernel M/%1, already tuned on line 1", Assert.Single(file.Problems).Message);
    }

    [Fact]
    public void FilesMergeInPathOrderAndAKernelTunedTwiceIsReported()
    {
        var b = Parse("M/%1 gemm m=1 n=2 k=3 kc=1 mc=6\nM/%2 gemm m=1 n=2 k=3 kc=2 mc=6\n", "/p/b.aot-tuning");
        var a = Parse("M/%1 gemm m=1 n=2 k=3 kc=3 mc=6\n", "/p/a.aot-tuning");
        var table = TuningFileFormat.Merge(new[] { b, a });
        Assert.Equal(table, TuningFileFormat.Merge(new[] { a, b }));
        Assert.Equal(new[] { ("%1", 3), ("%2", 2) }, table.Entries.Select(e => (e.Kernel, e.Kc)));
        var problem = Assert.Single(table.Problems);
        Assert.Equal("/p/b.aot-tuning", problem.Location!.FilePath);
        Assert.Contains("already tuned in 'a.aot-tuning' line 1", problem.Message);
        Assert.Equal(2, table.For("M").Count);
        Assert.Empty(table.For("N"));
    }

    [Fact]
    public void ParsingIsEquatable()
    {
        const string text = "# x\nM/%1 gemm m=1 n=2 k=3 kc=3 mc=6\nbad\n";
        Assert.Equal(Parse(text), Parse(text));
        Assert.NotEqual(Parse(text), Parse(text.Replace("kc=3", "kc=2")));
    }

    [Theory]
    [InlineData("/p/app.aot-tuning", "", true)]
    [InlineData("/p/APP.AOT-TUNING", "", true)]
    [InlineData("/p/aot.tuning", "", false)]
    [InlineData("/p/aot.tuning", "aot.tuning", true)]
    [InlineData("/p/sub/aot.tuning", "sub\\aot.tuning", true)]
    [InlineData("/p/other.txt", "aot.tuning", false)]
    public void TuningFilesAreFoundByExtensionOrByTheKnob(string path, string knob, bool expected) =>
        Assert.Equal(expected, TuningFileFormat.IsTuningFile(path, knob));
}
