// One spelling for every hex identifier, so a serial typed with colons matches the inventory's.
namespace CprDesk.Evidence;

/// <summary>Rule: lower case, no colons, spaces or dashes. A serial also loses leading zero bytes ("00:8f:01" → "8f01";
/// a serial that is all zeros stays "00"), because DER adds a zero byte to keep a positive INTEGER positive and
/// reporters copy serials both with and without it.</summary>
public static class Hex
{
    public static string Normalize(string value)
    {
        Span<char> buffer = value.Length <= 256 ? stackalloc char[value.Length] : new char[value.Length];
        var n = 0;
        foreach (var c in value)
        {
            if (c is ':' or ' ' or '-' or '\t') continue;
            buffer[n++] = char.ToLowerInvariant(c);
        }
        return new string(buffer[..n]);
    }

    public static bool IsHex(string value) => value.Length > 0 && value.All(char.IsAsciiHexDigit);

    public static string NormalizeSerial(string value)
    {
        var hex = Normalize(value);
        if (hex.Length % 2 == 1) hex = "0" + hex;
        var i = 0;
        while (i + 2 < hex.Length && hex[i] == '0' && hex[i + 1] == '0') i += 2;
        return hex[i..];
    }

    /// <summary>Serial of a DER INTEGER's big-endian bytes.</summary>
    public static string SerialOf(ReadOnlySpan<byte> bigEndian) => NormalizeSerial(Convert.ToHexStringLower(bigEndian));
}
