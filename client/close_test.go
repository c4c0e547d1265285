package client

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// A closed client keeps no connection to its portal: the idle ones close at
// once, one in use when its call ends, and later calls leave none open.
func TestCloseDropsConnections(t *testing.T) {
	fake := docspacetest.NewPortal(testKey)
	fake.SetSchedule(docspacetest.ScheduleWeekly)
	srv := httptest.NewUnstartedServer(fake)
	open := docspacetest.CountConnections(srv)
	srv.Start()
	t.Cleanup(func() { fake.Close(); srv.Close() })
	c := newClient(t, srv.URL)

	if _, err := c.BackupSchedule(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if n := open(); n != 1 {
		t.Fatalf("%d connections open after a call, want 1 kept alive", n)
	}
	c.Close()
	waitFor(t, "the idle connection to close", func() bool { return open() == 0 })

	// A call in flight when the client is closed.
	c = newClient(t, srv.URL)
	fake.SetLatency(200 * time.Millisecond)
	done := make(chan error)
	go func() {
		_, err := c.BackupSchedule(testContext(t))
		done <- err
	}()
	waitFor(t, "the call to start", func() bool { return open() == 1 })
	c.Close()
	if err := <-done; err != nil {
		t.Fatalf("a call in flight when the client was closed: %v", err)
	}
	waitFor(t, "the connection of the call to close", func() bool { return open() == 0 })

	// A call after Close works and leaves nothing open.
	fake.SetLatency(0)
	if _, err := c.BackupSchedule(testContext(t)); err != nil {
		t.Fatalf("a call after Close: %v", err)
	}
	waitFor(t, "the connection of a later call to close", func() bool { return open() == 0 })
}
