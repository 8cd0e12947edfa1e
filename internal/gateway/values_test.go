package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/bus/bustest"
	"github.com/passerelle-bus/passerelle/internal/domains"
	"github.com/passerelle-bus/passerelle/internal/synth"
	"github.com/passerelle-bus/passerelle/policy"
	"github.com/passerelle-bus/passerelle/schemas"
)

// Every field's value, followed from the source row the synthetic
// population wrote to the HTTP answer, in each of the five domains: the
// expected value is read from the population's own rows here, not through
// any mapping, view or policy code, so a mapping that reads the wrong
// column, or a view that serves another record, fails. The citizen's
// current record is, per domain, its row with the latest event time; a
// citizen whose latest rows tie is skipped, as is a field the domain's
// row leaves empty.
func TestValuesFromSourceToAnswer(t *testing.T) {
	bustest.Each(t, func(t *testing.T, tg bustest.Target) { valuesFromSourceToAnswer(t, newFixtureOn(t, tg, 120)) })
}

// The same values, the connectors sealing every personal field on the
// log and the view opening them with each citizen's key.
func TestSealedValuesFromSourceToAnswer(t *testing.T) {
	f := newFixtureWith(t, bustest.Embedded(t), 120, true, domains.Names()...)
	// On the log, nothing personal in clear: a sealed schema's id, and
	// every sealed field an envelope.
	for _, d := range domains.All() {
		sub, _ := f.codec.Catalog().Subject(d.Subject())
		sealed := sub.Sealed[sub.Latest().Version]
		n := 0
		for _, m := range readAll(t, f.client, d.Topic()) {
			if id, _ := schemas.SchemaID(m.Value); id != sealed.ID {
				t.Fatalf("%s: a record of schema %d on the log, want the sealed %d", d.Name, id, sealed.ID)
			}
			n++
		}
		if n == 0 {
			t.Fatalf("%s: no record", d.Name)
		}
	}
	valuesFromSourceToAnswer(t, f)
}

func valuesFromSourceToAnswer(t *testing.T, f *fixture) {
	{
		f.rules = everyFieldRules(t)
		_, _, srv := f.instance(t, f.cz.Service.Index, f.auditLog, f.trail, f.publisher)
		want := expectedValues(f.pop)
		schema := compileResponse(t, "/v1/citizens/{nir}/view", "GET", 200, "application/json")
		checked := map[string]int{}
		for _, nir := range f.everyone {
			byDomain := want[nir]
			for _, domain := range sortedKeys(byDomain) {
				fields := byDomain[domain]
				names := sortedKeys(fields)
				path := fmt.Sprintf("/v1/citizens/%s/view?purpose=value-trace&fields=%s", nir, url.QueryEscape(strings.Join(names, ",")))
				code, body := call(t, srv, f.token(t, "tracer"), "GET", path, nil)
				if code != 200 {
					t.Fatalf("%s %s: %d %v", nir, domain, code, body)
				}
				// Every value, nested ones included, is what the document
				// says it is.
				if err := schema.Validate(body); err != nil {
					t.Fatalf("%s %s: the answer is not what /openapi.json says: %v\n%v", nir, domain, err, jsonOf(body))
				}
				got, _ := body["fields"].(map[string]any)
				for _, name := range names {
					r, ok := got[name].(map[string]any)
					if !ok {
						t.Errorf("%s %s: not released (%v)", nir, name, body["withheld"])
						continue
					}
					if !sameJSON(r["value"], fields[name]) {
						t.Errorf("%s %s: %v, the source row says %v", nir, name, jsonOf(r["value"]), jsonOf(fields[name]))
					}
					checked[domain]++
				}
			}
		}
		for _, d := range []string{"civilstatus", "tax", "hr", "finance", "health"} {
			if checked[d] < 20 {
				t.Errorf("only %d values of %s checked: the test proves little there", checked[d], d)
			}
		}
		t.Logf("values checked: %v", checked)
	}
}

// readAll returns every record of topic.
func readAll(t *testing.T, c *bus.Client, topic string) []bus.Message {
	var mu sync.Mutex
	var out []bus.Message
	err := c.Replay(context.Background(), topic, bus.ReplayOptions{}, func(m bus.Message) error {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// everyFieldRules is the default register plus a purpose and a rule that
// let the tracer read every field of the view, whatever its class.
func everyFieldRules(t *testing.T) *policy.RuleSet {
	t.Helper()
	fsys := fstest.MapFS{}
	err := fs.WalkDir(policy.Default, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(policy.Default, p)
		fsys[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	fsys[policy.PurposesFile].Data = append(fsys[policy.PurposesFile].Data, []byte(`
- id: value-trace
  description: A test's reading of every field, one domain at a time, with no frequency ceiling.
  max_fields: 20
`)...)
	fields := policy.FieldNames()
	fsys[policy.RulesDir+"/tracer.yaml"] = &fstest.MapFile{Data: fmt.Appendf(nil, `id: tracer-value-trace
requester: tracer
purpose: value-trace
legal_basis: legal-obligation
legal_reference: test
fields: [%s]
health_exception: test
consent_required: false
valid_from: 2020-01-01T00:00:00Z
`, strings.Join(fields, ", "))}
	rs, err := policy.Load(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// expectedValues is, per citizen and domain, each field's value as the
// population's current row for it holds it, in the view's JSON shapes
// (money in cents with its currency, dates YYYY-MM-DD).
func expectedValues(p *synth.Population) map[string]map[string]map[string]any {
	out := map[string]map[string]map[string]any{}
	put := func(nir, domain string, fields map[string]any) {
		if out[nir] == nil {
			out[nir] = map[string]map[string]any{}
		}
		for k, v := range fields {
			if v == nil || v == "" {
				delete(fields, k) // a field left empty is not what this follows
			}
		}
		out[nir][domain] = fields
	}
	money := func(c int64) map[string]any { return map[string]any{"cents": c, "currency": "EUR"} }
	orNil := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	for nir, r := range latest(p.Tax, func(r synth.TaxRow) (string, string) { return r.NIR, r.UpdatedAt.UTC().Format(time.RFC3339Nano) }) {
		put(nir, "tax", map[string]any{"tax.tax_year": r.TaxYear, "tax.household_id": r.HouseholdID, "tax.role": r.Role,
			"tax.shares": r.Shares, "tax.reference_income": money(r.ReferenceIncomeCents), "tax.taxable_income": money(r.TaxableIncomeCents),
			"tax.tax_due": money(r.TaxDueCents), "tax.dependants": r.Dependants, "tax.commune": r.CommuneCode})
	}
	for nir, r := range latest(p.HR, func(r synth.EmploymentRow) (string, string) { return r.NIR, r.UpdatedAt.UTC().Format(time.RFC3339Nano) }) {
		put(nir, "hr", map[string]any{"hr.employer": map[string]any{"siret": r.EmployerSIRET, "name": r.EmployerName},
			"hr.corps": r.Corps, "hr.grade": r.Grade, "hr.category": r.Category, "hr.status": r.Status, "hr.start_date": r.StartDate,
			"hr.end_date": orNil(r.EndDate), "hr.working_time": r.WorkingTimePercent, "hr.gross_monthly_pay": money(r.GrossMonthlyPayCents)})
	}
	for nir, r := range latest(p.Payments, func(r synth.PaymentRow) (string, string) { return r.NIR, r.PaymentDate }) {
		put(nir, "finance", map[string]any{"finance.benefit": r.Benefit, "finance.period": map[string]any{"start": r.PeriodStart, "end": r.PeriodEnd},
			"finance.amount": money(r.AmountCents), "finance.payer": r.Payer, "finance.payment_date": r.PaymentDate, "finance.status": r.Status})
	}
	for nir, r := range latest(p.Coverages, func(r synth.CoverageRow) (string, string) { return r.NIR, r.StartDate }) {
		if r.StartDate == "" {
			continue
		}
		put(nir, "health", map[string]any{"health.scheme": r.Scheme, "health.coverage_type": r.CoverageType, "health.start_date": r.StartDate,
			"health.end_date": orNil(r.EndDate), "health.long_term_condition": r.LongTerm, "health.declared_gp": r.DeclaredGP})
	}
	for nir, e := range latest(p.Events, func(e synth.CivilEvent) (string, string) {
		return e.Person.NIR, e.RecordedAt.UTC().Format(time.RFC3339Nano)
	}) {
		s := e.Person
		var addr any
		if s.Address != nil {
			addr = map[string]any{"commune_code": s.Address.CommuneCode, "postcode": s.Address.Postcode}
		}
		put(nir, "civilstatus", map[string]any{"civilstatus.family_name": s.FamilyName, "civilstatus.usage_name": orNil(s.UsageName),
			"civilstatus.given_names": s.GivenNames, "civilstatus.sex": s.Sex, "civilstatus.birth_date": s.BirthDate,
			"civilstatus.birth_commune": orNil(s.BirthCommune), "civilstatus.birth_country": s.BirthCountry, "civilstatus.nationality": s.Nationality,
			"civilstatus.marital_status": s.MaritalStatus, "civilstatus.death_date": orNil(s.DeathDate), "civilstatus.address": addr})
	}
	return out
}

// latest is each citizen's row with the greatest event time (RFC 3339 or
// dates, which sort as strings); a citizen whose greatest is shared by two
// rows is left out, as the view's tie-break is not what this follows.
func latest[R any](rows []R, key func(R) (nir, at string)) map[string]R {
	best, at, tied := map[string]R{}, map[string]string{}, map[string]bool{}
	for _, r := range rows {
		nir, t := key(r)
		switch prev, ok := at[nir]; {
		case !ok || t > prev:
			best[nir], at[nir], tied[nir] = r, t, false
		case t == prev:
			tied[nir] = true
		}
	}
	for nir := range tied {
		if tied[nir] {
			delete(best, nir)
		}
	}
	return best
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
