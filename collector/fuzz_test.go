package collector

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/client"
	"github.com/docspace-exporter/docspace_exporter/config"
	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// fuzzAnswer is the answer the fuzzing server gives to every request.
type fuzzAnswer struct {
	mu          sync.Mutex
	status      int
	contentType string
	body        string
}

func (a *fuzzAnswer) set(status int, contentType, body string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status, a.contentType, a.body = status, contentType, body
}

func (a *fuzzAnswer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	status, contentType, body := a.status, a.contentType, a.body
	a.mu.Unlock()
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// servableStatus maps any status to one an HTTP server can send as a
// final answer, 200 to 599; those already in that range are kept.
func servableStatus(status int) int {
	if status >= 200 && status <= 599 {
		return status
	}
	return 200 + (status%400+400)%400
}

// FuzzEndpointAnswers serves arbitrary answers to every call of a portal
// and runs each endpoint's call on them (schedule, progress, settings and
// history), then makes the samples of what was decoded. It must never
// panic, every error must be a *client.Error with a kind and never carry a
// storageParams secret, and a decoded history must be consistent.
func FuzzEndpointAnswers(f *testing.F) {
	for _, a := range docspacetest.AnswerSeeds() {
		f.Add(a.Status, a.ContentType, a.Body)
	}

	served := &fuzzAnswer{}
	srv := httptest.NewServer(served) // on 127.0.0.1
	f.Cleanup(srv.Close)
	keyFile := filepath.Join(f.TempDir(), "api-key")
	if err := os.WriteFile(keyFile, []byte(testKey+"\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	pool := client.NewPool(2)

	f.Fuzz(func(t *testing.T, status int, contentType, body string) {
		status = servableStatus(status)
		served.set(status, contentType, body)
		// A portal of its own for each answer: no Retry-After wait or
		// known zone carries over. Its configured zone lets the schedule's
		// samples compute the next slot.
		settings := config.Portal{Name: "fuzz", URL: srv.URL, APIKeyFile: keyFile, Timeout: time.Second, Timezone: "Europe/Berlin"}
		p, err := NewPortal(settings, NewMemory(), Options{HistoryTimeout: 2 * time.Second, Pool: pool})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s := newTestScrape(ctx, p)

		b, err := fetchSchedule(s)
		checkCallError(t, err, contentType)
		if err == nil {
			collectSchedule(s, answer{value: b})
		}

		a := progressEndpoint.fetch(s)
		checkCallError(t, a.err, contentType)
		if a.err == nil {
			collectProgress(s, a)
		}

		_, err = fetchTimezone(s)
		checkCallError(t, err, contentType)

		h, err := fetchHistory(ctx, p)
		checkCallError(t, err, contentType)
		if err == nil {
			if h == nil {
				t.Fatal("fetchHistory returned neither a history nor an error")
			}
			byStorage := 0
			for _, n := range h.byStorage {
				byStorage += n
			}
			if h.newest.Before(h.oldest) || h.newest.IsZero() != h.oldest.IsZero() ||
				h.lastExpiry.Before(h.firstExpiry) || h.lastExpiry.IsZero() != h.firstExpiry.IsZero() ||
				byStorage != h.backups || h.neverExpiring > h.backups {
				t.Errorf("inconsistent history %+v", *h)
			}
			// The answer was decoded: its records can be counted.
			var env struct {
				Response *[]json.RawMessage `json:"response"`
			}
			if err := json.Unmarshal([]byte(body), &env); err != nil {
				t.Errorf("the history was decoded from an answer that is not a list: %v", err)
			} else {
				records := 0
				if env.Response != nil {
					records = len(*env.Response)
				}
				if h.backups != records {
					t.Errorf("history of %d backups from %d records", h.backups, records)
				}
			}
			collectHistory(s, answer{value: historyState{interval: time.Hour, stored: h}})
		}
	})
}

// checkCallError checks that err, if any, is a *client.Error with a kind
// and carries no storageParams secret (unless the content type, which an
// error may quote, has it).
func checkCallError(t *testing.T, err error, contentType string) {
	t.Helper()
	if err == nil {
		return
	}
	var e *client.Error
	if !errors.As(err, &e) {
		t.Errorf("error %v is not a *client.Error", err)
	} else if e.Kind == 0 {
		t.Errorf("error without a kind: %v", err)
	}
	for _, s := range docspacetest.S3SecretValues {
		if strings.Contains(err.Error(), s) && !strings.Contains(contentType, s) {
			t.Errorf("error %q contains the secret %q", err, s)
		}
	}
}
