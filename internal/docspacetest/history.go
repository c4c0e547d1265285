package docspacetest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Backup is one stored backup as getbackuphistory lists it
// (BackupHistoryRecord). DocSpace writes the record only after the backup
// file was uploaded to the storage.
type Backup struct {
	ID       string `json:"id"`
	FileName string `json:"fileName"`
	// StorageType is the BackupStorageType of the storage holding the file.
	StorageType int `json:"storageType"`
	// CreatedOn and ExpiresOn are plain DateTimes in UTC, as DocSpace writes
	// them (see DateTimeMySQL and DateTimePostgres).
	CreatedOn string `json:"createdOn"`
	ExpiresOn string `json:"expiresOn"`
	// Gone marks a backup whose file has vanished from the storage: the next
	// getbackuphistory call drops its record, as DocSpace does.
	Gone bool `json:"-"`
	// Paid marks a backup charged to the portal's wallet (SaaS).
	Paid bool `json:"-"`
}

// Date and time forms of a plain DocSpace DateTime (UTC).
const (
	layoutMySQL    = "2006-01-02T15:04:05"
	layoutPostgres = "2006-01-02T15:04:05.000000Z"
	// neverExpires is the expiresOn of every backup but a DataStore one.
	neverExpires = "0001-01-01T00:00:00"
)

// DateTimeMySQL writes t as a MySQL-backed DocSpace writes a DateTime: UTC,
// whole seconds, no offset, e.g. "2026-06-29T02:09:15".
func DateTimeMySQL(t time.Time) string { return t.UTC().Format(layoutMySQL) }

// DateTimePostgres writes t as a PostgreSQL-backed DocSpace writes a
// DateTime: microseconds and Z, e.g. "2026-06-29T02:09:15.123456Z".
func DateTimePostgres(t time.Time) string { return t.UTC().Format(layoutPostgres) }

// StoredBackup returns the record of a backup of the portal alias (the
// server-wide dump is "workspace") made at created and kept in storageType
// (0 a room, 4 the portal's temporary storage, 5 a third-party storage,
// ...), with createdOn written by dateTime (DateTimeMySQL or
// DateTimePostgres). Like DocSpace on SaaS it names the file
// <alias>_<yyyy-MM-dd_HH-mm-ss>.tar.gz with the time in UTC (a self-hosted
// server uses its local time), gives a DataStore backup a day before it
// expires, and every other one the "never" expiresOn. The id is a
// GUID derived from alias and created, so samples are reproducible.
func StoredBackup(alias string, created time.Time, storageType int, dateTime func(time.Time) string) Backup {
	created = created.UTC()
	b := Backup{
		ID:          guid(alias + created.Format(time.RFC3339Nano)),
		FileName:    alias + "_" + created.Format("2006-01-02_15-04-05") + ".tar.gz",
		StorageType: storageType,
		CreatedOn:   dateTime(created),
		ExpiresOn:   neverExpires,
	}
	if storageType == 4 { // DataStore
		b.ExpiresOn = dateTime(created.AddDate(0, 0, 1))
	}
	return b
}

// ManyBackups returns n stored backups of alias in a room, one a day back
// from newest, newest first: a long history such as manual backups pile up.
func ManyBackups(alias string, newest time.Time, n int) []Backup {
	backups := make([]Backup, n)
	for i := range backups {
		backups[i] = StoredBackup(alias, newest.AddDate(0, 0, -i), 0, DateTimeMySQL)
	}
	return backups
}

// guid formats the first 16 bytes of the SHA-256 of s as a GUID.
func guid(s string) string {
	h := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// serveHistory answers getbackuphistory: it first drops the records whose
// file is gone, as DocSpace does after checking every file in the storage,
// then lists the rest, [] with count 0 when none is left.
func (p *Portal) serveHistory(w http.ResponseWriter, r *http.Request, dump bool) {
	p.mu.Lock()
	list := &p.history
	if dump {
		list = &p.dumpHistory
	}
	kept := make([]Backup, 0, len(*list))
	for _, b := range *list {
		if !b.Gone {
			kept = append(kept, b)
		} else if !dump {
			p.dropped = append(p.dropped, b)
		}
	}
	*list = kept
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, envelope{
		Response:   kept,
		Count:      len(kept),
		Links:      selfLinks(r),
		StatusCode: http.StatusOK,
	})
}

// HistoryWithoutFileNames is a getbackuphistory answer listing backups in
// the given order with fileName null, as the spec allows (an override for
// PathHistory): no field of the exporter may depend on the name or on the
// order.
func HistoryWithoutFileNames(backups ...Backup) *Response {
	records := make([]map[string]any, len(backups))
	for i, b := range backups {
		records[i] = map[string]any{"id": b.ID, "fileName": nil, "storageType": b.StorageType, "createdOn": b.CreatedOn, "expiresOn": b.ExpiresOn}
	}
	body, err := json.Marshal(envelope{Response: records, Count: len(records), Links: []link{{Href: sampleHost + PathHistory, Action: http.MethodGet}}, StatusCode: http.StatusOK})
	if err != nil {
		panic(err) // strings and ints only: cannot happen
	}
	return jsonResponse(http.StatusOK, body)
}

// serveCount answers getbackupscount (byPaid false) and
// getbackupscountbypaid as DocSpace 3.8 does: it counts the portal's backup
// records, those dropped from the history included, whose createdOn lies
// between from and to, both inclusive; from defaults to the start of the
// UTC calendar month, to to a second from now. getbackupscount counts the
// free or, with paid=true, the paid ones; getbackupscountbypaid both.
func (p *Portal) serveCount(w http.ResponseWriter, r *http.Request, byPaid bool) {
	now := time.Now().UTC()
	from := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	to := now.Add(time.Second)
	q := r.URL.Query()
	for _, bound := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(bound.name); v != "" {
			t, err := parseDateTime(v)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, envelope{Response: validationProblem(v), Count: 1, Links: selfLinks(r), Status: 1, StatusCode: http.StatusBadRequest})
				return
			}
			*bound.t = t
		}
	}
	if from.After(to) {
		errorResponse(http.StatusBadRequest, errorDetail{Message: "From date must be less than to date", Type: "System.ArgumentException"}).ServeHTTP(w, r)
		return
	}
	p.mu.Lock()
	records := append(slices.Clone(p.history), p.dropped...)
	p.mu.Unlock()
	var free, paid int
	for _, b := range records {
		t, err := parseDateTime(b.CreatedOn)
		if err != nil || t.Before(from) || t.After(to) {
			continue
		}
		if b.Paid {
			paid++
		} else {
			free++
		}
	}
	var v any = struct {
		Free int `json:"free"`
		Paid int `json:"paid"`
	}{free, paid}
	if !byPaid {
		v = free
		if strings.EqualFold(q.Get("paid"), "true") {
			v = paid
		}
	}
	writeJSON(w, http.StatusOK, envelope{Response: v, Count: 1, Links: selfLinks(r), StatusCode: http.StatusOK})
}

// parseDateTime reads a date and time as ASP.NET binds it: with an offset,
// or without one as UTC.
func parseDateTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05.9999999", s)
}
