// One server response (RFC 3501 §7 / RFC 9051 §7) as a tree of values; literals may live in temp files.
using System.Globalization;
using System.Text;

namespace CprDesk.Mail.Imap;

public abstract record ImapValue
{
    /// <summary>The value as a string: an atom's or quoted string's text, a literal decoded as UTF-8, null for NIL and lists.</summary>
    public virtual string? AsString() => null;
}

/// <summary>An atom, number, flag (<c>\Seen</c>), NIL, or a fetch item name such as <c>BODY[]</c>.</summary>
public sealed record ImapAtom(string Value) : ImapValue
{
    public bool IsNil => Value.Equals("NIL", StringComparison.OrdinalIgnoreCase);
    public override string? AsString() => IsNil ? null : Value;
}

public sealed record ImapQuoted(string Value) : ImapValue
{
    public override string? AsString() => Value;
}

public sealed record ImapLiteralValue(ImapLiteral Literal) : ImapValue
{
    public override string? AsString() => Encoding.UTF8.GetString(Literal.ToArray());
}

public sealed record ImapList(IReadOnlyList<ImapValue> Items) : ImapValue;

/// <summary>A literal's bytes: in memory when small, in a delete-on-close temp file beyond the threshold.</summary>
public sealed class ImapLiteral : IDisposable
{
    private readonly byte[]? _bytes;
    private readonly FileStream? _file;

    internal ImapLiteral(byte[] bytes) => _bytes = bytes;

    internal ImapLiteral(FileStream file)
    {
        _file = file;
    }

    public long Length => _bytes?.LongLength ?? _file!.Length;
    public bool InMemory => _bytes is not null;

    public Stream OpenRead()
    {
        if (_bytes is not null) return new MemoryStream(_bytes, writable: false);
        _file!.Position = 0;
        return new NonClosingStream(_file);
    }

    public byte[] ToArray()
    {
        if (_bytes is not null) return _bytes;
        using var s = OpenRead();
        var result = new byte[s.Length];
        s.ReadExactly(result);
        return result;
    }

    public void Dispose() => _file?.Dispose();

    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

public enum ImapResponseKind { Untagged, Tagged, Continuation }

/// <summary>A response. For status responses (OK, NO, BAD, BYE, PREAUTH) <see cref="Status"/>, <see cref="Code"/>
/// and <see cref="Text"/> are set; for data responses (<c>* 3 EXISTS</c>, <c>* LIST …</c>) <see cref="Values"/>
/// holds everything after the asterisk.</summary>
public sealed class ImapResponse : IDisposable
{
    internal readonly List<ImapLiteral> Literals = [];

    public required ImapResponseKind Kind { get; init; }
    public string? Tag { get; init; }
    public string? Status { get; init; }
    public string? Code { get; init; }
    public string Text { get; init; } = "";
    public IReadOnlyList<ImapValue> Values { get; init; } = [];

    /// <summary>The first word of a data response: <c>EXISTS</c> in <c>* 3 EXISTS</c>, <c>LIST</c> in <c>* LIST …</c>.</summary>
    public string? DataName =>
        Values.Count >= 2 && Values[0] is ImapAtom { Value: var n } && uint.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out _) && Values[1] is ImapAtom a2
            ? a2.Value.ToUpperInvariant()
            : Values.Count >= 1 && Values[0] is ImapAtom a ? a.Value.ToUpperInvariant() : null;

    /// <summary>The number before the name in <c>* 3 EXISTS</c> / <c>* 1 FETCH (…)</c>.</summary>
    public uint? Number => Values.Count >= 2 && Values[0] is ImapAtom { Value: var n } && uint.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;

    public void Dispose()
    {
        foreach (var l in Literals) l.Dispose();
    }

    public override string ToString() => Kind switch
    {
        ImapResponseKind.Continuation => "+ " + Text,
        _ when Status is not null => $"{Tag ?? "*"} {Status}{(Code is null ? "" : $" [{Code}]")} {Text}",
        _ => "* " + string.Join(' ', Values.Select(Show)),
    };

    private static string Show(ImapValue v) => v switch
    {
        ImapAtom a => a.Value,
        ImapQuoted q => $"\"{q.Value}\"",
        ImapLiteralValue l => $"{{{l.Literal.Length}}}",
        ImapList l => "(" + string.Join(' ', l.Items.Select(Show)) + ")",
        _ => "?",
    };
}
