package client

import (
	"context"
	"fmt"
	"time"

	"github.com/docspace-exporter/docspace_exporter/internal/schedule"
)

// SchedulePath is the endpoint that returns the portal's backup schedule.
const SchedulePath = "/api/2.0/backup/getbackupschedule"

// StorageType is the schedule's storageType (BackupStorageType).
type StorageType int

// The storage types DocSpace knows.
const (
	StorageDocuments           StorageType = 0
	StorageThirdPartyDocuments StorageType = 1
	StorageCustomCloud         StorageType = 2
	StorageLocal               StorageType = 3
	StorageDataStore           StorageType = 4
	StorageThirdPartyConsumer  StorageType = 5
)

// Schedule is the part of DocSpace's ScheduleDto the exporter uses. It
// deliberately has no field for storageParams, which can hold storage
// credentials: they are never decoded.
//
// Pointer fields are nil when the key was absent from the answer (older
// servers leave out dump; backupsStored is absent when 0).
type Schedule struct {
	StorageType *StorageType
	// Period, Hour and Day come from cronParams (see schedule.Cron). Hour is 0-23 in the
	// portal's time zone; Day is 0 for daily, 1-7 (1 = Sunday) for weekly,
	// 1-31 for monthly.
	Period        *schedule.Period
	Hour          *int
	Day           *int
	BackupsStored *int
	// LastBackup is when the scheduler started the last scheduled backup,
	// in UTC; the zero time when it never ran (or the key was absent).
	LastBackup time.Time
	Dump       *bool
}

type scheduleDTO struct {
	StorageType *StorageType `json:"storageType"`
	CronParams  *struct {
		Period *schedule.Period `json:"period"`
		Hour   *int             `json:"hour"`
		Day    *int             `json:"day"`
	} `json:"cronParams"`
	BackupsStored  *int    `json:"backupsStored"`
	LastBackupTime *string `json:"lastBackupTime"`
	Dump           *bool   `json:"dump"`
}

// BackupSchedule calls getbackupschedule. It returns nil and no error when
// the portal has no backup schedule.
func (c *Client) BackupSchedule(ctx context.Context) (*Schedule, error) {
	dto, err := get[scheduleDTO](ctx, c, SchedulePath, c.dumpQuery())
	if err != nil || dto == nil {
		return nil, err
	}
	s, err := dto.schedule()
	if err != nil {
		return nil, &Error{Kind: KindMalformed, Endpoint: SchedulePath, StatusCode: 200,
			Detail: "the backup schedule in the answer is malformed", Err: err}
	}
	return s, nil
}

func (dto *scheduleDTO) schedule() (*Schedule, error) {
	s := &Schedule{StorageType: dto.StorageType, BackupsStored: dto.BackupsStored, Dump: dto.Dump}
	if cp := dto.CronParams; cp != nil {
		s.Period, s.Hour, s.Day = cp.Period, cp.Hour, cp.Day
	}
	if dto.LastBackupTime != nil {
		t, err := ParseDateTime(*dto.LastBackupTime)
		if err != nil {
			return nil, fmt.Errorf("lastBackupTime: %w", err)
		}
		s.LastBackup = t
	}
	return s, nil
}
