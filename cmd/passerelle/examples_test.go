package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passerelle-bus/passerelle/internal/config"
	"github.com/passerelle-bus/passerelle/internal/connect"
)

// Every example configuration the repository ships loads and validates as
// printed, with none of its variables set (their defaults are the demo's)
// and with all of them set: an example that fails is the first thing a new
// user meets. Secrets are the exception: a secret's ${VAR} has no default,
// by rule, so they are always set, and a secret's file is read when the
// configuration is, so the Kafka users' password files exist.
func TestEveryExampleLoads(t *testing.T) {
	files, err := filepath.Glob("../../deploy/examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	users := t.TempDir()
	for _, u := range []string{"gateway", "connector-tax"} {
		os.WriteFile(filepath.Join(users, u+".password"), []byte("secret\n"), 0o600)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			for _, env := range []map[string]string{
				{"PASSERELLE_KAFKA_USERS_DIR": users},
				{"PASSERELLE_KAFKA_BROKERS": "kafka-1:9092,kafka-2:9092", "PASSERELLE_DATA": "/var/lib/passerelle", "PASSERELLE_LISTEN": "0.0.0.0:8443", "PASSERELLE_KAFKA_CA": "/etc/kafka/ca.crt", "PASSERELLE_KAFKA_USERS_DIR": users},
			} {
				t.Setenv("TAX_DB_PASSWORD", "passerelle")
				for _, v := range []string{"PASSERELLE_KAFKA_BROKERS", "PASSERELLE_DATA", "PASSERELLE_LISTEN", "PASSERELLE_STATE_DIR", "PASSERELLE_INDEX", "PASSERELLE_AUDIT_INDEX", "TAX_DB_URL", "PASSERELLE_KAFKA_CA", "PASSERELLE_KAFKA_USERS_DIR", "PASSERELLE_TLS_CERT", "PASSERELLE_TLS_KEY", "PASSERELLE_TLS_CLIENT_CA"} {
					if val, ok := env[v]; ok {
						t.Setenv(v, val)
					} else {
						t.Setenv(v, "")
						os.Unsetenv(v)
					}
				}
				var err error
				switch name := filepath.Base(f); {
				case strings.HasPrefix(name, "gateway"):
					var cfg gatewayConfig
					err = config.Load(f, &cfg)
				case strings.HasPrefix(name, "connector-"):
					var cfg connect.Config
					if err = config.Load(f, &cfg); err == nil && cfg.Domain+".yaml" != strings.TrimPrefix(name, "connector-") {
						t.Errorf("%s configures domain %s", name, cfg.Domain)
					}
				default:
					t.Fatalf("%s: an example of what? Name it gateway*.yaml or connector-<domain>.yaml", name)
				}
				if err != nil {
					t.Errorf("with %v: %v", env, err)
				}
			}
		})
	}
}
