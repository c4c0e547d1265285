package client

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// KeySource yields the credential sent to DocSpace: an API key (sk-...) or a
// personal access token. Implementations must be safe for concurrent use.
type KeySource interface {
	Key() (string, error)
}

// StaticKey is a key fixed at start, e.g. from the DOCSPACE_API_KEY
// environment variable.
type StaticKey string

// Key returns the key with surrounding white space removed.
func (k StaticKey) Key() (string, error) {
	key := strings.TrimSpace(string(k))
	if key == "" {
		return "", errors.New("the API key is empty")
	}
	return key, nil
}

// FileKey reads the key from a file and reads it again whenever the file's
// modification time or size changes, so a rotated key (a rewritten file, or a
// Kubernetes secret whose symlink is swapped) works without a restart.
type FileKey struct {
	path string

	mu      sync.Mutex
	modTime time.Time
	size    int64
	key     string
}

// NewFileKey returns a FileKey for path and reads it once, so that a missing,
// unreadable or empty file is reported at start.
func NewFileKey(path string) (*FileKey, error) {
	f := &FileKey{path: path}
	if _, err := f.Key(); err != nil {
		return nil, err
	}
	return f, nil
}

// Key returns the current key, reading the file again if it changed.
func (f *FileKey) Key() (string, error) {
	st, err := os.Stat(f.path)
	if err != nil {
		return "", fmt.Errorf("cannot read the API key file: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.key != "" && st.ModTime().Equal(f.modTime) && st.Size() == f.size {
		return f.key, nil
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return "", fmt.Errorf("cannot read the API key file: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("the API key file %s is empty: put the DocSpace API key (sk-...) or token in it", f.path)
	}
	f.key, f.modTime, f.size = key, st.ModTime(), st.Size()
	return key, nil
}

// authorization returns the Authorization header value for key: the key with
// "Bearer " in front (DocSpace requires it for API keys and accepts it for
// tokens), or the key as given when it already starts with a scheme such as
// "Bearer " or "Basic ".
func authorization(key string) string {
	if scheme, rest, ok := strings.Cut(key, " "); ok && rest != "" && isToken(scheme) {
		return key
	}
	return "Bearer " + key
}

func isToken(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return s != ""
}
