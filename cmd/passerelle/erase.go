package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/passerelle-bus/passerelle/internal/gateway"
)

// runErase has the gateway erase a citizen, as the controller (the
// data-protection officer): their data key destroyed in every domain.
func runErase(ctx context.Context, e *env, args []string) error {
	fs, g := gatewayFlags(e, "erase", "erase [--gateway URL] [--data DIR] [--member ID] --nir NIR --reason TEXT --legal-basis TEXT")
	g.member = "dpo"
	fs.Lookup("member").DefValue = "dpo"
	nir := fs.String("nir", "", "the citizen's NIR (required)")
	reason := fs.String("reason", "", "why the citizen is erased, e.g. \"the citizen's request\" (required)")
	basis := fs.String("legal-basis", "", "the legal basis, e.g. \"GDPR art. 17(1)(a)\" (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *nir == "" || strings.TrimSpace(*reason) == "" || strings.TrimSpace(*basis) == "" {
		fmt.Fprintln(fs.Output(), "erase: --nir, --reason and --legal-basis are required")
		fs.Usage()
		return errUsage
	}
	b, err := json.Marshal(gateway.ErasureRequest{NIR: *nir, Reason: *reason, LegalBasis: *basis})
	if err != nil {
		return err
	}
	body, err := g.do(ctx, http.MethodPost, "/v1/erasures", b, "application/json")
	if err != nil {
		return err
	}
	var a gateway.ErasureResponse
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	if len(a.Domains) == 0 {
		fmt.Fprintf(e.stdout, "erasure %s: no domain held a key of this citizen\n", a.ErasureID)
		return nil
	}
	fmt.Fprintf(e.stdout, "erasure %s: %d key(s) destroyed, in %s\n", a.ErasureID, a.Keys, strings.Join(a.Domains, ", "))
	return nil
}
