package client

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/docspace-exporter/docspace_exporter/internal/docspacetest"
)

// ParseKey takes what Windows Notepad writes and refuses, without showing
// the key, what DocSpace would reject or an HTTP header cannot carry.
func TestParseKey(t *testing.T) {
	tests := []struct {
		raw, key, err string
	}{
		{testKey, testKey, ""},
		{"  " + testKey + "\n", testKey, ""},
		{"\uFEFF" + testKey + "\r\n", testKey, ""}, // Notepad: UTF-8 BOM and CRLF
		{"\r\n" + testKey + "\r\n\r\n", testKey, ""},
		{"Bearer " + testKey, "Bearer " + testKey, ""},
		{"bearer " + testKey, "bearer " + testKey, ""}, // the scheme's case is fixed when sent
		{"", "", "the key is empty: put the DocSpace API key (sk-...) or token in it"},
		{"\uFEFF \r\n", "", "the key is empty: put the DocSpace API key (sk-...) or token in it"},
		{testKey + "\n" + testKey + "\n", "", "the key holds 2 lines; keep one key"},
		{testKey + "\r\n\r\nsk-other\r\n# comment\r\n", "", "the key holds 3 lines; keep one key"},
		{`"` + testKey + `"`, "", "the key is in quotes: write the key without quotes"},
		{"'" + testKey + "'\n", "", "the key is in quotes: write the key without quotes"},
		{testKey[:10] + "\x00" + testKey[10:], "", "the key has a control character at byte 11, which cannot be sent in an HTTP header: keep only the key"},
		{"  " + testKey[:5] + "\t" + testKey[5:], "", "the key has a control character at byte 8, which cannot be sent in an HTTP header: keep only the key"},
		{"\uFEFF" + testKey[:3] + "\x7f" + testKey[3:], "", "the key has a control character at byte 7, which cannot be sent in an HTTP header: keep only the key"},
		{"\u201c" + testKey + "\u201d", "", "the key has a non-ASCII character at byte 1 (a typographic quote or a non-breaking space?), which DocSpace never accepts: keep only the key"},
		{testKey[:20] + "\u00a0" + testKey[20:], "", "the key has a non-ASCII character at byte 21 (a typographic quote or a non-breaking space?), which DocSpace never accepts: keep only the key"},
		{testKey[:20] + " " + testKey[20:], "", "the key has a space at byte 21: keep only the key, or a scheme and the key (Bearer sk-...)"},
		{"Bearer  " + testKey, "", "the key has a space at byte 8: keep only the key, or a scheme and the key (Bearer sk-...)"},
		{"Bearer " + testKey + " x", "", "the key has a space at byte 75: keep only the key, or a scheme and the key (Bearer sk-...)"},
	}
	for _, tt := range tests {
		key, err := ParseKey("the key", []byte(tt.raw))
		switch {
		case tt.err == "" && (err != nil || key != tt.key):
			t.Errorf("ParseKey(%q) = %q, %v; want %q", tt.raw, key, err, tt.key)
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("ParseKey(%q): error %v\nwant %s", tt.raw, err, tt.err)
		}
		if err != nil && strings.Contains(err.Error(), testKey[3:12]) {
			t.Errorf("the error shows the key: %v", err)
		}
	}
	if _, err := StaticKey(testKey + "\n" + testKey).Key(); err == nil || err.Error() != "the API key holds 2 lines; keep one key" {
		t.Errorf("StaticKey with two lines: %v", err)
	}
}

func writeKey(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A key file that becomes unusable while the exporter runs is reported as
// what it is, a key problem, at every call: never as a network failure.
func TestFileKeyBrokenAfterRotation(t *testing.T) {
	p, srv := newFake(t)
	p.SetSchedule(docspacetest.ScheduleWeekly)
	path := filepath.Join(t.TempDir(), "key")
	writeKey(t, path, testKey+"\n")
	key, err := NewFileKey(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv.URL, func(c *Config) { c.Key = key })
	if _, err := c.BackupSchedule(testContext(t)); err != nil {
		t.Fatal(err)
	}
	for content, want := range map[string]string{
		testKey + "\n" + testKey + "\n":          "the API key file " + path + " holds 2 lines; keep one key",
		`"` + testKey + `"`:                      "the API key file " + path + " is in quotes",
		testKey[:9] + "\x01" + testKey[9:]:       "the API key file " + path + " has a control character at byte 10",
		strings.Repeat(testKey+"\n", 100)[:5000]: "cannot read the API key file " + path + ": is 4.9 KiB, larger than 4 KiB",
	} {
		writeKey(t, path, content)
		for range 2 {
			_, err := c.BackupSchedule(testContext(t))
			assertError(t, err, KindKey, 0, []string{"/api/2.0/backup/getbackupschedule: no usable API key: " + want}, []string{"cannot reach"})
		}
	}
	if n := p.Requests(docspacetest.PathSchedule); n != 1 {
		t.Errorf("%d calls reached the portal, want 1: a broken key is never sent", n)
	}
}

// A rotation is seen however the new key was written: same size and the
// same modification time (keys always have 67 bytes; cp -p, touch -r).
func TestFileKeyRotationKeepsSizeAndTime(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	const newKey = "sk-fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	writeKey(t, path, testKey)
	key, err := NewFileKey(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	writeKey(t, path, newKey) // in place
	if err := os.Chtimes(path, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if got, err := key.Key(); got != newKey || err != nil {
		t.Errorf("after a rewrite with the same size and time: %.12s..., %v", got, err)
	}
	other := filepath.Join(dir, "new")
	writeKey(t, other, testKey) // cp -p of another file, then mv
	if err := os.Chtimes(other, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	if got, err := key.Key(); got != testKey || err != nil {
		t.Errorf("after mv of a file with the same size and time: %.12s..., %v", got, err)
	}
}

// A file rewritten in place reads empty or cut short for a moment: those
// calls use the last good key and say so; a file that stays so is an error.
func TestFileKeyRewriteInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	writeKey(t, path, testKey+"\n")
	var kept []string
	key, err := NewFileKey(path, func(reason string) { kept = append(kept, reason) })
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	key.now = func() time.Time { return now }

	for _, content := range []string{"", testKey[:30]} {
		writeKey(t, path, content)
		if got, err := key.Key(); got != testKey || err != nil {
			t.Errorf("%q just after the rewrite began: %.12s..., %v", content, got, err)
		}
		now = now.Add(rewriteGrace / 2)
		if got, err := key.Key(); got != testKey || err != nil {
			t.Errorf("%q within %v: %.12s..., %v", content, rewriteGrace, got, err)
		}
		now = now.Add(rewriteGrace)
		want := map[string]string{
			"":           "the API key file " + path + " is empty: put the DocSpace API key (sk-...) or token in it",
			testKey[:30]: "the API key file " + path + " holds only the beginning of the previous key: write the whole key",
		}[content]
		if got, err := key.Key(); got != "" || err == nil || err.Error() != want {
			t.Errorf("%q for longer than %v: %.12s..., %v; want %s", content, rewriteGrace, got, err, want)
		}
		writeKey(t, path, testKey)
		if got, err := key.Key(); got != testKey || err != nil {
			t.Errorf("after the rewrite: %.12s..., %v", got, err)
		}
	}
	if len(kept) != 4 || !strings.Contains(kept[0], "uses the last good key") {
		t.Errorf("kept was told %q, want 4 times", kept)
	}
}

// Rewriting the key file in place while calls read it (printf key > file)
// never fails a call.
func TestFileKeyRewriteInPlaceConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	writeKey(t, path, testKey)
	key, err := NewFileKey(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var (
		stop   atomic.Bool
		wg     sync.WaitGroup
		writes atomic.Int64
	)
	wg.Go(func() {
		for !stop.Load() {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = f.WriteString(testKey)
			f.Close()
			writes.Add(1)
		}
	})
	// At least 2,000 reads, and on until the file was rewritten 100 times
	// (within a bound), so that the reads did meet rewrites.
	var failed, reads int
	for reads = 0; (reads < 2000 || writes.Load() < 100) && reads < 1_000_000; reads++ {
		if got, err := key.Key(); got != testKey || err != nil {
			failed++
		}
	}
	stop.Store(true)
	wg.Wait()
	if n := writes.Load(); n < 100 {
		t.Fatalf("the file was rewritten only %d times during %d reads: the test proves nothing", n, reads)
	}
	if failed > 0 {
		t.Errorf("%d of %d reads during %d rewrites did not give the key", failed, reads, writes.Load())
	}
}

// What is not a regular file is refused at once, never read: a named pipe
// would block the read (and every later one), a device would fill the
// memory. A symlink swapped to such a file and back works again.
func TestFileKeyRefusesWhatIsNoFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	writeKey(t, good, testKey)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	large := filepath.Join(dir, "large")
	writeKey(t, large, testKey)
	if err := os.Truncate(large, 100<<20); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		fifo:        "cannot read the API key file " + fifo + ": is a named pipe, not a regular file",
		"/dev/zero": "cannot read the API key file /dev/zero: is a character device, not a regular file",
		large:       "cannot read the API key file " + large + ": is 100 MiB, larger than 4 KiB",
		dir:         "cannot read the API key file " + dir + ": is a folder, not a regular file",
	} {
		if _, err := readWithin(t, func() (string, error) { _, err := NewFileKey(path, nil); return "", err }); err == nil || err.Error() != want {
			t.Errorf("NewFileKey(%s) = %v, want %s", path, err, want)
		}
	}

	link := filepath.Join(dir, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	key, err := NewFileKey(link, nil)
	if err != nil {
		t.Fatal(err)
	}
	swap := func(target string) {
		tmp := filepath.Join(dir, "link.tmp")
		if err := os.Symlink(target, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, link); err != nil {
			t.Fatal(err)
		}
	}
	swap(fifo)
	if _, err := readWithin(t, key.Key); err == nil || !strings.Contains(err.Error(), "is a named pipe") {
		t.Errorf("after the swap to a pipe: %v", err)
	}
	swap(good)
	if got, err := readWithin(t, key.Key); got != testKey || err != nil {
		t.Errorf("after the swap back: %.12s..., %v", got, err)
	}
}

// readWithin calls read and fails the test when it blocks.
func readWithin(t *testing.T, read func() (string, error)) (string, error) {
	t.Helper()
	type result struct {
		key string
		err error
	}
	done := make(chan result, 1)
	go func() { k, err := read(); done <- result{k, err} }()
	select {
	case r := <-done:
		return r.key, r.err
	case <-time.After(5 * time.Second):
		t.Fatal("reading the key blocks")
		return "", fmt.Errorf("blocked")
	}
}

// "bearer sk-..." in a key file is sent with the scheme DocSpace accepts.
func TestFileKeySchemeCase(t *testing.T) {
	p, srv := newFake(t)
	p.SetSchedule(docspacetest.ScheduleWeekly)
	path := filepath.Join(t.TempDir(), "key")
	writeKey(t, path, "bearer "+testKey+"\r\n")
	key, err := NewFileKey(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t, srv.URL, func(c *Config) { c.Key = key }).BackupSchedule(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if got := p.Authorizations(); len(got) != 1 || got[0] != "Bearer "+testKey {
		t.Errorf("Authorization = %q", got)
	}
}

func TestLoadCARefusesWhatIsNoFile(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "ca.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		fifo:           "cannot read the CA file " + fifo + ": is a named pipe, not a regular file",
		"/dev/urandom": "cannot read the CA file /dev/urandom: is a character device, not a regular file",
	} {
		if _, err := readWithin(t, func() (string, error) { _, err := LoadCA(path); return "", err }); err == nil || err.Error() != want {
			t.Errorf("LoadCA(%s) = %v, want %s", path, err, want)
		}
	}
}
