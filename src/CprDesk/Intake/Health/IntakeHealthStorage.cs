using CprDesk.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace CprDesk.Intake.Health;

/// <summary>A channel's silence the admins were told about; removed when mail arrives on it again.</summary>
public sealed class IntakeSilenceAlarm
{
    public string Channel { get; set; } = "";
    /// <summary>The last message before the silence (null: none ever arrived).</summary>
    public DateTime? LastMessageAt { get; set; }
    public long ExpectedSeconds { get; set; }
    public DateTime RaisedAt { get; set; }
}

internal sealed class IntakeSilenceAlarmConfiguration : IEntityTypeConfiguration<IntakeSilenceAlarm>
{
    public void Configure(EntityTypeBuilder<IntakeSilenceAlarm> b) => b.ToTable("intake_silence_alarms").HasKey(x => x.Channel);
}
