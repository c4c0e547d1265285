package collector

import (
	"fmt"
	"strings"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/internal/schedule"
)

// schedulePath returns the portal's backup schedule (getbackupschedule).
const schedulePath = "/api/2.0/backup/getbackupschedule"

var scheduleEndpoint = &endpoint{
	name: "schedule", call: "backup schedule", path: schedulePath,
	fetch: func(s *scrape) answer {
		return timed(func() (*backupSchedule, error) { return fetchSchedule(s) })
	},
	collect: collectSchedule,
}

var (
	configuredDesc = desc("backup_schedule_configured",
		"1 if the portal has a backup schedule, 0 if it answered without one.")
	backupsStoredDesc = desc("backup_schedule_backups_stored",
		"How many scheduled backup copies the schedule keeps (backupsStored): a limit, not a count.")
	dumpDesc = desc("backup_schedule_dump_enabled",
		"1 if the schedule is the dump-based, server-wide one (dump), else 0.")
	periodDesc = desc("backup_schedule_period",
		"The schedule's period (cronParams.period): 0 daily, 1 weekly, 2 monthly.")
	hourDesc = desc("backup_schedule_hour",
		"The hour (0-23, portal time zone) at which the scheduled backup starts (cronParams.hour).")
	dayDesc = desc("backup_schedule_day",
		"The schedule's day (cronParams.day): 0 for daily; 1-7 for weekly with 1 = Sunday; 1-31 for monthly.")
	infoDesc = desc("backup_schedule_info",
		"The backup schedule's period and storage type as labels; always 1.", "period", "storage_type")
	lastBackupDesc = desc("backup_last_timestamp_seconds",
		"When DocSpace's scheduler started the last scheduled backup (lastBackupTime): no proof that it succeeded. Unix seconds.")
	nextBackupDesc = desc("backup_schedule_next_timestamp_seconds",
		"When DocSpace's scheduler is due to start the next scheduled backup, computed as it does from lastBackupTime and the portal time zone (read hourly); in the past means overdue. Unix seconds.")
	intervalDesc = desc("backup_schedule_interval_seconds",
		"Length of the schedule's period that ends at the next scheduled backup: 86400 daily, 604800 weekly, the real gap for monthly.")
)

// storageType is the schedule's storageType (BackupStorageType).
type storageType int

// storageTypeLabels name DocSpace's storage types for the storage_type label.
var storageTypeLabels = map[storageType]string{
	0: "documents",
	1: "thirdparty_documents",
	2: "custom_cloud",
	3: "local",
	4: "data_store",
	5: "thirdparty_consumer",
}

var periodLabels = map[schedule.Period]string{
	schedule.Daily:   "daily",
	schedule.Weekly:  "weekly",
	schedule.Monthly: "monthly",
}

// dayRange is the range of cronParams.day DocSpace stores for the period
// (see internal/schedule: its cron parser refuses other values): 0 for
// daily, as it reads a daily schedule back; any 0-31 for an unknown period.
func dayRange(p *schedule.Period) (lo, hi int, kind string) {
	switch {
	case p == nil:
	case *p == schedule.Daily:
		return 0, 0, "a daily schedule"
	case *p == schedule.Weekly:
		return 1, 7, "a weekly schedule, 1 = Sunday"
	case *p == schedule.Monthly:
		return 1, 31, "a monthly schedule"
	}
	return 0, 31, "any schedule"
}

// label names *k as m does; "unknown" when it is nil or not in m.
func label[K comparable](m map[K]string, k *K) string {
	if k != nil {
		if l, ok := m[*k]; ok {
			return l
		}
	}
	return "unknown"
}

// backupSchedule is what the exporter reads of DocSpace's ScheduleDto:
// never storageParams, which can hold storage credentials. A nil field was
// absent (older servers leave out dump; backupsStored is absent when 0).
type backupSchedule struct {
	StorageType *storageType `json:"storageType"`
	// CronParams: hour is 0-23 in the portal's time zone; day is 0 for
	// daily, 1-7 (1 = Sunday) for weekly, 1-31 for monthly.
	CronParams *struct {
		Period *schedule.Period `json:"period"`
		Hour   *int             `json:"hour"`
		Day    *int             `json:"day"`
	} `json:"cronParams"`
	BackupsStored  *int    `json:"backupsStored"`
	LastBackupTime *string `json:"lastBackupTime"`
	Dump           *bool   `json:"dump"`

	lastBackup time.Time // LastBackupTime; zero when it never ran
}

// fetchSchedule calls getbackupschedule. It returns nil and no error when
// the portal has no backup schedule.
func fetchSchedule(s *scrape) (*backupSchedule, error) {
	b, err := client.Get[backupSchedule](s.ctx, s.portal.client, schedulePath, s.portal.dumpQuery())
	if err != nil || b == nil || b.LastBackupTime == nil {
		return b, err
	}
	if b.lastBackup, err = client.ParseDateTime(*b.LastBackupTime); err != nil {
		return nil, &client.Error{Kind: client.KindMalformed, Endpoint: schedulePath, StatusCode: 200,
			Detail: "the backup schedule in the answer is malformed", Err: fmt.Errorf("lastBackupTime: %w", err)}
	}
	return b, nil
}

func collectSchedule(s *scrape, a answer) {
	b := a.value.(*backupSchedule)
	if b == nil {
		s.send(configuredDesc, 0)
		return
	}
	s.send(configuredDesc, 1)
	if b.BackupsStored != nil {
		s.send(backupsStoredDesc, float64(*b.BackupsStored))
	}
	if b.Dump != nil {
		s.send(dumpDesc, boolValue(*b.Dump))
	}
	var (
		period     *schedule.Period
		outOfRange []string // the cronParams DocSpace cannot store: left out
	)
	if cp := b.CronParams; cp != nil {
		period = cp.Period
		if cp.Period != nil {
			s.send(periodDesc, float64(*cp.Period))
		}
		if h := cp.Hour; h != nil && (*h < 0 || *h > 23) {
			outOfRange = append(outOfRange, fmt.Sprintf("hour %d (want 0-23)", *h))
		} else if h != nil {
			s.send(hourDesc, float64(*h))
		}
		if lo, hi, kind := dayRange(period); cp.Day != nil && (*cp.Day < lo || *cp.Day > hi) {
			outOfRange = append(outOfRange, fmt.Sprintf("day %d (want %d-%d for %s)", *cp.Day, lo, hi, kind))
		} else if cp.Day != nil {
			s.send(dayDesc, float64(*cp.Day))
		}
	}
	m := s.portal.memory
	bad := strings.Join(outOfRange, ", ")
	if n, _ := m.observe(subjectScheduleRange, bad, false); n == failing {
		s.log().Warn("the backup schedule has values DocSpace cannot store; they are not exported and the next scheduled backup is not computed", "out_of_range", bad)
	}
	s.send(infoDesc, 1, label(periodLabels, period), label(storageTypeLabels, b.StorageType))
	if !b.lastBackup.IsZero() {
		s.summary.LastBackup = b.lastBackup
		s.send(lastBackupDesc, unixSeconds(b.lastBackup))
	}
	// The next slot is the scheduler's: it needs the portal's time zone.
	loc := s.location()
	if loc == nil || b.CronParams == nil || period == nil || b.CronParams.Hour == nil || b.CronParams.Day == nil || bad != "" {
		return
	}
	cron := schedule.Cron{Period: *period, Hour: *b.CronParams.Hour, Day: *b.CronParams.Day}
	next, interval, err := schedule.Next(cron, b.lastBackup, m.now(), loc)
	if n, _ := m.observe(subjectNextSlot, errorText(err), false); n == failing {
		s.log().Warn("cannot compute the next scheduled backup", "err", err)
	}
	if err != nil {
		return
	}
	s.summary.NextBackup = next
	s.send(nextBackupDesc, unixSeconds(next))
	s.send(intervalDesc, interval.Seconds())
}
