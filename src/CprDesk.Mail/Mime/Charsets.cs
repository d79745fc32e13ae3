// Maps MIME charset labels (with the aliases mail software really uses) to .NET encodings, and decodes bytes without throwing.
using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;

namespace CprDesk.Mail.Mime;

/// <summary>Charset lookup and tolerant decoding. Unknown labels are reported, never thrown.</summary>
public static partial class Charsets
{
    // Sentinel for "US-ASCII or an alias of it": such text is decoded as UTF-8 when the bytes are valid UTF-8, else Latin-1,
    // because 8-bit bytes under an ASCII label are undeclared and those two readings lose nothing (RFC 6532 §3.2 makes UTF-8 the 8-bit default).
    private static readonly Encoding AsciiLike = new ASCIIEncoding();

    private const int MaxCachedLabels = 512;
    private static readonly ConcurrentDictionary<string, Encoding?> Cache = new(StringComparer.Ordinal);

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["utf8"] = "utf-8", ["unicode-1-1-utf-8"] = "utf-8", ["x-unicode20utf8"] = "utf-8", ["unicode-2-0-utf-8"] = "utf-8",
        ["latin1"] = "iso-8859-1", ["latin-1"] = "iso-8859-1", ["l1"] = "iso-8859-1", ["iso-ir-100"] = "iso-8859-1", ["cp819"] = "iso-8859-1", ["ibm819"] = "iso-8859-1",
        ["latin2"] = "iso-8859-2", ["latin-2"] = "iso-8859-2", ["l2"] = "iso-8859-2",
        ["latin9"] = "iso-8859-15", ["latin-9"] = "iso-8859-15", ["l9"] = "iso-8859-15",
        ["x-sjis"] = "shift_jis", ["sjis"] = "shift_jis", ["shift-jis"] = "shift_jis", ["ms_kanji"] = "shift_jis", ["csshiftjis"] = "shift_jis",
        ["windows-31j"] = "shift_jis", ["cp932"] = "shift_jis", ["ms932"] = "shift_jis", ["x-ms-cp932"] = "shift_jis",
        // KS C 5601 labels are used for the Unified Hangul Code superset (code page 949); it also decodes plain EUC-KR.
        ["ks_c_5601-1987"] = "ks_c_5601-1987", ["ks_c_5601"] = "ks_c_5601-1987", ["ks_c_5601-1989"] = "ks_c_5601-1987", ["ksc5601"] = "ks_c_5601-1987",
        ["ksc_5601"] = "ks_c_5601-1987", ["cp949"] = "ks_c_5601-1987", ["uhc"] = "ks_c_5601-1987", ["x-windows-949"] = "ks_c_5601-1987",
        ["euc-kr"] = "ks_c_5601-1987", ["euckr"] = "ks_c_5601-1987", ["cseuckr"] = "ks_c_5601-1987",
        // GB2312 mail is routinely GBK in practice; code page 936 is the superset and decodes both.
        ["gb2312"] = "gbk", ["csgb2312"] = "gbk", ["euc-cn"] = "gbk", ["x-euc-cn"] = "gbk", ["cp936"] = "gbk", ["ms936"] = "gbk", ["x-gbk"] = "gbk", ["gb_2312-80"] = "gbk", ["chinese"] = "gbk",
        ["gb-18030"] = "gb18030",
        ["big-5"] = "big5", ["cn-big5"] = "big5", ["csbig5"] = "big5", ["x-x-big5"] = "big5", ["big5-hkscs"] = "big5", ["cp950"] = "big5",
        ["koi8r"] = "koi8-r", ["cskoi8r"] = "koi8-r", ["koi8u"] = "koi8-u",
        ["utf16"] = "utf-16", ["ucs-2"] = "utf-16", ["utf16le"] = "utf-16le", ["utf16be"] = "utf-16be", ["utf32"] = "utf-32",
        ["iso-8859-8-i"] = "iso-8859-8", ["iso-8859-8-e"] = "iso-8859-8", ["iso-8859-6-i"] = "iso-8859-6", ["iso-8859-6-e"] = "iso-8859-6",
        ["tis-620"] = "windows-874", ["tis620"] = "windows-874", ["iso-8859-11"] = "windows-874", ["cp874"] = "windows-874",
        ["x-mac-roman"] = "macintosh", ["mac"] = "macintosh", ["macroman"] = "macintosh",
        ["cp866"] = "ibm866", ["866"] = "ibm866", ["csibm866"] = "ibm866",
        ["x-euc-jp"] = "euc-jp", ["eucjp"] = "euc-jp", ["csiso2022jp"] = "iso-2022-jp",
    };

    private static readonly HashSet<string> AsciiLabels = new(StringComparer.Ordinal)
    {
        "us-ascii", "ascii", "ansi_x3.4-1968", "ansi_x3.4-1986", "iso646-us", "iso_646.irv:1991", "us", "cp367", "ibm367", "csascii", "iso-ir-6", "646",
    };

    static Charsets() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    [GeneratedRegex(@"^iso[-_ ]?8859[-_ ]?(\d{1,2})$", RegexOptions.CultureInvariant)]
    private static partial Regex IsoPattern();

    [GeneratedRegex(@"^(?:cp|windows|win|x-cp|ms|ibm)[-_ ]?(\d{3,5})$", RegexOptions.CultureInvariant)]
    private static partial Regex CodePagePattern();

    /// <summary>Normalises a label: trims, drops quotes and an RFC 2231 language suffix ("utf-8*en"), lower-cases.</summary>
    public static string Normalize(string label)
    {
        var s = label.Trim().Trim('"', '\'').Trim();
        var star = s.IndexOf('*');
        if (star >= 0) s = s[..star];
        return s.ToLowerInvariant();
    }

    /// <summary>True for US-ASCII and its aliases (and for no label at all).</summary>
    public static bool IsAsciiLabel(string? label) => string.IsNullOrWhiteSpace(label) || AsciiLabels.Contains(Normalize(label));

    /// <summary>The encoding for a label, or null when the label is unknown. ASCII labels map to ASCII.</summary>
    public static Encoding? Find(string? label)
    {
        if (label is null) return null;
        var key = Normalize(label);
        if (key.Length == 0 || key.Length > 64) return null;
        if (AsciiLabels.Contains(key)) return AsciiLike;
        if (Cache.TryGetValue(key, out var cached)) return cached;
        var found = Resolve(key);
        if (Cache.Count < MaxCachedLabels) Cache.TryAdd(key, found);
        return found;
    }

    private static Encoding? Resolve(string key)
    {
        if (Aliases.TryGetValue(key, out var alias)) key = alias;
        var iso = IsoPattern().Match(key);
        if (iso.Success) key = "iso-8859-" + iso.Groups[1].Value;
        var cp = CodePagePattern().Match(key);
        if (cp.Success && int.TryParse(cp.Groups[1].Value, out var page))
        {
            if (page == 932) key = "shift_jis";
            else if (page == 949) key = "ks_c_5601-1987";
            else if (page == 936) key = "gbk";
            else if (page == 950) key = "big5";
            else if (page == 65001) key = "utf-8";
            else return TryGet(() => Encoding.GetEncoding(page));
        }
        // RFC 2781 §4.3: unlabelled-order "UTF-16" without a BOM is big-endian (DecodeWith still honours a BOM).
        if (key == "utf-16") return Encoding.BigEndianUnicode;
        // UTF-7 is deliberately unsupported by .NET (and an XSS vector); treat it as unknown.
        if (key is "utf-7" or "utf7" or "unicode-1-1-utf-7") return null;
        return TryGet(() => Encoding.GetEncoding(key));
    }

    private static Encoding? TryGet(Func<Encoding> get)
    {
        try
        {
            var e = get();
            return e.CodePage == 65000 ? null : e;
        }
        catch (ArgumentException) { return null; }
        catch (NotSupportedException) { return null; }
    }

    /// <summary>Decodes bytes as UTF-8 when they are valid UTF-8, else as Latin-1 (which cannot fail).</summary>
    public static string DecodeUtf8OrLatin1(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return Encoding.UTF8.GetString(bytes);
        return Encoding.Latin1.GetString(bytes);
    }

    /// <summary>
    /// Decodes bytes through a charset label. No label or an ASCII label: UTF-8 if valid, else Latin-1.
    /// Unknown label: defect "unknown-charset" and the same fallback. Never throws; malformed sequences become U+FFFD.
    /// </summary>
    public static string Decode(ReadOnlySpan<byte> bytes, string? label, List<MimeDefect>? defects = null)
    {
        if (IsAsciiLabel(label)) return DecodeUtf8OrLatin1(bytes);
        var enc = Find(label);
        if (enc is null)
        {
            defects?.Add(new MimeDefect(DefectCodes.UnknownCharset, $"unknown charset '{Truncate(label!)}'; decoded as UTF-8 or Latin-1"));
            return DecodeUtf8OrLatin1(bytes);
        }
        return DecodeWith(enc, bytes);
    }

    /// <summary>Decodes with a known encoding, honouring a byte order mark for the Unicode encodings.</summary>
    internal static string DecodeWith(Encoding enc, ReadOnlySpan<byte> bytes)
    {
        if (ReferenceEquals(enc, AsciiLike)) return DecodeUtf8OrLatin1(bytes);
        switch (enc.CodePage)
        {
            case 65001:
                if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) bytes = bytes[3..];
                return Encoding.UTF8.GetString(bytes);
            case 1200 or 1201:
                // RFC 2781 §4.3: a BOM decides the byte order of "UTF-16"; without one it is big-endian.
                if (bytes.Length >= 2 && bytes[0] == 0xFE && bytes[1] == 0xFF) return Encoding.BigEndianUnicode.GetString(bytes[2..]);
                if (bytes.Length >= 2 && bytes[0] == 0xFF && bytes[1] == 0xFE) return Encoding.Unicode.GetString(bytes[2..]);
                return enc.GetString(bytes);
        }
        return enc.GetString(bytes);
    }

    internal static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "…";
}
