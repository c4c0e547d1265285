package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// sealedFiles keeps the sealed files open for the exporter's life.
var sealedFiles []*os.File

// sealedFile returns the path of a file in memory that holds content and
// that nothing can change: a memfd sealed against writes, read through /proc.
func sealedFile(name string, content []byte) (string, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return "", err
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.Write(content); err != nil {
		f.Close()
		return "", err
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL); err != nil {
		f.Close()
		return "", err
	}
	path := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	if _, err := os.Stat(path); err != nil { // /proc not mounted
		f.Close()
		return "", err
	}
	sealedFiles = append(sealedFiles, f)
	return path, nil
}
