package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/config"
)

// kafkaFlags say how a command reaches Kafka: the same settings as a
// configuration file's kafka: block (deploy/local/kafka.sh prints them as
// PASSERELLE_KAFKA_* variables). They have no defaults from the
// environment, so that a command never reaches a broker it was not told of.
type kafkaFlags struct {
	brokers, ca, cert, key, user, passwordFile string
}

func addKafkaFlags(fs *flag.FlagSet, k *kafkaFlags, defaultBrokers string) {
	fs.StringVar(&k.brokers, "brokers", defaultBrokers, "Kafka brokers, host:port,...")
	fs.StringVar(&k.ca, "kafka-ca", "", "PEM file of the CA the brokers' certificates chain to; turns TLS on")
	fs.StringVar(&k.cert, "kafka-cert", "", "client certificate, for mutual TLS")
	fs.StringVar(&k.key, "kafka-key", "", "the client certificate's private key")
	fs.StringVar(&k.user, "kafka-user", "", "SCRAM-SHA-512 user")
	fs.StringVar(&k.passwordFile, "kafka-password-file", "", "file of mode 0600 holding the user's password")
}

// config is the bus configuration the flags give. Only a file carries the
// password, never a flag: a command line is visible to every local user.
func (k kafkaFlags) config() (bus.Config, error) {
	c := bus.Config{Brokers: strings.Split(k.brokers, ",")}
	if k.ca != "" || k.cert != "" {
		c.TLS = &bus.TLSConfig{CAFile: k.ca, CertFile: k.cert, KeyFile: k.key}
	}
	if k.user != "" {
		if k.passwordFile == "" {
			return bus.Config{}, fmt.Errorf("--kafka-password-file: required with --kafka-user")
		}
		pw, err := config.SecretFile(k.passwordFile)
		if err != nil {
			return bus.Config{}, fmt.Errorf("--kafka-password-file: %w", err)
		}
		c.SASL = &bus.SASLConfig{Mechanism: "SCRAM-SHA-512", Username: k.user, Password: pw}
	}
	return c, c.Validate()
}
