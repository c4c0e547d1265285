package docspacetest

import "time"

// Sample ScheduleDto bodies (the "response" object only) for SetSchedule and
// SetDumpSchedule, from section 10(a) of the reference and its variants.
const (
	// ScheduleWeekly is sample 10(a): weekly on Mondays (day 2) at 02:00
	// portal time, into room 1234, on a MySQL-backed server.
	ScheduleWeekly = `{"storageType":0,"storageParams":{"folderId":"1234"},"cronParams":{"period":1,"hour":2,"day":2},"backupsStored":7,"lastBackupTime":"2026-06-29T02:07:31","dump":false}`

	// ScheduleNeverRun is ScheduleWeekly for a schedule that never ran.
	ScheduleNeverRun = `{"storageType":0,"storageParams":{"folderId":"1234"},"cronParams":{"period":1,"hour":2,"day":2},"backupsStored":7,"lastBackupTime":"0001-01-01T00:00:00","dump":false}`

	// ScheduleDaily runs every day at 03:00 portal time.
	ScheduleDaily = `{"storageType":0,"storageParams":{"folderId":"1234"},"cronParams":{"period":0,"hour":3,"day":0},"backupsStored":7,"lastBackupTime":"2026-06-29T03:04:10","dump":false}`

	// ScheduleMonthly15 runs on the 15th of every month at 01:00 portal time.
	ScheduleMonthly15 = `{"storageType":0,"storageParams":{"folderId":"1234"},"cronParams":{"period":2,"hour":1,"day":15},"backupsStored":3,"lastBackupTime":"2026-06-15T01:02:44","dump":false}`

	// ScheduleDataStore stores into the portal's temporary storage; its
	// folderId is null.
	ScheduleDataStore = `{"storageType":4,"storageParams":{"folderId":null},"cronParams":{"period":1,"hour":2,"day":2},"backupsStored":7,"lastBackupTime":"2026-06-29T02:07:31","dump":false}`

	// ScheduleS3 stores into Amazon S3 and carries credentials (the values in
	// S3SecretValues) that must never leave the exporter.
	ScheduleS3 = `{"storageType":5,"storageParams":{"module":"s3","bucket":"acme-backups","region":"eu-central-1","serviceurl":"","forcepathstyle":"false","usehttp":"false","acesskey":"FAKE-ACCESS-KEY-ID","secretaccesskey":"FAKE-SECRET"},"cronParams":{"period":1,"hour":2,"day":2},"backupsStored":7,"lastBackupTime":"2026-06-29T02:07:31","dump":false}`

	// SchedulePostgres is ScheduleWeekly as a PostgreSQL-backed server writes
	// lastBackupTime: fractional seconds and a Z.
	SchedulePostgres = `{"storageType":0,"storageParams":{"folderId":"1234"},"cronParams":{"period":1,"hour":2,"day":2},"backupsStored":7,"lastBackupTime":"2026-06-29T02:07:31.123456Z","dump":false}`

	// ScheduleUnlimited is ScheduleWeekly as the spec allows it: backupsStored
	// null ("null, not 0, when unlimited") and lastBackupTime with an
	// offset, the spec's example (02:30 UTC).
	ScheduleUnlimited = `{"storageType":0,"storageParams":{"folderId":"1234"},"cronParams":{"period":1,"hour":2,"day":2},"backupsStored":null,"lastBackupTime":"2008-04-10T06:30:00+04:00","dump":false}`

	// ScheduleOutOfRange is a spec-valid schedule whose cronParams DocSpace
	// could never store: the schema bounds neither hour nor day.
	ScheduleOutOfRange = `{"storageType":0,"storageParams":{"folderId":"1234"},"cronParams":{"period":1,"hour":1700000000,"day":-3},"backupsStored":7,"lastBackupTime":"2026-06-29T02:07:31","dump":false}`

	// ScheduleOldServer is ScheduleWeekly from a very old server: no dump
	// key and no backupsStored.
	ScheduleOldServer = `{"storageType":0,"storageParams":{"folderId":"1234"},"cronParams":{"period":1,"hour":2,"day":2},"lastBackupTime":"2026-06-29T02:07:31"}`

	// ScheduleDump is the server-wide dump schedule (tenant -1) of a
	// self-hosted installation: daily at 04:00 to a local path.
	ScheduleDump = `{"storageType":3,"storageParams":{"filePath":"/var/www/onlyoffice/Data/Backup/","folderId":"/var/www/onlyoffice/Data/Backup/","tenantId":"-1"},"cronParams":{"period":0,"hour":4,"day":0},"backupsStored":3,"lastBackupTime":"2026-06-30T04:05:12","dump":true}`
)

// S3SecretValues lists the credential values inside ScheduleS3. None of them
// may ever appear in metrics, labels or logs.
var S3SecretValues = []string{"FAKE-ACCESS-KEY-ID", "FAKE-SECRET"}

// ProgressLinkSecret is the signature inside ProgressCompleted's pre-signed
// download link. It must never appear in metrics, labels or logs.
const ProgressLinkSecret = "FAKE-LINK-SIGNATURE"

// Sample BackupProgress bodies (the "response" object only) for SetProgress.
// status is DistributedTaskStatus: 0 Created, 1 Running, 2 Completed,
// 3 Canceled, 4 Failted.
const (
	// ProgressFailed is sample 10(g): a backup that failed inside the job,
	// which ends as status 2 (Completed) with a non-empty error.
	ProgressFailed = `{"isCompleted":true,"progress":45,"error":"Access to the path is denied.","link":"","tenantId":1,"backupProgressEnum":0,"status":2,"taskId":"0f8fad5b-d9cb-469f-a165-70867728950e"}`

	// ProgressRunning is a backup in progress.
	ProgressRunning = `{"isCompleted":false,"progress":45,"error":"","link":"","tenantId":1,"backupProgressEnum":0,"status":1,"taskId":"7c9e6679-7425-40de-944b-e07fc1f90ae7"}`

	// ProgressCompleted is a successful backup; link is a pre-signed URL
	// containing ProgressLinkSecret ("&" escaped as System.Text.Json does).
	ProgressCompleted = `{"isCompleted":true,"progress":100,"error":"","link":"https://acme-backups.s3.eu-central-1.amazonaws.com/backup/docspace_2026-06-29_02-07-31.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256\u0026X-Amz-Credential=FAKEKEY%2F20260629%2Feu-central-1%2Fs3%2Faws4_request\u0026X-Amz-Date=20260629T021502Z\u0026X-Amz-Expires=86400\u0026X-Amz-SignedHeaders=host\u0026X-Amz-Signature=` + ProgressLinkSecret + `","tenantId":1,"backupProgressEnum":0,"status":2,"taskId":"16fd2706-8baf-433b-82eb-8c7fada847da"}`

	// ProgressCanceled is a cancelled backup.
	ProgressCanceled = `{"isCompleted":true,"progress":30,"error":"","link":"","tenantId":1,"backupProgressEnum":0,"status":3,"taskId":"886313e1-3b8a-5372-9b90-0c9aee199e5d"}`

	// ProgressWarning is a backup of DocSpace 3.6 or later that completed but
	// could not back up some files: status 2 with a warning.
	ProgressWarning = `{"isCompleted":true,"progress":100,"error":"","warning":"Some files could not be backed up: 2 files were not found in the storage.","link":"","tenantId":1,"backupProgressEnum":0,"status":2,"taskId":"3f2504e0-4f89-11d3-9a0c-0305e82c3301"}`

	// ProgressFailted is a backup whose exception escaped the job: status 4
	// ("Failted", sic) with a non-empty error.
	ProgressFailted = `{"isCompleted":true,"progress":10,"error":"Object reference not set to an instance of an object.","link":"","tenantId":1,"backupProgressEnum":0,"status":4,"taskId":"a8098c1a-f86e-11da-bd1a-00112444be1e"}`
)

// Sample BackupProgress bodies of a restore, for SetRestore.
const (
	// RestoreRunning is a restore at 40%: the portal is being restored.
	RestoreRunning = `{"isCompleted":false,"progress":40,"error":"","link":"","tenantId":1,"backupProgressEnum":1,"status":1,"taskId":"9b2f3c1e-6a7d-4e2b-8c51-2f0e4d6a7b10"}`

	// RestoreCompleted is a restore that ended well.
	RestoreCompleted = `{"isCompleted":true,"progress":100,"error":"","link":"","tenantId":1,"backupProgressEnum":1,"status":2,"taskId":"9b2f3c1e-6a7d-4e2b-8c51-2f0e4d6a7b10"}`
)

// at returns a UTC time for the sample histories.
func at(year int, month time.Month, day, hour, minute, second, micro int) time.Time {
	return time.Date(year, month, day, hour, minute, second, micro*1000, time.UTC)
}

// Sample stored-backup histories for SetHistory and SetDumpHistory, matching
// the sample schedules: a record's createdOn is when its upload finished,
// some minutes after the scheduler started the backup.
var (
	// HistoryWeekly is what the portal of ScheduleWeekly (weekly on Mondays
	// at 02:00, last start 2026-06-29 02:07:31 UTC) has stored: the last
	// three scheduled backups, the newest made after that start, and two
	// manual ones, newest first. MySQL date forms.
	HistoryWeekly = weeklyHistory(DateTimeMySQL)

	// HistoryWeeklyPostgres is HistoryWeekly as a PostgreSQL-backed portal
	// lists it: createdOn with microseconds and Z.
	HistoryWeeklyPostgres = weeklyHistory(DateTimePostgres)

	// HistoryNotStored is HistoryWeekly without the backup of the last
	// scheduled start: that backup started (lastBackupTime moved) but never
	// landed in the storage. Every stored backup is older than the start.
	HistoryNotStored = weeklyHistory(DateTimeMySQL)[1:]

	// HistoryDump is what the dump schedule ScheduleDump (daily at 04:00,
	// last start 2026-06-30 04:05:12 UTC) has stored on the server: three
	// whole-server dumps named workspace_..., on a local path.
	HistoryDump = []Backup{
		StoredBackup("workspace", at(2026, 6, 30, 4, 31, 40, 0), 3, DateTimeMySQL),
		StoredBackup("workspace", at(2026, 6, 29, 4, 29, 3, 0), 3, DateTimeMySQL),
		StoredBackup("workspace", at(2026, 6, 28, 4, 30, 55, 0), 3, DateTimeMySQL),
	}

	// HistoryExpiring mixes backups that never expire (a room, S3) with
	// DataStore ones, which expire a day after they are made: as of
	// 2026-07-01 12:00 UTC two have expired already (DocSpace still lists
	// them until its cleaner deletes them) and one expires on 2026-07-02
	// 03:00:12. In no particular order, as the spec allows: neither the
	// first nor the last record bounds createdOn or expiresOn.
	HistoryExpiring = []Backup{
		StoredBackup("docspace", at(2026, 6, 30, 9, 15, 0, 0), 4, DateTimeMySQL),  // expired 2026-07-01 09:15
		StoredBackup("docspace", at(2026, 6, 22, 2, 8, 40, 0), 0, DateTimeMySQL),  // never
		StoredBackup("docspace", at(2026, 7, 1, 3, 0, 12, 0), 4, DateTimeMySQL),   // expires 2026-07-02 03:00:12
		StoredBackup("docspace", at(2026, 6, 29, 2, 9, 58, 0), 4, DateTimeMySQL),  // expired 2026-06-30 02:09:58
		StoredBackup("docspace", at(2026, 6, 30, 16, 20, 0, 0), 5, DateTimeMySQL), // never
		StoredBackup("docspace", at(2026, 6, 15, 2, 10, 3, 0), 9, DateTimeMySQL),  // a storage type of a later DocSpace; never
	}
)

func weeklyHistory(dateTime func(time.Time) string) []Backup {
	return []Backup{
		StoredBackup("docspace", at(2026, 6, 29, 2, 9, 58, 412345), 0, dateTime), // scheduled
		StoredBackup("docspace", at(2026, 6, 24, 16, 42, 17, 5), 0, dateTime),    // manual
		StoredBackup("docspace", at(2026, 6, 22, 2, 8, 40, 990001), 0, dateTime), // scheduled
		StoredBackup("docspace", at(2026, 6, 15, 2, 10, 3, 250000), 0, dateTime), // scheduled
		StoredBackup("docspace", at(2026, 6, 10, 9, 15, 0, 0), 0, dateTime),      // manual
	}
}
