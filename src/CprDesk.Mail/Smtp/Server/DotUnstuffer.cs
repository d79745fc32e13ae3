// The DATA byte state machine: removes dot-stuffing and finds the CRLF.CRLF end (RFC 5321 §4.5.2, §4.1.1.4).
namespace CprDesk.Mail.Smtp.Server;

/// <summary>
/// Turns the DATA byte stream into message bytes, chunk by chunk, whatever the chunk boundaries.
/// Only CRLF ends a line here: a bare LF or CR is kept as message data and neither starts a line
/// for unstuffing nor can form the terminator. Accepting "LF.LF" or "CR.CR" as an end would let one
/// SMTP hop see two messages where another sees one ("SMTP smuggling"), so the end is CRLF.CRLF only.
/// The CRLF before the final dot is the end of the last line and stays in the message.
/// </summary>
internal sealed class DotUnstuffer
{
    private enum State
    {
        /// <summary>At the start of a line (start of DATA, or just after CRLF).</summary>
        LineStart,
        /// <summary>Inside a line.</summary>
        InLine,
        /// <summary>Just after a CR that was written out.</summary>
        AfterCr,
        /// <summary>A '.' at the start of a line, held back.</summary>
        Dot,
        /// <summary>".CR" at the start of a line: the dot and the CR are held back.</summary>
        DotCr,
    }

    private State _state = State.LineStart;

    /// <summary>True once the terminating ".CRLF" line has been consumed.</summary>
    public bool Completed { get; private set; }

    /// <summary>
    /// Consumes input up to and including the terminator, writing message bytes to <paramref name="output"/>
    /// (which must be at least one byte longer than the input: a held-back CR can be released with it).
    /// Returns the number of input bytes consumed; bytes after the terminator are not consumed.
    /// </summary>
    public int Process(ReadOnlySpan<byte> input, Span<byte> output, out int written)
    {
        if (output.Length < input.Length + 1)
        {
            throw new ArgumentException("The output must be at least one byte longer than the input.", nameof(output));
        }
        written = 0;
        var i = 0;
        while (i < input.Length && !Completed)
        {
            switch (_state)
            {
                case State.InLine:
                {
                    // The common case: copy up to the next CR in one go.
                    var rest = input[i..];
                    var cr = rest.IndexOf((byte)'\r');
                    var run = cr < 0 ? rest.Length : cr;
                    rest[..run].CopyTo(output[written..]);
                    written += run;
                    i += run;
                    if (cr >= 0)
                    {
                        output[written++] = (byte)'\r';
                        i++;
                        _state = State.AfterCr;
                    }
                    break;
                }
                case State.LineStart:
                {
                    var b = input[i++];
                    if (b == (byte)'.')
                    {
                        _state = State.Dot;
                    }
                    else
                    {
                        output[written++] = b;
                        _state = b == (byte)'\r' ? State.AfterCr : State.InLine;
                    }
                    break;
                }
                case State.AfterCr:
                {
                    var b = input[i++];
                    output[written++] = b;
                    _state = b switch
                    {
                        (byte)'\n' => State.LineStart,
                        (byte)'\r' => State.AfterCr,
                        _ => State.InLine,
                    };
                    break;
                }
                case State.Dot:
                {
                    var b = input[i++];
                    if (b == (byte)'\r')
                    {
                        _state = State.DotCr;
                    }
                    else
                    {
                        // §4.5.2: a line starting with a period and having more characters loses that period.
                        output[written++] = b;
                        _state = State.InLine;
                    }
                    break;
                }
                case State.DotCr:
                {
                    var b = input[i++];
                    if (b == (byte)'\n')
                    {
                        Completed = true;
                        break;
                    }
                    // ".CR" followed by something else: the line goes on, so its leading dot is dropped
                    // and the held CR is data.
                    output[written++] = (byte)'\r';
                    output[written++] = b;
                    _state = b switch
                    {
                        (byte)'\r' => State.AfterCr,
                        _ => State.InLine,
                    };
                    break;
                }
            }
        }
        return i;
    }
}
