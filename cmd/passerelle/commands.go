package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// command is one subcommand. run returns an error whose message is the
// one-line reason printed on failure.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what a subcommand may touch of the outside world, so tests can run
// subcommands in-process.
type env struct {
	stdout, stderr io.Writer
}

func (e *env) logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
}

func commands() []command {
	return []command{
		{"demo", "run the whole system on the embedded default", runDemo},
		{"schema", "check or list the Avro schemas and their registry", runSchema},
		{"gateway", "serve the gateway: citizen views, consents, registry, member keys", runGateway},
		{"connect", "run one domain's connector: source system → signed records on Kafka", runConnect},
		{"synth", "generate a synthetic population into every domain's source system", runSynth},
		{"keys", "generate, rotate and publish members' keys and the member registry", runKeys},
		{"policy", "run the example requests written beside the policy rules", runPolicy},
		{"token", "print a short-lived request JWT for a member, for curl", runToken},
		{"audit", "verify the audit log, trace accesses, witness checkpoints", runAudit},
		{"stats", "compute a statistic as a decision-maker: protected table, CSV or JSON", runStats},
		{"erase", "erase a citizen as the data-protection officer: their data keys destroyed in every domain", runErase},
		{"kafka", "apply the ACL file to a Kafka cluster (topics, users, ACLs), or check it", runKafka},
	}
}

// exit codes
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.Is(err, errUsage):
			return exitUsage
		}
		fmt.Fprintf(stderr, "passerelle %s: %s\n", c.name, oneLine(err))
		return exitFail
	}
	fmt.Fprintf(stderr, "passerelle: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

// errUsage marks a usage error the flag package has already explained.
var errUsage = errors.New("usage")

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: passerelle <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'passerelle <command> --help' for a command's flags.")
	fmt.Fprintln(w, "Exit codes: 0 success, 1 failure (a one-line reason on stderr), 2 usage error.")
	fmt.Fprintln(w, "Results go to stdout, diagnostics and logs to stderr.")
}

// newFlags returns a flag set whose parse errors are usage errors.
func newFlags(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: passerelle %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
