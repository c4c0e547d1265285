package collector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/internal/schedule"
)

const namespace = "docspace"

// allDescs are the descriptions of every metric, for Describe.
var allDescs []*prometheus.Desc

func desc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(namespace+"_"+name, help, labels, nil)
	allDescs = append(allDescs, d)
	return d
}

var (
	upDesc = desc("up",
		"1 if the portal answered the backup schedule call with a valid DocSpace API response, else 0.")
	statusCodeDesc = desc("api_status_code",
		"HTTP status of the backup schedule call; 0 when there was no HTTP response.")
	durationDesc = desc("scrape_duration_seconds",
		"Time this scrape spent on calls to DocSpace.")
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
	taskRunningDesc = desc("backup_task_running",
		"1 while the portal's latest backup task (getbackupprogress) has not completed, else 0.")
	taskProgressDesc = desc("backup_task_progress_ratio",
		"Progress of the portal's latest backup task (DocSpace keeps a finished one for about a day), 0 to 1.")
	taskFailedDesc = desc("backup_task_failed",
		"1 if the portal's latest backup task ended with an error, 0 if it completed cleanly or is running.")
	collectorSuccessDesc = desc("collector_success",
		"1 if the collector's call to DocSpace succeeded (or its cached value is valid), else 0.", "collector")
	collectorDurationDesc = desc("collector_duration_seconds",
		"Time the collector's call to DocSpace took in this scrape, 0 when it used a cached value; for history, its last completed call.", "collector")
	historyBackupsDesc = desc("backup_history_backups",
		"How many backups the portal lists as stored (getbackuphistory: their files were uploaded and still exist), as of the last successful history call.")
	historyLatestDesc = desc("backup_history_latest_timestamp_seconds",
		"When the newest stored backup was made (createdOn), as of the last successful history call: a backup from then can be restored. Unix seconds.")
	historyOldestDesc = desc("backup_history_oldest_timestamp_seconds",
		"When the oldest stored backup was made (createdOn), as of the last successful history call. Unix seconds.")
	historyRefreshDesc = desc("backup_history_refresh_timestamp_seconds",
		"When the last successful history call fetched the list of stored backups. Unix seconds.")
	historyIntervalDesc = desc("backup_history_interval_seconds",
		"How often the exporter reads the portal's list of stored backups, counted from the end of the last call.")
)

var periodLabels = map[schedule.Period]string{
	schedule.Daily:   "daily",
	schedule.Weekly:  "weekly",
	schedule.Monthly: "monthly",
}

func periodLabel(p *schedule.Period) string {
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

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
