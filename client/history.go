package client

import (
	"context"
	"fmt"
	"time"
)

// HistoryPath is the endpoint that lists the portal's stored backups.
// DocSpace writes a record only after the backup file was uploaded, and
// before answering it checks every listed file in the storage and deletes
// the records whose file is missing. The call is therefore slow (one
// existence check per stored backup) and changes what DocSpace lists, as
// opening the portal's backup page does.
const HistoryPath = "/api/2.0/backup/getbackuphistory"

// History is what the exporter uses of getbackuphistory: how many backups
// the portal lists as stored and when the newest and the oldest were made.
// It deliberately keeps nothing that names a backup: ids, file names and
// storage types are never decoded.
type History struct {
	// Backups is how many stored backups the portal lists.
	Backups int
	// Newest and Oldest are the createdOn of the newest and the oldest
	// stored backup, in UTC; the zero time when none is stored (or none
	// has a createdOn).
	Newest, Oldest time.Time
}

// historyRecordDTO is the one field of a BackupHistoryRecord the exporter
// reads.
type historyRecordDTO struct {
	CreatedOn *string `json:"createdOn"`
}

// BackupHistory calls getbackuphistory. It is slow and has the effect
// described at HistoryPath: call it rarely.
func (c *Client) BackupHistory(ctx context.Context) (*History, error) {
	records, err := get[[]historyRecordDTO](ctx, c, HistoryPath, c.dumpQuery())
	if err != nil {
		return nil, err
	}
	var list []historyRecordDTO
	if records != nil {
		list = *records
	}
	h, err := history(list)
	if err != nil {
		return nil, &Error{Kind: KindMalformed, Endpoint: HistoryPath, StatusCode: 200,
			Detail: "the backup history in the answer is malformed", Err: err}
	}
	return h, nil
}

// history sums up the records of getbackuphistory. A record without
// createdOn, or with DocSpace's "never" value, is counted but has no time.
func history(records []historyRecordDTO) (*History, error) {
	h := &History{Backups: len(records)}
	for i, r := range records {
		if r.CreatedOn == nil {
			continue
		}
		t, err := ParseDateTime(*r.CreatedOn)
		if err != nil {
			return nil, fmt.Errorf("record %d: createdOn: %w", i+1, err)
		}
		if t.IsZero() {
			continue
		}
		if h.Newest.IsZero() || t.After(h.Newest) {
			h.Newest = t
		}
		if h.Oldest.IsZero() || t.Before(h.Oldest) {
			h.Oldest = t
		}
	}
	return h, nil
}
