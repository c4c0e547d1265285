package collector

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/config"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// BenchmarkHungHistory measures what a history call that never ends holds
// while it waits for --docspace.history-timeout: goroutines and heap per
// call, each portal on a server of its own (as real portals are on hosts of
// their own), over plain HTTP/1.1 and over HTTPS with HTTP/2. Run it with
// -benchtime=1x; goroutines/call and heap-B/call are the figures.
func BenchmarkHungHistory(b *testing.B) {
	for _, proto := range []string{"http1", "https-h2"} {
		b.Run("proto="+proto, func(b *testing.B) {
			for b.Loop() {
				hungHistory(b, proto == "https-h2", 200)
			}
		})
	}
}

// serverFrames mark the goroutines of the fake portals' servers.
var serverFrames = []string{"net/http.(*conn).serve", "net/http.(*http2serverConn)", "net/http.(*Server).Serve",
	"net/http/httptest.", "internal/docspacetest.", "crypto/tls.(*listener).Accept", "net/http.(*connReader)."}

// exporterGoroutines counts the goroutines that are not the fake portals'.
func exporterGoroutines(b *testing.B) int {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		b.Fatal(err)
	}
	total := 0
	for block := range strings.SplitSeq(buf.String(), "\n\n") {
		var n int
		if _, err := fmt.Sscanf(block, "%d @", &n); err != nil {
			continue
		}
		if !slices.ContainsFunc(serverFrames, func(f string) bool { return strings.Contains(block, f) }) {
			total += n
		}
	}
	return total
}

func hungHistory(b *testing.B, tls bool, n int) {
	dir := b.TempDir()
	keyFile := filepath.Join(dir, "api-key")
	if err := os.WriteFile(keyFile, []byte(testKey+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	fakes := make([]*docspacetest.Portal, n)
	servers := make([]*httptest.Server, n)
	portals := make([]*Portal, n)
	pool := client.NewPool(0) // no idle connection: what remains is the hung calls'
	for i := range n {
		fakes[i] = docspacetest.NewPortal(testKey)
		fakes[i].SetSchedule(docspacetest.ScheduleWeekly)
		fakes[i].SetPathHang(docspacetest.PathHistory, true)
		srv := httptest.NewUnstartedServer(fakes[i])
		settings := config.Portal{Name: "hung", APIKeyFile: keyFile, Timeout: 5 * time.Second, Timezone: "UTC", HistoryInterval: time.Hour}
		if tls {
			srv.EnableHTTP2 = true
			srv.StartTLS()
			ca := filepath.Join(dir, "ca.pem")
			if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
				b.Fatal(err)
			}
			settings.TLS.CAFile = ca
		} else {
			srv.Start()
		}
		servers[i] = srv
		settings.URL = srv.URL
		if err := settings.Check(); err != nil {
			b.Fatal(err)
		}
		p, err := NewPortal(settings, NewMemory(), Options{HistoryTimeout: time.Minute, Pool: pool})
		if err != nil {
			b.Fatal(err)
		}
		portals[i] = p
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutines := exporterGoroutines(b)
	logger := slog.New(slog.DiscardHandler)
	// Each scrape starts the history call, which hangs; the first scrape of
	// a portal waits for it until its deadline.
	var wg sync.WaitGroup
	for _, p := range portals {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			p.Scrape(ctx, logger)
		})
	}
	wg.Wait()
	// Wait until every history call has reached its portal.
	for deadline := time.Now().Add(30 * time.Second); ; {
		reached := 0
		for _, f := range fakes {
			reached += f.Requests(docspacetest.PathHistory)
		}
		if reached >= n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d history calls reached their portal", reached, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the scrapes' own goroutines end
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(exporterGoroutines(b)-goroutines)/float64(n), "goroutines/call")
	// The memory is the exporter's and the in-process fake portals'.
	b.ReportMetric(float64(int64(after.HeapInuse+after.StackInuse)-int64(before.HeapInuse+before.StackInuse))/float64(n), "mem-B/call")
	for i := range n {
		fakes[i].Close()
		servers[i].CloseClientConnections()
		servers[i].Close()
	}
}
