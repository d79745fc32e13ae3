// One mailbox from an address header: an optional display name and the address as written.
namespace CprDesk.Mail.Mime;

/// <summary>A mailbox. <see cref="Address"/> is local@domain as written, without angle brackets or comments.</summary>
public sealed record MailboxAddress(string? DisplayName, string Address)
{
    public override string ToString() => DisplayName is null ? Address : $"{DisplayName} <{Address}>";
}
