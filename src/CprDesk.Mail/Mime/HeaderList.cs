// The ordered header fields of a message or part, looked up by case-insensitive name.
using System.Collections;

namespace CprDesk.Mail.Mime;

/// <summary>Header fields in their original order. Lookups ignore case (RFC 5322 §1.2.2).</summary>
public sealed class HeaderList : IReadOnlyList<Header>
{
    private readonly List<Header> _headers;

    internal HeaderList(List<Header> headers) => _headers = headers;

    internal static HeaderList Empty { get; } = new([]);

    public int Count => _headers.Count;

    public Header this[int index] => _headers[index];

    /// <summary>The decoded value of the first field with this name, or null.</summary>
    public string? this[string name] => First(name)?.Value;

    /// <summary>The first field with this name, or null.</summary>
    public Header? First(string name)
    {
        foreach (var h in _headers)
        {
            if (string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase)) return h;
        }
        return null;
    }

    /// <summary>Every field with this name, in order.</summary>
    public IEnumerable<Header> All(string name) => _headers.Where(h => string.Equals(h.Name, name, StringComparison.OrdinalIgnoreCase));

    public IEnumerator<Header> GetEnumerator() => _headers.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
