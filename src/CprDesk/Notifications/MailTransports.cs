// Where outbound mail goes: an SMTP relay, or (development default) .eml files in the data directory.
using CprDesk.Intake.Email;
using CprDesk.Mail.Smtp;

namespace CprDesk.Notifications;

public sealed record DeliveryResult(bool Accepted, bool Permanent, string Reply);

/// <summary>The seam between the outbox and the world.</summary>
public interface IMailTransport
{
    string Name { get; }
    Task<DeliveryResult> DeliverAsync(string mailFrom, string recipient, byte[] raw, CancellationToken ct);
}

public sealed class FileTransport(string directory) : IMailTransport
{
    public string Name => $"file:{directory}";

    public async Task<DeliveryResult> DeliverAsync(string mailFrom, string recipient, byte[] raw, CancellationToken ct)
    {
        Directory.CreateDirectory(directory);
        var name = $"{DateTime.UtcNow:yyyyMMddTHHmmssfffffff}-{Guid.NewGuid():N}.eml";
        var path = Path.Combine(directory, name);
        await File.WriteAllBytesAsync(path + ".tmp", raw, ct);
        File.Move(path + ".tmp", path);
        return new DeliveryResult(true, false, $"written to {path}");
    }
}

public sealed class SmtpRelayTransport(RelaySettings relay, string heloName) : IMailTransport
{
    public string Name => $"smtp:{relay.Host}:{relay.Port}";

    public async Task<DeliveryResult> DeliverAsync(string mailFrom, string recipient, byte[] raw, CancellationToken ct)
    {
        var mode = Enum.TryParse<SmtpTlsMode>(relay.Tls, true, out var m) ? m : SmtpTlsMode.StartTlsWhenAvailable;
        var password = relay.PasswordEnvironmentVariable is { } env ? Environment.GetEnvironmentVariable(env) : null;
        var result = await SmtpClient.SendAsync(new SmtpRelayOptions
        {
            Host = relay.Host!, Port = relay.Port, Tls = mode, Username = relay.Username, Password = password,
            AcceptAnyCertificate = relay.AcceptAnyCertificate, HeloName = heloName,
        }, mailFrom, [recipient], raw, ct);
        var accepted = result.Delivered && result.Recipients.Any(r => r.Accepted && string.Equals(r.Recipient, recipient, StringComparison.OrdinalIgnoreCase));
        var perRecipient = result.Recipients.FirstOrDefault(r => string.Equals(r.Recipient, recipient, StringComparison.OrdinalIgnoreCase));
        var permanent = !accepted && (result.Permanent || perRecipient is { Accepted: false, Code: >= 500 });
        var reply = !accepted && perRecipient is { Accepted: false } ? $"{perRecipient.Code} {perRecipient.Reply}" : result.Reply;
        return new DeliveryResult(accepted, permanent, reply);
    }
}
