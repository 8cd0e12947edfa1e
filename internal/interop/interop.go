// Package interop finds the implementations we did not write that tests
// check our formats against: Debian's Python modules, which load in
// /usr/bin/python3 only (not in a python3 first on PATH).
package interop

import (
	"os"
	"os/exec"
	"testing"
)

// DebianPython is the interpreter Debian's python3-* packages install into.
const DebianPython = "/usr/bin/python3"

// Python returns DebianPython once it imports modules (a comma-separated
// import list), or skips the test saying how to install them; in CI it
// fails instead.
func Python(t testing.TB, modules string) string {
	t.Helper()
	if err := exec.Command(DebianPython, "-c", "import "+modules).Run(); err != nil {
		msg := "Debian's python3 cannot import " + modules + ": run deploy/local/tools.sh (or make test)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return DebianPython
}

// Stderr returns what a failed command wrote to stderr, for the report.
func Stderr(err error) []byte {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.Stderr
	}
	return nil
}

// Kcat returns the path of Debian's kcat, or skips the test saying how to
// install it; in CI it fails instead.
func Kcat(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		msg := "kcat not found: run deploy/local/tools.sh (or make test)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}
