using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;

namespace CprDesk.Reports;

/// <summary>Ticket numbers CPR-YYYY-NNNNNN: sequential per year, allocated inside the write transaction that
/// creates the report, never reused (reports are never deleted).</summary>
public static class Tickets
{
    public static async Task<string> NextAsync(CprDeskDb db, DateTime receivedAt)
    {
        var year = receivedAt.Year;
        var counter = await db.TicketCounters.FirstOrDefaultAsync(c => c.Year == year);
        if (counter is null)
        {
            counter = new TicketCounter { Year = year, LastValue = 0 };
            db.TicketCounters.Add(counter);
        }
        counter.LastValue++;
        return Format(year, counter.LastValue);
    }

    public static string Format(int year, int number) => $"CPR-{year:D4}-{number:D6}";

    public static bool LooksLikeTicket(string s) =>
        System.Text.RegularExpressions.Regex.IsMatch(s, @"^CPR-\d{4}-\d{6,}$");
}
