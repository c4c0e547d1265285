package collector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// BenchmarkScrape measures one whole scrape as Prometheus makes it: a GET
// of the exporter over a kept-alive loopback connection, which calls an
// in-process fake portal and encodes the answer. Beside it, impl=floor does
// the least any exporter must do in the same place (one GET of the portal
// over a kept-alive connection, decode the JSON, write a dozen lines). Both
// include the same fake and the same incoming HTTP handling. Compare with
//
//	go test -run '^$' -bench Scrape -benchmem -count 6 ./collector | tee bench.txt
//	benchstat -col /impl bench.txt
//
// The target is a scrape within 1.5x of the floor's CPU per scrape
// (cpu-ns/op: the CPU time of the whole process, which holds the scraper,
// the exporter and the fake alike, per scrape); sec/op is the latency.
func BenchmarkScrape(b *testing.B) {
	fake := docspacetest.NewPortal(testKey)
	fake.SetSchedule(docspacetest.ScheduleS3)
	portalServer := httptest.NewServer(fake)
	b.Cleanup(func() { fake.Close(); portalServer.Close() })

	b.Run("impl=exporter", func(b *testing.B) {
		c, err := client.New(client.Config{URL: portalServer.URL, Key: client.StaticKey(testKey)})
		if err != nil {
			b.Fatal(err)
		}
		portal := NewPortal("bench", c, Options{Timeout: 10 * time.Second, Location: time.UTC})
		opts := HandlerOpts{TimeoutOffset: 500 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
		benchScrapes(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			Serve(w, r, portal, nil, opts)
		}), "docspace_up 1\n")
	})
	b.Run("impl=floor", func(b *testing.B) {
		hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		benchScrapes(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := floorScrape(hc, portalServer.URL+docspacetest.PathSchedule, w); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		}), "docspace_up 1\n")
	})
}

// benchScrapes scrapes handler, served on loopback, b.N times.
func benchScrapes(b *testing.B, handler http.Handler, want string) {
	exporter := httptest.NewServer(handler)
	defer exporter.Close()
	scraper := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	req, err := http.NewRequest(http.MethodGet, exporter.URL+"/metrics", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set(ScrapeTimeoutHeader, "10")
	buf := make([]byte, 64<<10)
	b.ReportAllocs()
	cpuStart := cpuTime(b)
	for b.Loop() {
		resp, err := scraper.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.ReadFull(resp.Body, buf)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(buf[:n], []byte(want)) {
			b.Fatalf("HTTP %d: %s", resp.StatusCode, buf[:n])
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpuStart)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time (user and system) the process has used so far.
// The whole process counts: the scraper, the exporter and the fake portal.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// floorScrape is the minimum: GET, decode, write a dozen lines.
func floorScrape(hc *http.Client, url string, w io.Writer) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Response struct {
			StorageType int `json:"storageType"`
			CronParams  struct {
				Period, Hour, Day int
			} `json:"cronParams"`
			BackupsStored  int    `json:"backupsStored"`
			LastBackupTime string `json:"lastBackupTime"`
			Dump           bool   `json:"dump"`
		} `json:"response"`
		Status int `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return err
	}
	r := env.Response
	t, _ := time.Parse("2006-01-02T15:04:05", r.LastBackupTime)
	_, err = fmt.Fprintf(w, "docspace_up 1\ndocspace_api_status_code %d\ndocspace_scrape_duration_seconds 0.001\n"+
		"docspace_backup_schedule_configured 1\ndocspace_backup_schedule_backups_stored %d\ndocspace_backup_schedule_dump_enabled %d\n"+
		"docspace_backup_schedule_period %d\ndocspace_backup_schedule_hour %d\ndocspace_backup_schedule_day %d\n"+
		"docspace_backup_schedule_info{period=\"weekly\",storage_type=\"%d\"} 1\ndocspace_backup_last_timestamp_seconds %d\n",
		resp.StatusCode, r.BackupsStored, map[bool]int{true: 1}[r.Dump], r.CronParams.Period, r.CronParams.Hour, r.CronParams.Day, r.StorageType, t.Unix())
	return err
}
