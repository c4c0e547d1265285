package collector

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/config"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// BenchmarkRestoreCall measures what asking getrestoreprogress at every
// scrape would cost, against asking it only when the schedule call fails
// (as the exporter does). Both sub-benchmarks scrape a healthy portal (the
// schedule, progress and month's count calls; the time zone and the
// history come from memory) on an in-process fake answering at once:
// scrape=shipped as the exporter does it, where the restore call is left out
// because the schedule answered; scrape=with-restore adds one
// getrestoreprogress call through the portal's client, as a scrape asking
// it every time would. cpu-ns/op is the CPU of the whole process (the
// exporter and the fake) per scrape, calls/op the calls that reached the
// fake per scrape. On DocSpace's side every call with an API key also
// writes the key's LastUsed to its database (ValidateApiKeyAsync), whatever
// it asks.
func BenchmarkRestoreCall(b *testing.B) {
	for _, withRestore := range []bool{false, true} {
		name := "scrape=shipped"
		if withRestore {
			name = "scrape=with-restore"
		}
		b.Run(name, func(b *testing.B) {
			fake := docspacetest.NewPortal(testKey)
			fake.SetSchedule(docspacetest.ScheduleWeekly)
			fake.SetRestore(docspacetest.RestoreCompleted)
			srv := httptest.NewServer(fake)
			b.Cleanup(func() { fake.Close(); srv.Close() })
			keyFile := filepath.Join(b.TempDir(), "api-key")
			if err := os.WriteFile(keyFile, []byte(testKey+"\n"), 0o600); err != nil {
				b.Fatal(err)
			}
			settings := config.Portal{Name: "bench", URL: srv.URL, APIKeyFile: keyFile, Timeout: 5 * time.Second,
				Timezone: "UTC", HistoryInterval: time.Hour}
			if err := settings.Check(); err != nil {
				b.Fatal(err)
			}
			p, err := NewPortal(settings, NewMemory(), Options{HistoryTimeout: time.Minute, Pool: client.NewPool(2)})
			if err != nil {
				b.Fatal(err)
			}
			logger := slog.New(slog.DiscardHandler)
			scrape := func() {
				m := p.Scrape(context.Background(), logger)
				if withRestore {
					if _, err := client.Get[backupProgress](context.Background(), p.client, restorePath, p.dumpQuery()); err != nil {
						b.Fatal(err)
					}
				}
				if len(m.metrics) == 0 {
					b.Fatal("a scrape without samples")
				}
			}
			scrape() // the first scrape reads the history and the month's count
			calls := func() int {
				n := 0
				for _, path := range []string{docspacetest.PathSchedule, docspacetest.PathProgress, docspacetest.PathRestore,
					docspacetest.PathSettings, docspacetest.PathHistory, docspacetest.PathBackupsCount, docspacetest.PathBackupsCountByPaid} {
					n += fake.Requests(path)
				}
				return n
			}
			before := calls()
			b.ReportAllocs()
			runtime.GC()
			cpu := docspacetest.ProcessCPU(b)
			for b.Loop() {
				scrape()
			}
			n := float64(b.N)
			b.ReportMetric(float64(docspacetest.ProcessCPU(b)-cpu)/n, "cpu-ns/op")
			b.ReportMetric(float64(calls()-before)/n, "calls/op")
		})
	}
}
