package main

import (
	"context"
	"fmt"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/busacl"
	"github.com/passerelle-bus/passerelle/internal/domains"
)

const kafkaSynopsis = "kafka apply|check --acls FILE [--users-dir DIR] [--partitions N] --brokers HOST:PORT,... [--kafka-ca FILE --kafka-user U --kafka-password-file F]"

// runKafka administers a cluster as its operator: apply makes its topics,
// its users' SCRAM credentials and its ACLs what the ACL file says; check
// reports how its ACLs differ from the file, and fails if they do.
func runKafka(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || (args[0] != "apply" && args[0] != "check") {
		fmt.Fprintf(e.stderr, "usage: passerelle %s\n", kafkaSynopsis)
		return errUsage
	}
	verb := args[0]
	fs := newFlags(e, "kafka "+verb, kafkaSynopsis)
	acls := fs.String("acls", "deploy/kafka/acls.yaml", "the ACL file, the source of truth")
	users := fs.String("users-dir", "", "apply: give each SCRAM user the password in DIR/<name>.password, made (0600) if absent")
	partitions := fs.Int("partitions", 6, "apply: partitions of the topics it creates")
	var kf kafkaFlags
	addKafkaFlags(fs, &kf, "127.0.0.1:9092")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	f, err := busacl.Load(*acls)
	if err != nil {
		return err
	}
	cfg, err := kf.config()
	if err != nil {
		return err
	}
	client, err := bus.New(cfg, e.logger(slogQuiet))
	if err != nil {
		return err
	}
	defer client.Close()
	if verb == "check" {
		d, err := busacl.Compare(ctx, client, f)
		if err != nil {
			return err
		}
		if !d.Empty() {
			fmt.Fprint(e.stdout, d)
			return fmt.Errorf("the cluster's ACLs differ from %s", *acls)
		}
		fmt.Fprintf(e.stdout, "the cluster's ACLs are exactly %s (%d entries, %d principals)\n", *acls, len(f.ACLs()), len(f.Users))
		return nil
	}
	// Topics first: under least privilege no component may create one.
	if err := client.EnsureTopics(ctx, domains.Topics(*partitions)...); err != nil {
		return err
	}
	if *users != "" {
		if err := busacl.SetPasswords(ctx, client, f, *users); err != nil {
			return err
		}
	}
	d, err := busacl.Apply(ctx, client, f)
	if err != nil {
		return err
	}
	fmt.Fprint(e.stdout, d)
	fmt.Fprintf(e.stdout, "applied %s: %d entries added, %d removed\n", *acls, len(d.Missing), len(d.Extra))
	return nil
}
