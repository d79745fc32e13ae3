// Mail over HTTP: the MTA's pipe (`cprdesk mailgate`) submits raw messages; staff read the outbox.
using CprDesk.Access;
using CprDesk.Intake;
using CprDesk.Intake.Email;
using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Web.Api;

public sealed record InboundAccepted(long MessageId, string? Ticket);
public sealed record OutboxItem(long Id, string? Ticket, string Kind, string To, string Subject, string Status, int Attempts, DateTime CreatedAt,
    DateTime? SentAt, DateTime? NextAttemptAt, string? LastReply, string MessageId);

public static class MailApi
{
    public static void MapMailApi(this WebApplication app)
    {
        app.MapPost("/api/v1/inbound/rfc822", async (HttpContext ctx, IntakePipeline intake, MailSettings mail, string? from, string? to, ILoggerFactory lf) =>
        {
            var max = mail.Listener.MaxMessageBytes;
            if (ctx.Request.ContentLength > max)
                return Results.Problem(detail: $"The message is larger than {max} bytes.", statusCode: 413, title: "Payload too large");
            using var ms = new MemoryStream();
            var chunk = new byte[81920];
            int n;
            while ((n = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted)) > 0)
            {
                if (ms.Length + n > max) return Results.Problem(detail: $"The message is larger than {max} bytes.", statusCode: 413, title: "Payload too large");
                ms.Write(chunk, 0, n);
            }
            if (ms.Length == 0) return Results.Problem(detail: "The body must be the raw message (RFC 5322).", statusCode: 400, title: "Invalid request",
                extensions: new Dictionary<string, object?> { ["field"] = "body" });
            var id = await intake.StoreRawAsync(new RawSubmission(IntakePipeline.EmailChannel, ms.ToArray(), "message/rfc822", $"mailgate:{ctx.Connection.RemoteIpAddress}")
            {
                EnvelopeFrom = from,
                EnvelopeTo = to is null ? [] : to.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries),
            });
            // Stored: from here on the MTA's job is done, whatever happens while processing.
            string? ticket = null;
            try
            {
                ticket = (await intake.ProcessAsync(id)).Report.Ticket;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                lf.CreateLogger("CprDesk.Mailgate").LogError(ex, "Stored mailgate message {MessageId} could not be processed yet; it will be retried", id);
            }
            return Results.Json(new InboundAccepted(id, ticket), statusCode: 202);
        }).RequireAuthorization(Policies.Mailgate).Accepts<byte[]>("message/rfc822").Produces<InboundAccepted>(202).ProducesProblem(401).ProducesProblem(413);

        app.MapGet("/api/v1/outbox", async (string? ticket, Database database) =>
        {
            await using var db = database.Open();
            var q = from o in db.Outbox.AsNoTracking()
                    join r in db.Reports.AsNoTracking() on o.ReportId equals r.Id into rs
                    from r in rs.DefaultIfEmpty()
                    select new { o, Ticket = r == null ? null : r.Ticket };
            if (!string.IsNullOrWhiteSpace(ticket)) q = q.Where(x => x.Ticket == ticket);
            var rows = await q.OrderByDescending(x => x.o.Id).Take(500).ToListAsync();
            return Results.Ok(rows.Select(x => new OutboxItem(x.o.Id, x.Ticket, x.o.Kind, x.o.Recipient, x.o.Subject, x.o.Status, x.o.Attempts,
                x.o.CreatedAt, x.o.SentAt, x.o.NextAttemptAt, x.o.LastReply, x.o.MessageId)));
        }).RequireAuthorization(Policies.Read).Produces<List<OutboxItem>>().ProducesProblem(401);
    }
}
