// Streaming Content-Transfer-Encoding decoders (RFC 2045 §6): identity, base64 and quoted-printable, fed line by line.
namespace CprDesk.Mail.Mime;

/// <summary>Receives a body line by line (content, then its line ending) and writes decoded bytes to a spool.</summary>
internal abstract class BodyDecoder(Spool output)
{
    private readonly byte[] _buffer = new byte[8192];
    private int _count;

    protected Spool Output { get; } = output;

    public abstract void Content(ReadOnlySpan<byte> data);

    public abstract void LineBreak(ReadOnlySpan<byte> eol);

    /// <summary>End of the body; reports defects of the whole body once.</summary>
    public abstract void End(List<MimeDefect> defects);

    protected void Emit(byte b)
    {
        if (_count == _buffer.Length) Flush();
        _buffer[_count++] = b;
    }

    protected void Emit(ReadOnlySpan<byte> data)
    {
        if (data.Length > _buffer.Length - _count)
        {
            Flush();
            if (data.Length > _buffer.Length)
            {
                Output.Write(data);
                return;
            }
        }
        data.CopyTo(_buffer.AsSpan(_count));
        _count += data.Length;
    }

    protected void Flush()
    {
        Output.Write(_buffer.AsSpan(0, _count));
        _count = 0;
    }

    public static BodyDecoder For(string? transferEncoding, Spool output) => transferEncoding switch
    {
        "base64" => new Base64Decoder(output),
        "quoted-printable" => new QuotedPrintableDecoder(output),
        _ => new IdentityDecoder(output),
    };
}

/// <summary>7bit, 8bit, binary (and unknown encodings): the bytes as they are, line endings included.</summary>
internal sealed class IdentityDecoder(Spool output) : BodyDecoder(output)
{
    public override void Content(ReadOnlySpan<byte> data) => Emit(data);

    public override void LineBreak(ReadOnlySpan<byte> eol) => Emit(eol);

    public override void End(List<MimeDefect> defects) => Flush();
}

/// <summary>
/// RFC 2045 §6.8 base64. Whitespace is ignored silently, other characters outside the alphabet are ignored with a defect,
/// '=' ends the data (§6.8: "may be taken as evidence that the end of the data has been reached"), and a final quantum
/// that lacks its padding is still decoded.
/// </summary>
internal sealed class Base64Decoder(Spool output) : BodyDecoder(output)
{
    private int _quantum;
    private int _count;
    private bool _done;
    private bool _invalid;
    private bool _afterEnd;

    public static int Value(int c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '+' => 62,
        '/' => 63,
        _ => -1,
    };

    public override void Content(ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            if (_done)
            {
                if (b is not ((byte)'=' or (byte)' ' or (byte)'\t')) _afterEnd = true;
                continue;
            }
            var v = Value(b);
            if (v >= 0)
            {
                _quantum = (_quantum << 6) | v;
                if (++_count == 4)
                {
                    Emit((byte)(_quantum >> 16));
                    Emit((byte)(_quantum >> 8));
                    Emit((byte)_quantum);
                    _quantum = 0;
                    _count = 0;
                }
            }
            else if (b == (byte)'=')
            {
                if (_count >= 2)
                {
                    EmitPartial();
                    _done = true;
                }
                else
                {
                    _invalid = true; // padding where no partial quantum is open
                    if (_count == 0) _done = true;
                }
            }
            else if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                _invalid = true;
            }
        }
    }

    private void EmitPartial()
    {
        // Two characters carry one byte, three carry two (RFC 2045 §6.8, the final quantum).
        if (_count == 2) Emit((byte)(_quantum >> 4));
        else if (_count == 3)
        {
            Emit((byte)(_quantum >> 10));
            Emit((byte)(_quantum >> 2));
        }
        _quantum = 0;
        _count = 0;
    }

    public override void LineBreak(ReadOnlySpan<byte> eol)
    {
    }

    public override void End(List<MimeDefect> defects)
    {
        if (!_done && _count >= 2)
        {
            EmitPartial();
            defects.Add(new MimeDefect(DefectCodes.MissingBase64Padding, "base64 body ends without its '=' padding"));
        }
        else if (!_done && _count == 1)
        {
            _invalid = true; // six bits cannot make a byte; they are dropped
        }
        if (_invalid) defects.Add(new MimeDefect(DefectCodes.InvalidBase64, "characters outside the base64 alphabet (or misplaced padding) were ignored"));
        if (_afterEnd) defects.Add(new MimeDefect(DefectCodes.InvalidBase64, "data after the base64 padding was ignored"));
        Flush();
    }
}

/// <summary>
/// RFC 2045 §6.7 quoted-printable. "=XX" (hex in either case) is a byte; "=" at the end of a line (trailing whitespace
/// allowed) is a soft line break; trailing whitespace on a line is deleted (rule 3: transports add it); an invalid
/// escape is kept literally with a defect. Hard line breaks are kept as written.
/// </summary>
internal sealed class QuotedPrintableDecoder(Spool output) : BodyDecoder(output)
{
    private const int MaxHeldWhitespace = 4096;

    private enum State { Text, Equals, EqualsHex, EqualsSpace }

    private State _state;
    private byte _hex;
    private readonly List<byte> _space = []; // whitespace held until we know whether the line ends after it
    private bool _invalid;

    public override void Content(ReadOnlySpan<byte> data)
    {
        foreach (var b in data) Step(b);
    }

    private void Step(byte b)
    {
        switch (_state)
        {
            case State.Equals:
                if (Hex.Value(b) >= 0)
                {
                    _hex = b;
                    _state = State.EqualsHex;
                    return;
                }
                if (b is (byte)' ' or (byte)'\t')
                {
                    _space.Add(b);
                    _state = State.EqualsSpace;
                    return;
                }
                Invalid([(byte)'=']);
                break;
            case State.EqualsHex:
                if (Hex.TryByte(_hex, b, out var decoded))
                {
                    Emit(decoded);
                    _state = State.Text;
                    return;
                }
                Invalid([(byte)'=', _hex]);
                break;
            case State.EqualsSpace:
                if (b is (byte)' ' or (byte)'\t')
                {
                    if (_space.Count < MaxHeldWhitespace) _space.Add(b);
                    return;
                }
                Emit((byte)'=');
                _invalid = true;
                FlushSpace();
                _state = State.Text;
                break;
        }

        if (b is (byte)' ' or (byte)'\t')
        {
            if (_space.Count >= MaxHeldWhitespace) FlushSpace();
            _space.Add(b);
            return;
        }
        FlushSpace();
        if (b == (byte)'=') _state = State.Equals;
        else Emit(b);
    }

    private void Invalid(ReadOnlySpan<byte> literal)
    {
        _invalid = true;
        Emit(literal);
        _state = State.Text;
    }

    private void FlushSpace()
    {
        foreach (var s in _space) Emit(s);
        _space.Clear();
    }

    public override void LineBreak(ReadOnlySpan<byte> eol)
    {
        EndOfLine();
        if (_soft) _soft = false;
        else Emit(eol);
    }

    private bool _soft;

    private void EndOfLine()
    {
        switch (_state)
        {
            case State.Equals or State.EqualsSpace:
                _soft = true; // soft line break: "=" and the line ending vanish
                break;
            case State.EqualsHex:
                _invalid = true;
                Emit((byte)'=');
                Emit(_hex);
                break;
        }
        _state = State.Text;
        _space.Clear(); // rule 3: trailing whitespace is transport padding
    }

    public override void End(List<MimeDefect> defects)
    {
        EndOfLine();
        _soft = false;
        if (_invalid) defects.Add(new MimeDefect(DefectCodes.InvalidQuotedPrintable, "invalid quoted-printable escapes kept literally"));
        Flush();
    }
}
