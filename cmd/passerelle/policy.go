package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"

	"github.com/passerelle-bus/passerelle/policy"
)

func runPolicy(_ context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "test" {
		fmt.Fprintln(e.stderr, "usage: passerelle policy test [--dir DIR] [-v]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	fs_ := newFlags(e, "policy test", "policy test [--dir DIR] [-v]")
	dir := fs_.String("dir", "", "policy directory (purposes.yaml, rules/); default: the policy built in")
	verbose := fs_.Bool("v", false, "print every case, not only failures")
	if err := parseFlags(fs_, args[1:]); err != nil {
		return err
	}
	var fsys fs.FS = policy.Default
	if *dir != "" {
		fsys = os.DirFS(*dir)
	}
	rs, err := policy.Load(fsys, ".")
	if err != nil {
		return err
	}
	results, err := policy.RunTests(fsys, ".", rs)
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range results {
		switch {
		case r.Err != nil:
			failed++
			fmt.Fprintf(e.stdout, "FAIL %s: %s\n     %v\n", r.File, r.Name, r.Err)
		case *verbose:
			fmt.Fprintf(e.stdout, "PASS %s: %s\n", r.File, r.Name)
		}
	}
	fmt.Fprintf(e.stdout, "policy %s: %d passed, %d failed\n", rs.Version, len(results)-failed, failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d example requests do not get their expected decision", failed, len(results))
	}
	return nil
}
