package docspacetest

import "time"

// T is the part of testing.TB that WaitFor uses; the package does not
// import testing, as the fake's binary is built from it.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
}

// WaitFor waits up to 5 s for cond, polling every millisecond, and fails
// the test naming what it waited for.
func WaitFor(t T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
