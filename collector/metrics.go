package collector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/docspace-exporter/docspace_exporter/client"
)

const namespace = "docspace"

// familyOf maps each Desc to the name and help of its metric family, for
// the encoder in handler.go. Every Desc is made by desc and is a gauge.
var familyOf = map[*prometheus.Desc]family{}

type family struct{ name, help string }

func desc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(namespace+"_"+name, help, labels, nil)
	familyOf[d] = family{namespace + "_" + name, help}
	return d
}

var (
	upDesc = desc("up",
		"1 if the portal answered the backup schedule call with a valid DocSpace API response, else 0.")
	statusCodeDesc = desc("api_status_code",
		"HTTP status code of the backup schedule call; 0 when there was no HTTP response (refused, TLS error, timeout).")
	durationDesc = desc("scrape_duration_seconds",
		"Time this scrape spent on calls to DocSpace.")
	configuredDesc = desc("backup_schedule_configured",
		"1 if the portal has a backup schedule, 0 if it answered without one.")
	backupsStoredDesc = desc("backup_schedule_backups_stored",
		"How many scheduled backup copies the schedule keeps (backupsStored): a retention limit, not a count of existing backups.")
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
		"When DocSpace's scheduler started the last scheduled backup (lastBackupTime), as Unix seconds; it is set when a backup starts, so it is no proof that the backup succeeded. Absent while the schedule has never run.")
	nextBackupDesc = desc("backup_schedule_next_timestamp_seconds",
		"When DocSpace's scheduler is due to start the next scheduled backup, as Unix seconds, computed as the scheduler does from lastBackupTime and the portal time zone (read from /api/2.0/settings with the first scrape and then at most once an hour, unless fixed by configuration). In the past means overdue; DocSpace starts a due backup within one scheduler tick (15 minutes by default). Absent while the time zone is unknown.")
	intervalDesc = desc("backup_schedule_interval_seconds",
		"Length of the schedule's period that ends at the next scheduled backup, from the slot before it: 86400 daily, 604800 weekly, the real gap for monthly; elapsed time, so a daily period across a daylight saving change is 23 or 25 hours.")
	taskRunningDesc = desc("backup_task_running",
		"1 while the portal's latest backup task (getbackupprogress) has not completed, else 0.")
	taskProgressDesc = desc("backup_task_progress_ratio",
		"Progress of the portal's latest backup task, 0 to 1. Absent when DocSpace knows no task (it keeps a finished one for about a day).")
	taskFailedDesc = desc("backup_task_failed",
		"1 if the portal's latest backup task completed with an error or in the failed state, 0 if it completed cleanly or is running. Absent when DocSpace knows no task.")
	collectorSuccessDesc = desc("collector_success",
		"1 if the collector's call to DocSpace succeeded in this scrape (or its cached value is valid), else 0.", "collector")
	collectorDurationDesc = desc("collector_duration_seconds",
		"Time the collector's call to DocSpace took in this scrape; 0 when it used a cached value.", "collector")
)

var periodLabels = map[client.Period]string{
	client.PeriodDaily:   "daily",
	client.PeriodWeekly:  "weekly",
	client.PeriodMonthly: "monthly",
}

func periodLabel(p *client.Period) string {
	if p != nil {
		if l, ok := periodLabels[*p]; ok {
			return l
		}
	}
	return "unknown"
}

var storageTypeLabels = map[client.StorageType]string{
	client.StorageDocuments:           "documents",
	client.StorageThirdPartyDocuments: "thirdparty_documents",
	client.StorageCustomCloud:         "custom_cloud",
	client.StorageLocal:               "local",
	client.StorageDataStore:           "data_store",
	client.StorageThirdPartyConsumer:  "thirdparty_consumer",
}

func storageTypeLabel(t *client.StorageType) string {
	if t != nil {
		if l, ok := storageTypeLabels[*t]; ok {
			return l
		}
	}
	return "unknown"
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
