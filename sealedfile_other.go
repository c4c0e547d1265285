//go:build !linux

package main

import "errors"

// sealedFile is Linux only: elsewhere exporter-toolkit reads the file itself.
func sealedFile(string, []byte) (string, error) {
	return "", errors.ErrUnsupported
}
