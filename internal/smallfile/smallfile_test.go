package smallfile

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	small := write("small", "0123456789")
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	linkToFIFO := filepath.Join(dir, "link")
	if err := os.Symlink(fifo, linkToFIFO); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sparse := filepath.Join(dir, "sparse")
	if err := os.WriteFile(sparse, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, 100<<20); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		path  string
		limit int64
		want  string // the error; "" for the content of small
	}{
		{small, 10, ""},
		{small, 9, small + ": is 10 bytes, larger than 9 bytes"},
		{sparse, 4 << 10, sparse + ": is 100 MiB, larger than 4 KiB"},
		{"/proc/self/status", 100, "/proc/self/status: is larger than 100 bytes"}, // size 0 in stat
		{dir, 10, dir + ": is a folder, not a regular file"},
		{fifo, 10, fifo + ": is a named pipe, not a regular file"},
		{linkToFIFO, 10, linkToFIFO + ": is a named pipe, not a regular file"},
		{sock, 10, sock + ": is a socket, not a regular file"},
		{"/dev/zero", 1 << 20, "/dev/zero: is a character device, not a regular file"},
		{"/dev/urandom", 1 << 20, "/dev/urandom: is a character device, not a regular file"},
		{filepath.Join(dir, "missing"), 10, filepath.Join(dir, "missing") + ": no such file or directory"},
		{dir + "/a\x00b", 10, `"` + dir + `/a\x00b": a file path cannot hold a NUL byte`},
		{dir + "/a\nb", 10, `"` + dir + `/a\nb": no such file or directory`},
	}
	for _, tt := range tests {
		done := make(chan struct{})
		var (
			b   []byte
			err error
		)
		go func() { b, err = Read(tt.path, tt.limit); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Read(%q) blocks", tt.path)
		}
		switch {
		case tt.want == "" && (err != nil || string(b) != "0123456789"):
			t.Errorf("Read(%q, %d) = %q, %v", tt.path, tt.limit, b, err)
		case tt.want != "" && (err == nil || err.Error() != tt.want):
			t.Errorf("Read(%q, %d): error %v, want %s", tt.path, tt.limit, err, tt.want)
		}
	}
	if _, err := Read(filepath.Join(dir, "missing"), 10); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v does not wrap fs.ErrNotExist", err)
	}
}

func TestName(t *testing.T) {
	for path, want := range map[string]string{
		"/etc/docspace/api-key": "/etc/docspace/api-key",
		"/etc/My Keys/kéy":      "/etc/My Keys/kéy",
		"/etc/a\x00b":           `"/etc/a\x00b"`,
		"/etc/a\nb":             `"/etc/a\nb"`,
		"/etc/\x1b[31mred":      `"/etc/\x1b[31mred"`,
		"/etc/\xff":             `"/etc/\xff"`,
	} {
		if got := Name(path); got != want {
			t.Errorf("Name(%q) = %s, want %s", path, got, want)
		}
		if strings.ContainsAny(Name(path), "\x00\n\x1b") {
			t.Errorf("Name(%q) holds a control character", path)
		}
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{67: "67 bytes", 4 << 10: "4 KiB", 1536: "1.5 KiB", 4 << 20: "4 MiB", 100 << 20: "100 MiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
