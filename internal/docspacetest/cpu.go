package docspacetest

import (
	"syscall"
	"time"
)

// ProcessCPU returns the CPU time, user and system, that this process has
// used: the benchmarks' cpu-ns/op, which count the in-process fake too.
func ProcessCPU(t T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
