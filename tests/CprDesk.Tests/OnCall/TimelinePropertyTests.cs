// Random (seeded) schedules across DST changes: the timeline and the gaps tile the window, agree with At, and with a naive oracle.
using CprDesk.OnCall;

namespace CprDesk.Tests.OnCall;

public sealed class TimelinePropertyTests
{
    private static readonly string[] Zones = ["Europe/Warsaw", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"];
    private static readonly string[] People = ["u0", "u1", "u2", "u3", "u4", "u5"];

    public static TheoryData<int> Seeds => new(Enumerable.Range(0, 100));

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Timeline_gaps_and_At_agree(int seed)
    {
        var rng = new Random(seed);
        var (schedule, overrides, absences, from, to) = RandomCase(rng);
        var shifts = OnCallCalculator.Timeline(schedule, overrides, absences, from, to);
        var gaps = OnCallCalculator.CoverageGaps(schedule, overrides, absences, from, to);

        // Shifts and gaps together tile [from, to): contiguous, non-overlapping, non-empty, all UTC.
        var tiles = shifts.Select(s => (From: s.FromUtc, To: s.UntilUtc, Shift: (OnCallShift?)s))
            .Concat(gaps.Select(g => (From: g.FromUtc, To: g.ToUtc, Shift: (OnCallShift?)null)))
            .OrderBy(t => t.From).ToList();
        Assert.NotEmpty(tiles);
        Assert.Equal(from, tiles[0].From);
        Assert.Equal(to, tiles[^1].To);
        for (var i = 0; i < tiles.Count; i++)
        {
            Assert.True(tiles[i].From < tiles[i].To, $"empty tile at {tiles[i].From:O}");
            Assert.Equal((DateTimeKind.Utc, DateTimeKind.Utc), (tiles[i].From.Kind, tiles[i].To.Kind));
            if (i == 0) continue;
            Assert.Equal(tiles[i - 1].To, tiles[i].From);
            // Maximal: neighbours differ (two gaps, or two identical shifts, would have been one).
            Assert.NotEqual(Key(tiles[i - 1].Shift), Key(tiles[i].Shift));
        }

        foreach (var shift in shifts)
        {
            var mid = shift.FromUtc + (shift.UntilUtc - shift.FromUtc) / 2;
            foreach (var t in new[] { shift.FromUtc, mid, shift.UntilUtc.AddTicks(-1) })
                Assert.Equal(Key(shift), Key(OnCallCalculator.At(schedule, overrides, absences, t).Primary));
            var until = OnCallCalculator.At(schedule, overrides, absences, shift.FromUtc).Primary!.UntilUtc;
            if (shift.UntilUtc < to) Assert.Equal(shift.UntilUtc, until); // the shift ends exactly where At says coverage ends
            else Assert.True(until >= to);
        }
        foreach (var gap in gaps)
            foreach (var t in new[] { gap.FromUtc, gap.FromUtc + (gap.ToUtc - gap.FromUtc) / 2, gap.ToUtc.AddTicks(-1) })
                Assert.Null(OnCallCalculator.At(schedule, overrides, absences, t).Primary);

        // Random instants: At agrees with a naive oracle, and its answer holds exactly until UntilUtc.
        for (var i = 0; i < 25; i++)
        {
            var t = from.AddTicks((long)(rng.NextDouble() * (to - from).Ticks));
            var answer = OnCallCalculator.At(schedule, overrides, absences, t);
            Assert.Equal(Naive(schedule, overrides, absences, t), answer.Primary is { } p ? (p.User, p.Layer) : null);
            var justBefore = OnCallCalculator.At(schedule, overrides, absences, answer.UntilUtc.AddTicks(-1));
            Assert.Equal((Key(answer.Primary), answer.Secondary), (Key(justBefore.Primary), justBefore.Secondary));
            if (answer.UntilUtc < t + OnCallCalculator.Lookahead)
            {
                var after = OnCallCalculator.At(schedule, overrides, absences, answer.UntilUtc);
                Assert.NotEqual((Key(answer.Primary), answer.Secondary), (Key(after.Primary), after.Secondary));
            }
        }
    }

    private static (string, string, bool, string?, bool)? Key(OnCallDuty? d) =>
        d is null ? null : (d.User, d.Layer, d.ViaOverride, d.CoveringFor, d.UserAbsent);

    private static (string, string, bool, string?, bool)? Key(OnCallShift? s) =>
        s is null ? null : (s.User, s.Layer, s.ViaOverride, s.CoveringFor, s.UserAbsent);

    /// <summary>The rules written the slow, obvious way: count shifts from the first hand-off, check each window one by one.</summary>
    private static (string User, string Layer)? Naive(Schedule schedule, IReadOnlyList<Override> overrides, IReadOnlyList<Absence> absences, DateTime t)
    {
        bool Away(string user) => absences.Any(a => a.User == user && a.FromUtc <= t && t < a.ToUtc);
        var overriding = overrides.LastOrDefault(o => o.Schedule == schedule.Name && o.FromUtc <= t && t < o.ToUtc);
        if (overriding is not null) return (overriding.User, "override");
        foreach (var layer in schedule.Layers.OrderByDescending(l => l.Priority))
        {
            var r = layer.Rotation;
            var zone = TimeZoneInfo.FindSystemTimeZoneById(r.TimeZoneId);
            DateTime Start(int k) => r.Length.Days > 0
                ? LocalTime.ToUtc(r.Start.AddDays(k * r.Length.Days), r.HandOff, zone)
                : LocalTime.ToUtc(r.Start, r.HandOff, zone) + r.Length.Fixed * k;
            if (t < Start(0)) continue;
            var shift = 0;
            while (Start(shift + 1) <= t) shift++;
            if (r.Window is { } w)
            {
                var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTimeFromUtc(t, zone));
                var inside = Enumerable.Range(-3, 4).Select(today.AddDays).Where(d => w.Days.Contains(d.DayOfWeek)).Any(d =>
                    LocalTime.ToUtc(d, w.From, zone) <= t && t < LocalTime.ToUtc(w.To <= w.From ? d.AddDays(1) : d, w.To, zone));
                if (!inside) continue;
            }
            for (var j = 0; j < r.Participants.Count; j++)
            {
                var user = r.Participants[(shift + j) % r.Participants.Count];
                if (!Away(user)) return (user, layer.Name);
            }
        }
        return null;
    }

    private static (Schedule, IReadOnlyList<Override>, IReadOnlyList<Absence>, DateTime, DateTime) RandomCase(Random rng)
    {
        // Spring (US 8 Mar, EU 29 Mar, Lord Howe 5 Apr) or autumn (Lord Howe 4 Oct, EU 25 Oct, US 1 Nov) of 2026.
        var season = rng.Next(2) == 0 ? new DateTime(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc) : new DateTime(2026, 10, 1, 0, 0, 0, DateTimeKind.Utc);
        var from = season.AddMinutes(rng.Next(0, 48 * 60));
        var to = from.AddDays(rng.Next(3, 40)).AddMinutes(rng.Next(0, 1440));

        var priorities = Enumerable.Range(0, 10).OrderBy(_ => rng.Next()).ToArray();
        var layers = Enumerable.Range(0, rng.Next(1, 4)).Select(i => new Layer($"layer{i}", priorities[i], RandomRotation(rng, season))).ToList();
        var schedule = new Schedule("s", layers);

        DateTime Somewhen() => season.AddMinutes(rng.Next(-3 * 1440, 45 * 1440));
        var overrides = Enumerable.Range(0, rng.Next(0, 4)).Select(_ =>
        {
            var start = Somewhen();
            return new Override(rng.Next(5) == 0 ? "other" : "s", rng.Next(3) == 0 ? "ov" : People[rng.Next(People.Length)],
                start, start.AddMinutes(rng.Next(30, 72 * 60)));
        }).ToList();
        var absences = Enumerable.Range(0, rng.Next(0, 7)).Select(_ =>
        {
            var start = Somewhen();
            return new Absence(rng.Next(6) == 0 ? "ov" : People[rng.Next(People.Length)], start, start.AddMinutes(rng.Next(60, 10 * 1440)), "random");
        }).ToList();
        return (schedule, overrides, absences, from, to);
    }

    private static Rotation RandomRotation(Random rng, DateTime season)
    {
        var participants = Enumerable.Range(0, rng.Next(1, 5)).Select(_ => People[rng.Next(People.Length)]).ToList();
        var length = rng.Next(5) switch
        {
            0 => ShiftLength.Daily,
            1 => ShiftLength.Weekly,
            2 => ShiftLength.CalendarDays(rng.Next(2, 5)),
            3 => ShiftLength.Hours(rng.Next(1, 37)),
            _ => ShiftLength.FixedDuration(TimeSpan.FromMinutes(rng.Next(30, 600))),
        };
        var handOff = rng.Next(4) == 0 ? new TimeOnly(2, 30) : new TimeOnly(rng.Next(24), 15 * rng.Next(4));
        var start = DateOnly.FromDateTime(season).AddDays(rng.Next(-10, 30));
        WeeklyWindow? window = null;
        if (rng.Next(5) < 2)
        {
            var days = Enum.GetValues<DayOfWeek>().Where(_ => rng.Next(2) == 0).ToHashSet();
            if (days.Count == 0) days.Add((DayOfWeek)rng.Next(7));
            window = new WeeklyWindow(days, new TimeOnly(rng.Next(24), 30 * rng.Next(2)), new TimeOnly(rng.Next(24), 30 * rng.Next(2)));
        }
        return new Rotation(participants, length, handOff, Zones[rng.Next(Zones.Length)], start, window);
    }
}
