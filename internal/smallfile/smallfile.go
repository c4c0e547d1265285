// Package smallfile reads the small files an operator names: API keys,
// configuration files, CA bundles. It refuses what is not a regular file
// (a named pipe, a device, a socket, a folder) without opening it, so that
// no read ever blocks, and it never reads more than a limit, so that a
// wrong path cannot fill the memory.
package smallfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// Read returns the content of the regular file at path, which must hold at
// most limit bytes. Symbolic links are followed. Its errors start with the
// path as Name shows it and say why the file cannot be used, e.g.
// "/etc/key: is a named pipe, not a regular file"; they wrap the os error,
// if any, so errors.Is(err, fs.ErrNotExist) works.
func Read(path string, limit int64) ([]byte, error) {
	name := Name(path)
	if strings.IndexByte(path, 0) >= 0 {
		return nil, fmt.Errorf("%s: a file path cannot hold a NUL byte", name)
	}
	// Stat first: a named pipe without a writer would block open, and
	// opening a device can have effects of its own.
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, cause(err))
	}
	if err := regular(st, limit); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// The path may have been swapped since: open without blocking and look
	// at what was opened.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, cause(err))
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, cause(err))
	}
	if err := regular(st, limit); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// The file may grow while it is read, and some files (in /proc) tell
	// no size: the limit holds whatever the size said.
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, cause(err))
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: is larger than %s", name, Size(limit))
	}
	return b, nil
}

// regular returns why st cannot be read as a small file, or nil.
func regular(st fs.FileInfo, limit int64) error {
	m := st.Mode()
	var what string
	switch {
	case m.IsRegular():
		if st.Size() > limit {
			return fmt.Errorf("is %s, larger than %s", Size(st.Size()), Size(limit))
		}
		return nil
	case m.IsDir():
		what = "a folder"
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a block device"
	default:
		what = "a special file"
	}
	return fmt.Errorf("is %s, not a regular file", what)
}

// cause returns the reason of an os error without the path, which the
// caller shows as Name does.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Name returns path as messages show it: as is when it is printable UTF-8,
// else quoted with Go's escapes, so that a control character in a path
// cannot break or fake a line of a message or a log.
func Name(path string) string {
	if !utf8.ValidString(path) || strings.IndexFunc(path, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(path)
	}
	return path
}

// Size formats a size in bytes for messages: 4 KiB, 1.5 MiB, 67 bytes.
func Size(n int64) string {
	unit := func(size int64, name string) string {
		if n%size == 0 {
			return fmt.Sprintf("%d %s", n/size, name)
		}
		return fmt.Sprintf("%.1f %s", float64(n)/float64(size), name)
	}
	switch {
	case n >= 1<<20:
		return unit(1<<20, "MiB")
	case n >= 1<<10:
		return unit(1<<10, "KiB")
	}
	return fmt.Sprintf("%d bytes", n)
}
