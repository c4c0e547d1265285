package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// A scrape that gives up on a hung portal takes the call with it: the
// request to the portal is cancelled, and the next scrape calls afresh
// rather than joining a call nobody waits for any more.
func TestSharedCallEndsWithItsLastCaller(t *testing.T) {
	fake := docspacetest.NewPortal(testKey)
	fake.SetSchedule(docspacetest.ScheduleWeekly)
	var requests atomic.Int32
	firstGone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 { // the first request hangs until its caller goes
			<-r.Context().Done()
			close(firstGone)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { fake.Close(); srv.Close() })
	c := newClient(t, srv.URL)

	// A scrape with a long deadline leaves early, as when Prometheus
	// closes the connection.
	scrape, leave := context.WithTimeout(context.Background(), time.Minute)
	defer leave()
	go func() {
		for requests.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		leave()
	}()
	_, err := c.BackupSchedule(scrape)
	assertError(t, err, KindTimeout, 0, []string{"slow or hung"}, nil)
	select {
	case <-firstGone:
	case <-time.After(5 * time.Second):
		t.Fatal("the request to the portal went on after its only scrape left")
	}

	s, err := c.BackupSchedule(testContext(t))
	if err != nil || s == nil || *s.BackupsStored != 7 {
		t.Fatalf("the next scrape: %+v, %v; want a fresh call that succeeds", s, err)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("the portal saw %d requests, want 2", n)
	}
}
