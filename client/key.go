package client

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/docspace-exporter/docspace_exporter/internal/smallfile"
)

// MaxKeyFileSize is the largest API key file read. An API key is 67 bytes,
// a personal access token a few hundred.
const MaxKeyFileSize = 4 << 10

// rewriteGrace is how long a key file that reads empty or cut short is
// taken for one being rewritten in place, and the last good key is used.
const rewriteGrace = time.Second

// KeySource yields the credential sent to DocSpace: an API key (sk-...) or a
// personal access token. Implementations must be safe for concurrent use.
type KeySource interface {
	Key() (string, error)
}

// StaticKey is a key fixed at start, e.g. from the DOCSPACE_API_KEY variable.
type StaticKey string

// Key returns the key, trimmed and checked as ParseKey does.
func (k StaticKey) Key() (string, error) {
	return ParseKey("the API key", []byte(k))
}

// ParseKey returns the key or token held in raw, the content of a key file
// or variable: white space around it and a leading UTF-8 byte order mark
// (Windows Notepad writes one) are removed. It refuses what DocSpace would
// reject with a 401 or what cannot be sent in an HTTP header: an empty
// value, several lines, quotes, control or non-ASCII characters, a space
// that does not follow a scheme such as "Bearer". Its errors start with
// subject (e.g. "the API key file /etc/key") and give a position, never the
// key.
func ParseKey(subject string, raw []byte) (string, error) {
	text := string(raw)
	key := trimKey(text)
	start := strings.Index(text, key) // bytes before the key
	switch {
	case key == "":
		return "", fmt.Errorf("%s is empty: put the DocSpace API key (sk-...) or token in it", subject)
	case lines(key) > 1:
		return "", fmt.Errorf("%s holds %d lines; keep one key", subject, lines(key))
	case isQuote(key[0]) || isQuote(key[len(key)-1]):
		return "", fmt.Errorf("%s is in quotes: write the key without quotes", subject)
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c < ' ' || c == 0x7f:
			return "", fmt.Errorf("%s has a control character at byte %d, which cannot be sent in an HTTP header: keep only the key", subject, start+i+1)
		case c >= 0x80:
			return "", fmt.Errorf("%s has a non-ASCII character at byte %d (a typographic quote or a non-breaking space?), which DocSpace never accepts: keep only the key", subject, start+i+1)
		}
	}
	if scheme, rest, ok := strings.Cut(key, " "); ok && (!isScheme(scheme) || strings.Contains(rest, " ")) {
		at := len(scheme)
		if isScheme(scheme) {
			at += 1 + strings.Index(rest, " ")
		}
		return "", fmt.Errorf("%s has a space at byte %d: keep only the key, or a scheme and the key (Bearer sk-...)", subject, start+at+1)
	}
	return key, nil
}

// trimKey removes white space and a leading byte order mark around raw.
func trimKey(raw string) string {
	return strings.TrimSpace(strings.TrimPrefix(raw, "\uFEFF"))
}

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

// lines counts the lines of s that are not blank.
func lines(s string) int {
	n := 0
	for l := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	return n
}

// FileKey reads the key from a file for every call, so that a rotated key
// (a rewritten file, or a Kubernetes secret whose symlink is swapped) is
// used at once, however it was written. A file rewritten in place is empty
// for a moment, or holds part of the new key: a read that finds the file
// empty, or holding a beginning of the last good key, uses that key
// instead, for rewriteGrace; a file that stays so is an error.
type FileKey struct {
	path    string
	subject string // names the file in messages
	kept    func(reason string)
	now     func() time.Time

	mu        sync.Mutex
	key       string    // the last good key
	shortFrom time.Time // when the file was first read empty or cut short; zero when it was not
}

// NewFileKey returns a FileKey for path and reads it once, so that a missing,
// unreadable, empty or malformed file is reported at start. kept, when not
// nil, is told with a reason each time a call uses the last good key.
func NewFileKey(path string, kept func(reason string)) (*FileKey, error) {
	f := &FileKey{path: path, subject: "the API key file " + smallfile.Name(path), kept: kept, now: time.Now}
	if _, err := f.Key(); err != nil {
		return nil, err
	}
	return f, nil
}

// Key reads the file and returns its key. The file is refused when it is
// not a regular file or larger than MaxKeyFileSize.
func (f *FileKey) Key() (string, error) {
	b, err := smallfile.Read(f.path, MaxKeyFileSize)
	if err != nil {
		return "", fmt.Errorf("cannot read the API key file %w", err)
	}
	key, err := ParseKey(f.subject, b)

	f.mu.Lock()
	defer f.mu.Unlock()
	if read := trimKey(string(b)); f.key != "" && len(read) < len(f.key) && strings.HasPrefix(f.key, read) {
		// Empty or cut short: the file is being rewritten in place.
		now := f.now()
		if f.shortFrom.IsZero() {
			f.shortFrom = now
		}
		if now.Sub(f.shortFrom) < rewriteGrace {
			if f.kept != nil {
				f.kept("the API key file read empty or cut short, as while it is rewritten; this call uses the last good key")
			}
			return f.key, nil
		}
		if err == nil {
			err = fmt.Errorf("%s holds only the beginning of the previous key: write the whole key", f.subject)
		}
	}
	if err != nil {
		return "", err
	}
	f.key, f.shortFrom = key, time.Time{}
	return key, nil
}

// authorization returns the Authorization header value for key: the key with
// "Bearer " in front (DocSpace requires it for API keys and accepts it for
// tokens), or the key as given when it already starts with a scheme such as
// "Bearer " or "Basic ". DocSpace compares the schemes Bearer and Basic
// case-sensitively, so they are sent in that case whatever the key file says.
func authorization(key string) string {
	scheme, rest, ok := strings.Cut(key, " ")
	if !ok || rest == "" || !isScheme(scheme) {
		return "Bearer " + key
	}
	for _, canonical := range []string{"Bearer", "Basic"} {
		if strings.EqualFold(scheme, canonical) {
			return canonical + " " + rest
		}
	}
	return key
}

// isScheme tells whether s can be an HTTP authentication scheme: letters
// only, as every scheme in use is. A key or token never is one.
func isScheme(s string) bool {
	return s != "" && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == ""
}
