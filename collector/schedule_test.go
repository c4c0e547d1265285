package collector

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/config"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
	"github.com/docspace-exporter/docspace_exporter/internal/schedule"
)

func ptr[T any](v T) *T { return &v }

// answerContext returns a context with the deadline of a scrape.
func answerContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newTestScrape returns a scrape of p, bound to ctx, whose log goes
// nowhere, for calling one endpoint.
func newTestScrape(ctx context.Context, p *Portal) *scrape {
	return &scrape{ctx: ctx, portal: p, logger: slog.New(slog.DiscardHandler), answers: make([]answer, len(p.endpoints))}
}

// portalWith builds another portal against the fixture's fake DocSpace,
// with mod applied to the fixture portal's settings and a memory of its
// own.
func (f *fixture) portalWith(mod func(*config.Portal)) *Portal {
	f.t.Helper()
	settings := f.portal.config
	mod(&settings)
	p, err := NewPortal(settings, NewMemory(), Options{HistoryTimeout: 5 * time.Second, Pool: client.NewPool(2)})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// requestLog is the request URIs a fake DocSpace received, in order.
type requestLog struct {
	mu   sync.Mutex
	uris []string
}

func (l *requestLog) seen() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.uris...)
}

// recordRequests puts a recorder in front of the fixture's fake DocSpace
// and rebuilds the fixture's portal against it, with the same settings
// otherwise and the same memory.
func (f *fixture) recordRequests() *requestLog {
	f.t.Helper()
	l := &requestLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.uris = append(l.uris, r.URL.RequestURI())
		l.mu.Unlock()
		f.fake.ServeHTTP(w, r)
	}))
	f.t.Cleanup(srv.Close)
	settings := f.portal.config
	settings.URL = srv.URL
	p, err := NewPortal(settings, f.portal.memory, Options{HistoryTimeout: 5 * time.Second, Pool: client.NewPool(2)})
	if err != nil {
		f.t.Fatal(err)
	}
	f.portal = p
	return l
}

// assertCallError checks that err is a *client.Error of kind and HTTP
// status, whose text has every string of contains, none of absent and no
// secret.
func assertCallError(t *testing.T, err error, kind client.Kind, status int, contains, absent []string) {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *client.Error", err)
	}
	if e.Kind != kind {
		t.Errorf("kind = %v, want %v (%v)", e.Kind, kind, err)
	}
	if got := client.StatusCode(err); got != status {
		t.Errorf("status = %d, want %d", got, status)
	}
	msg := err.Error()
	for _, s := range contains {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not contain %q", msg, s)
		}
	}
	for _, s := range append(absent, secrets...) {
		if strings.Contains(msg, s) {
			t.Errorf("error %q contains %q", msg, s)
		}
	}
}

// wantSchedule is what a decoded backup schedule must hold, flat.
type wantSchedule struct {
	StorageType   *storageType
	Period        *schedule.Period
	Hour          *int
	Day           *int
	BackupsStored *int
	LastBackup    time.Time
	Dump          *bool
}

// The storage types of the samples (BackupStorageType).
const (
	testStorageDocuments          storageType = 0
	testStorageLocal              storageType = 3
	testStorageDataStore          storageType = 4
	testStorageThirdPartyConsumer storageType = 5
)

func TestBackupScheduleSamples(t *testing.T) {
	weekly := &wantSchedule{
		StorageType: ptr(testStorageDocuments), Period: ptr(schedule.Weekly), Hour: ptr(2), Day: ptr(2),
		BackupsStored: ptr(7), LastBackup: time.Date(2026, 6, 29, 2, 7, 31, 0, time.UTC), Dump: ptr(false),
	}
	tests := []struct {
		name   string
		sample string
		dump   bool
		want   *wantSchedule
	}{
		{"weekly", docspacetest.ScheduleWeekly, false, weekly},
		{"never run", docspacetest.ScheduleNeverRun, false, &wantSchedule{
			StorageType: ptr(testStorageDocuments), Period: ptr(schedule.Weekly), Hour: ptr(2), Day: ptr(2), BackupsStored: ptr(7), Dump: ptr(false)}},
		{"daily", docspacetest.ScheduleDaily, false, &wantSchedule{
			StorageType: ptr(testStorageDocuments), Period: ptr(schedule.Daily), Hour: ptr(3), Day: ptr(0), BackupsStored: ptr(7),
			LastBackup: time.Date(2026, 6, 29, 3, 4, 10, 0, time.UTC), Dump: ptr(false)}},
		{"monthly", docspacetest.ScheduleMonthly15, false, &wantSchedule{
			StorageType: ptr(testStorageDocuments), Period: ptr(schedule.Monthly), Hour: ptr(1), Day: ptr(15), BackupsStored: ptr(3),
			LastBackup: time.Date(2026, 6, 15, 1, 2, 44, 0, time.UTC), Dump: ptr(false)}},
		{"data store", docspacetest.ScheduleDataStore, false, &wantSchedule{
			StorageType: ptr(testStorageDataStore), Period: ptr(schedule.Weekly), Hour: ptr(2), Day: ptr(2), BackupsStored: ptr(7),
			LastBackup: time.Date(2026, 6, 29, 2, 7, 31, 0, time.UTC), Dump: ptr(false)}},
		{"postgres time", docspacetest.SchedulePostgres, false, &wantSchedule{
			StorageType: ptr(testStorageDocuments), Period: ptr(schedule.Weekly), Hour: ptr(2), Day: ptr(2), BackupsStored: ptr(7),
			LastBackup: time.Date(2026, 6, 29, 2, 7, 31, 123456000, time.UTC), Dump: ptr(false)}},
		{"old server", docspacetest.ScheduleOldServer, false, &wantSchedule{
			StorageType: ptr(testStorageDocuments), Period: ptr(schedule.Weekly), Hour: ptr(2), Day: ptr(2),
			LastBackup: time.Date(2026, 6, 29, 2, 7, 31, 0, time.UTC)}},
		{"no schedule", "", false, nil},
		{"no dump schedule", docspacetest.ScheduleWeekly, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(p *config.Portal) { p.Dump = tt.dump })
			f.fake.SetSchedule(tt.sample)
			got, err := fetchSchedule(newTestScrape(answerContext(t), f.portal))
			if err != nil {
				t.Fatalf("fetchSchedule: %v", err)
			}
			assertSchedule(t, got, tt.want)
		})
	}
}

func TestBackupScheduleS3AndDump(t *testing.T) {
	f := newFixture(t)
	f.fake.SetSchedule(docspacetest.ScheduleS3)
	f.fake.SetDumpSchedule(docspacetest.ScheduleDump)
	got, err := fetchSchedule(newTestScrape(answerContext(t), f.portal))
	if err != nil {
		t.Fatal(err)
	}
	if got == nil || got.StorageType == nil || *got.StorageType != testStorageThirdPartyConsumer {
		t.Errorf("storage type = %v, want 5", got)
	}
	dumpPortal := f.portalWith(func(p *config.Portal) { p.Dump = true })
	dump, err := fetchSchedule(newTestScrape(answerContext(t), dumpPortal))
	if err != nil {
		t.Fatal(err)
	}
	if dump == nil || dump.Dump == nil || !*dump.Dump || dump.StorageType == nil || *dump.StorageType != testStorageLocal ||
		dump.CronParams == nil || dump.CronParams.Period == nil || *dump.CronParams.Period != schedule.Daily {
		t.Errorf("dump schedule = %+v", dump)
	}
}

func assertSchedule(t *testing.T, got *backupSchedule, want *wantSchedule) {
	t.Helper()
	if (got == nil) != (want == nil) {
		t.Fatalf("schedule = %+v, want %+v", got, want)
	}
	if got == nil {
		return
	}
	eq := func(name string, a, b any) {
		if a != b {
			t.Errorf("%s = %v, want %v", name, a, b)
		}
	}
	deref := func(p any) any {
		switch v := p.(type) {
		case *int:
			if v != nil {
				return *v
			}
		case *bool:
			if v != nil {
				return *v
			}
		case *schedule.Period:
			if v != nil {
				return *v
			}
		case *storageType:
			if v != nil {
				return *v
			}
		}
		return nil
	}
	var period *schedule.Period
	var hour, day *int
	if cp := got.CronParams; cp != nil {
		period, hour, day = cp.Period, cp.Hour, cp.Day
	}
	eq("storageType", deref(got.StorageType), deref(want.StorageType))
	eq("period", deref(period), deref(want.Period))
	eq("hour", deref(hour), deref(want.Hour))
	eq("day", deref(day), deref(want.Day))
	eq("backupsStored", deref(got.BackupsStored), deref(want.BackupsStored))
	eq("dump", deref(got.Dump), deref(want.Dump))
	if !got.lastBackup.Equal(want.LastBackup) {
		t.Errorf("lastBackup = %v, want %v", got.lastBackup, want.LastBackup)
	}
}
