package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/schemas"
)

func runSchema(_ context.Context, e *env, args []string) error {
	if len(args) == 0 || (args[0] != "check" && args[0] != "list") {
		fmt.Fprintln(e.stderr, "usage: passerelle schema check|list [--dir DIR]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage
	}
	verb := args[0]
	fs_ := newFlags(e, "schema "+verb, "schema "+verb+" [--dir DIR]")
	dir := fs_.String("dir", "", "read the registry from this directory (a checkout's internal/domains/, one registry.yaml per domain folder) instead of the one built in")
	if err := parseFlags(fs_, args[1:]); err != nil {
		return err
	}
	cat, err := loadCatalog(*dir)
	if err != nil {
		return err
	}
	switch verb {
	case "check":
		if err := cat.Check(); err != nil {
			return errors.New("incompatible change: " + err.Error())
		}
		n := 0
		for _, s := range cat.Subjects() {
			n += len(s.Versions)
		}
		fmt.Fprintf(e.stdout, "schemas ok: %d subjects, %d versions, every version compatible under its subject's mode\n", len(cat.Subjects()), n)
	case "list":
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SUBJECT\tVERSION\tID\tCOMPATIBILITY\tFILE")
		for _, s := range cat.Subjects() {
			for _, v := range s.Versions {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", s.Name, v.Version, v.ID, s.Compatibility, v.File)
			}
		}
		return tw.Flush()
	}
	return nil
}

// loadCatalog reads the registry built in, or the one in dir's domain
// folders: what a checkout holds, checked before it is built.
func loadCatalog(dir string) (*schemas.Catalog, error) {
	if dir == "" {
		return domains.Catalog()
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var srcs []schemas.Source
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(sub, "registry.yaml")); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		srcs = append(srcs, schemas.Source{Name: e.Name(), FS: os.DirFS(sub)})
	}
	if len(srcs) == 0 {
		return nil, fmt.Errorf("%s: no domain folder with a registry.yaml", dir)
	}
	return schemas.Load(srcs...)
}
