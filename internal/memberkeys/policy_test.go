package memberkeys_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/passerelle-bus/passerelle/internal/memberkeys"
)

var update = flag.Bool("update", false, "rewrite deploy/vault from the generator")

// policyDir holds the policies a deployment loads into Vault.
const policyDir = "../../deploy/vault"

// exampleGateway is the id of deploy/examples/gateway.yaml: the shipped
// gateway policy is for the shipped gateway configuration.
func exampleGateway(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../deploy/examples/gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ID string `yaml:"id"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil || cfg.ID == "" {
		t.Fatalf("deploy/examples/gateway.yaml: id %q, %v", cfg.ID, err)
	}
	return cfg.ID
}

// deploy/vault holds exactly the generated policies, one file each: a new
// domain without its connector's policy, or a policy left from a removed
// one, fails here.
func TestPoliciesAreGenerated(t *testing.T) {
	want := map[string]string{}
	for _, p := range memberkeys.Policies(exampleGateway(t)) {
		want[p.Name+".hcl"] = p.HCL
	}
	if *update {
		old, _ := filepath.Glob(filepath.Join(policyDir, "*.hcl"))
		for _, f := range old {
			os.Remove(f)
		}
		for name, hcl := range want {
			if err := os.WriteFile(filepath.Join(policyDir, name), []byte(hcl), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	have, err := filepath.Glob(filepath.Join(policyDir, "*.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range have {
		name := filepath.Base(f)
		b, _ := os.ReadFile(f)
		switch hcl, ok := want[name]; {
		case !ok:
			t.Errorf("%s: no component has this policy; run go test ./internal/memberkeys -run TestPoliciesAreGenerated -update", name)
		case string(b) != hcl:
			t.Errorf("%s differs from the generator; run go test ./internal/memberkeys -run TestPoliciesAreGenerated -update", name)
		}
		delete(want, name)
	}
	for name := range want {
		t.Errorf("%s missing from deploy/vault; run go test ./internal/memberkeys -run TestPoliciesAreGenerated -update", name)
	}
}

// No path is a glob: `*` or `+` on a key name would reach the keys of
// another domain or member whose name shares the prefix.
func TestPoliciesNameExactPaths(t *testing.T) {
	for _, p := range memberkeys.Policies("gw") {
		for _, line := range strings.Split(p.HCL, "\n") {
			if strings.HasPrefix(line, "path ") && strings.ContainsAny(line, "*+") {
				t.Errorf("%s: %s", p.Name, line)
			}
		}
	}
	seen := map[string]bool{}
	for _, p := range memberkeys.Policies("gw") {
		if seen[p.Name] {
			t.Errorf("two policies named %s", p.Name)
		}
		seen[p.Name] = true
	}
}
