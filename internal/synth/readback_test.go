package synth

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passerelle-bus/passerelle/internal/pseudo"
)

// The tests read what the writers wrote back from the real files and
// tables, as a connector would, into flat rows named as Defect.Field names
// fields; nil is NULL or absent.
type sourceRow struct {
	key    string
	fields map[string]*string
}

func str(s string) *string { return &s }

func (r sourceRow) get(f string) string {
	if v := r.fields[f]; v != nil {
		return *v
	}
	return ""
}

// writeAll writes every source of p under dir, tax and hr into SQLite.
func writeAll(t testing.TB, dir string, p *Population) {
	t.Helper()
	ctx := context.Background()
	for _, w := range []struct {
		file  string
		write func(context.Context, *sql.DB, Dialect, *Population) error
	}{{"tax.sqlite", WriteTax}, {"hr.sqlite", WriteHR}} {
		db := openSQLite(t, filepath.Join(dir, w.file))
		if err := w.write(ctx, db, SQLite, p); err != nil {
			t.Fatalf("%s: %v", w.file, err)
		}
	}
	for _, w := range []func(string, *Population) error{WriteFinance, WriteCivilStatus, WriteHealth} {
		if err := w(dir, p); err != nil {
			t.Fatal(err)
		}
	}
}

func openSQLite(t testing.TB, path string) *sql.DB {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// readTable reads a whole table in id order, every column as text.
func readTable(t testing.TB, db *sql.DB, table string) []sourceRow {
	t.Helper()
	rows, err := db.Query("SELECT * FROM " + table + " ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []sourceRow
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		r := sourceRow{fields: map[string]*string{}}
		for i, c := range cols {
			if vals[i].Valid {
				r.fields[c] = str(vals[i].String)
			}
		}
		r.key = r.get("id")
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// dumpTable renders a table as text, to compare engines and runs.
func dumpTable(t testing.TB, db *sql.DB, table string) string {
	var b strings.Builder
	for _, r := range readTable(t, db, table) {
		keys := make([]string, 0, len(r.fields))
		for k := range r.fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%s|", k, *r.fields[k])
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// inboxFiles lists the files of an inbox in name order, failing on any
// temporary file left behind.
func inboxFiles(t testing.TB, dir, domain string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, domain, "inbox"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("%s: temporary file %s left in the inbox", domain, e.Name())
			continue
		}
		names = append(names, filepath.Join(dir, domain, "inbox", e.Name()))
	}
	return names
}

func readFinance(t testing.TB, dir string) []sourceRow {
	t.Helper()
	var out []sourceRow
	for _, name := range inboxFiles(t, dir, "finance") {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		header, _, _ := bytes.Cut(b, []byte("\n"))
		if string(header) != PaymentsHeader {
			t.Fatalf("%s: header %q", name, header)
		}
		r := csv.NewReader(bytes.NewReader(b))
		r.Comma = ';'
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := len(recs) - 1; n < 1 || n > MaxPaymentsPerFile {
			t.Fatalf("%s: %d rows", name, n)
		}
		cols := recs[0]
		for _, rec := range recs[1:] {
			row := sourceRow{key: rec[0], fields: map[string]*string{}}
			for i, c := range cols {
				row.fields[c] = str(rec[i])
			}
			out = append(out, row)
		}
	}
	return out
}

func readCivilStatus(t testing.TB, dir string) []sourceRow {
	t.Helper()
	var out []sourceRow
	for _, name := range inboxFiles(t, dir, "civilstatus") {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(lines) < 1 || len(lines) > MaxEventsPerFile {
			t.Fatalf("%s: %d lines", name, len(lines))
		}
		for _, line := range lines {
			var flat map[string]any
			d := json.NewDecoder(strings.NewReader(line))
			d.UseNumber()
			if err := d.Decode(&flat); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			row := sourceRow{fields: map[string]*string{}}
			flatten(t, "", flat, row.fields)
			row.key = row.get("event_id")
			out = append(out, row)
		}
	}
	return out
}

// flatten names nested JSON fields with dots; an array of strings is
// joined with commas.
func flatten(t testing.TB, prefix string, m map[string]any, into map[string]*string) {
	for k, v := range m {
		name := prefix + k
		switch v := v.(type) {
		case nil:
			into[name] = nil
		case string:
			into[name] = str(v)
		case json.Number:
			into[name] = str(v.String())
		case map[string]any:
			flatten(t, name+".", v, into)
		case []any:
			var parts []string
			for _, x := range v {
				s, ok := x.(string)
				if !ok {
					t.Fatalf("%s: not an array of strings", name)
				}
				parts = append(parts, s)
			}
			if len(parts) > 0 {
				into[name] = str(strings.Join(parts, ","))
			}
		default:
			t.Fatalf("%s: unexpected %T", name, v)
		}
	}
}

// fhirFile is the bundle structure the health format promises.
type fhirFile struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		Resource struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			Identifier   []struct {
				System, Value string
			} `json:"identifier"`
			Status      string `json:"status"`
			Beneficiary struct {
				Reference string `json:"reference"`
			} `json:"beneficiary"`
			Type struct {
				Coding []struct{ System, Code string } `json:"coding"`
			} `json:"type"`
			Class []struct {
				Type struct {
					Coding []struct{ System, Code string } `json:"coding"`
				} `json:"type"`
				Value string `json:"value"`
			} `json:"class"`
			Period *struct {
				Start *string `json:"start"`
				End   *string `json:"end"`
			} `json:"period"`
			Payor []struct {
				Display string `json:"display"`
			} `json:"payor"`
			Extension []struct {
				URL          string `json:"url"`
				ValueBoolean *bool  `json:"valueBoolean"`
			} `json:"extension"`
		} `json:"resource"`
	} `json:"entry"`
}

func readHealth(t testing.TB, dir string) []sourceRow {
	t.Helper()
	var out []sourceRow
	for _, name := range inboxFiles(t, dir, "health") {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var f fhirFile
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		if err := d.Decode(&f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.ResourceType != "Bundle" || f.Type != "collection" {
			t.Fatalf("%s: %s of type %s", name, f.ResourceType, f.Type)
		}
		nirs := map[string]string{}
		patients := 0
		for _, e := range f.Entry {
			res := e.Resource
			switch res.ResourceType {
			case "Patient":
				patients++
				if len(res.Identifier) != 1 || res.Identifier[0].System != NIRSystem || !strings.HasPrefix(res.ID, "p-") {
					t.Fatalf("%s: patient %s: %+v", name, res.ID, res.Identifier)
				}
				nirs[res.ID] = res.Identifier[0].Value
			case "Coverage":
				row := sourceRow{key: res.ID, fields: map[string]*string{"status": str(res.Status)}}
				ref, ok := strings.CutPrefix(res.Beneficiary.Reference, "Patient/")
				nir, known := nirs[ref]
				if !ok || !known || strings.TrimPrefix(ref, "p-") != strings.TrimPrefix(res.ID, "c-") {
					t.Fatalf("%s: coverage %s refers to %q", name, res.ID, res.Beneficiary.Reference)
				}
				row.fields["beneficiary.identifier"] = str(nir)
				if len(res.Type.Coding) != 1 || res.Type.Coding[0].System != CoverageTypeSystem {
					t.Fatalf("%s: coverage %s type %+v", name, res.ID, res.Type)
				}
				row.fields["type.coding.code"] = str(res.Type.Coding[0].Code)
				for _, c := range res.Class {
					if len(c.Type.Coding) == 1 && c.Type.Coding[0].System == CoverageClassSystem && c.Type.Coding[0].Code == "plan" {
						row.fields["class[plan].value"] = str(c.Value)
					}
				}
				if res.Period == nil {
					t.Fatalf("%s: coverage %s has no period", name, res.ID)
				}
				row.fields["period.start"], row.fields["period.end"] = res.Period.Start, res.Period.End
				if len(res.Payor) != 1 || res.Payor[0].Display == "" {
					t.Fatalf("%s: coverage %s payor %+v", name, res.ID, res.Payor)
				}
				for _, x := range res.Extension {
					if x.ValueBoolean == nil {
						t.Fatalf("%s: coverage %s: extension %s has no valueBoolean", name, res.ID, x.URL)
					}
					row.fields[x.URL] = str(strconv.FormatBool(*x.ValueBoolean))
				}
				if row.fields[LongTermConditionURL] == nil || row.fields[DeclaredGPURL] == nil {
					t.Fatalf("%s: coverage %s lacks an extension", name, res.ID)
				}
				out = append(out, row)
			default:
				t.Fatalf("%s: unexpected %s", name, res.ResourceType)
			}
		}
		if patients < 1 || patients > MaxPatientsPerFile {
			t.Fatalf("%s: %d patients", name, patients)
		}
	}
	return out
}

// readSources reads every source of a directory written by writeAll.
func readSources(t testing.TB, dir string) map[Domain][]sourceRow {
	return map[Domain][]sourceRow{
		DomainTax:         readTable(t, openSQLite(t, filepath.Join(dir, "tax.sqlite")), "household_assessment"),
		DomainHR:          readTable(t, openSQLite(t, filepath.Join(dir, "hr.sqlite")), "employment"),
		DomainFinance:     readFinance(t, dir),
		DomainCivilStatus: readCivilStatus(t, dir),
		DomainHealth:      readHealth(t, dir),
	}
}

// checker validates a row field by field the way a connector must, keeping
// the first defect.
type checker struct {
	r   sourceRow
	bad *Defect
}

var (
	communeRE  = regexp.MustCompile(`^([0-9]{5}|2[AB][0-9]{3})$`)
	postcodeRE = regexp.MustCompile(`^[0-9]{5}$`)
	siretRE    = regexp.MustCompile(`^[0-9]{14}$`)
	householdR = regexp.MustCompile(`^[0-9]{13}$`)
	sharesRE   = regexp.MustCompile(`^[0-9]+\.[0-9]{2}$`)
	countryRE  = regexp.MustCompile(`^[A-Z]{2}$`)
)

func (c *checker) fail(kind DefectKind, field string) {
	if c.bad == nil {
		c.bad = &Defect{kind, field}
	}
}

func (c *checker) required(f string) string {
	v := c.r.get(f)
	if strings.TrimSpace(v) == "" {
		c.fail(DefectMissingField, f)
	}
	return v
}

func (c *checker) nir(f string) {
	switch err := pseudo.ValidateNIR(c.required(f)); {
	case errors.Is(err, pseudo.ErrNIRKey):
		c.fail(DefectNIRKey, f)
	case err != nil:
		c.fail(DefectNIRFormat, f)
	}
}

func (c *checker) enum(f string, symbols ...string) {
	if !slices.Contains(symbols, c.r.get(f)) {
		c.fail(DefectUnknownEnum, f)
	}
}

func (c *checker) pattern(f string, re *regexp.Regexp) {
	if !re.MatchString(c.required(f)) {
		c.fail(DefectMissingField, f) // a shape no defect kind of ours produces
	}
}

func (c *checker) commune(f string) {
	if !communeRE.MatchString(c.r.get(f)) {
		c.fail(DefectCommune, f)
	}
}

func (c *checker) date(f string) time.Time {
	d, err := time.Parse(time.DateOnly, c.required(f))
	if err != nil && c.r.get(f) != "" {
		c.fail(DefectBadDate, f)
	}
	return d
}

// period checks end >= start when end is set.
func (c *checker) period(start time.Time, f string) {
	if c.r.fields[f] == nil {
		return
	}
	if end := c.date(f); end.Before(start) {
		c.fail(DefectEndBeforeStart, f)
	}
}

func (c *checker) amount(f string) {
	n, err := strconv.ParseInt(c.required(f), 10, 64)
	switch {
	case err != nil:
		c.fail(DefectMissingField, f)
	case n < 0:
		c.fail(DefectNegativeAmount, f)
	}
}

func (c *checker) intIn(f string, lo, hi int64) {
	if c.r.fields[f] == nil {
		return
	}
	if n, err := strconv.ParseInt(c.r.get(f), 10, 64); err != nil || n < lo || n > hi {
		c.fail(DefectMissingField, f)
	}
}

func (c *checker) timestamp(f string) {
	if _, err := time.Parse(time.RFC3339, c.required(f)); err != nil {
		c.fail(DefectBadDate, f)
	}
}

// validate returns the first defect of a row of a domain, nil when valid.
func validate(d Domain, r sourceRow) *Defect {
	c := &checker{r: r}
	switch d {
	case DomainTax:
		c.nir("nir")
		c.intIn("tax_year", TaxYear, TaxYear)
		c.pattern("household_id", householdR)
		c.enum("role", declarant, coDeclarant, dependant)
		c.pattern("shares", sharesRE)
		c.amount("reference_income_cents")
		c.amount("taxable_income_cents")
		c.amount("tax_due_cents")
		c.intIn("dependants", 0, 20)
		c.commune("commune_code")
		c.intIn("withholding_rate_bp", 0, 4300)
		c.timestamp("updated_at")
	case DomainHR:
		c.nir("nir")
		c.pattern("employer_siret", siretRE)
		c.required("employer_name")
		c.required("corps")
		c.required("grade")
		c.enum("category", "A", "B", "C")
		c.enum("status", "TENURED", "TRAINEE", "CONTRACT")
		c.period(c.date("start_date"), "end_date")
		c.intIn("working_time_percent", 50, 100)
		c.amount("gross_monthly_pay_cents")
		c.timestamp("updated_at")
	case DomainFinance:
		c.required("payment_id")
		c.nir("nir")
		c.enum("benefit", "HOUSING_AID", "MINIMUM_INCOME", "DISABILITY_ALLOWANCE", "PENSION", "FAMILY_ALLOWANCE", "OTHER")
		c.period(c.date("period_start"), "period_end")
		c.amount("amount_cents")
		c.required("payer")
		c.date("payment_date")
		c.enum("status", "PAID", "PENDING", "CANCELLED", "RECOVERED")
	case DomainCivilStatus:
		c.required("event_id")
		c.enum("event_type", EventBirth, EventMarriage, EventDeath, EventAddress)
		c.timestamp("recorded_at")
		c.intIn("version", 1, 100)
		c.nir("person.nir")
		c.required("person.family_name")
		c.required("person.given_names")
		c.enum("person.sex", "F", "M")
		birth := c.date("person.birth_date")
		if r.fields["person.birth_commune"] != nil {
			c.commune("person.birth_commune")
		}
		c.pattern("person.birth_country", countryRE)
		c.pattern("person.nationality", countryRE)
		c.enum("person.marital_status", single, married, civilPartnership, divorced, widowed)
		c.period(birth, "person.death_date")
		if _, ok := r.fields["person.address.commune_code"]; ok {
			c.commune("person.address.commune_code")
			c.pattern("person.address.postcode", postcodeRE)
		}
	case DomainHealth:
		c.nir("beneficiary.identifier")
		c.enum("status", "active")
		c.enum("type.coding.code", "BASIC", "COMPLEMENTARY_SOLIDARITY", "STATE_MEDICAL_AID")
		c.enum("class[plan].value", "GENERAL", "AGRICULTURAL", "SPECIAL")
		c.period(c.date("period.start"), "period.end")
	}
	return c.bad
}

// checkAgainstManifest asserts that a domain's rows are exactly the
// manifest's, each once, valid ones passing validation and defective ones
// failing it for their recorded defect.
func checkAgainstManifest(t *testing.T, d Domain, rows []sourceRow, m Manifest) {
	t.Helper()
	want := map[string]Defect{}
	for _, e := range m.Valid {
		want[e.Key] = Defect{}
	}
	for _, e := range m.Defective {
		want[e.Key] = e.Defect
	}
	if len(want) != m.Total() {
		t.Fatalf("%s: manifest keys are not unique", d)
	}
	if len(rows) != m.Total() {
		t.Errorf("%s: read %d rows, manifest lists %d", d, len(rows), m.Total())
	}
	seen := map[string]bool{}
	for _, r := range rows {
		wantDefect, ok := want[r.key]
		switch {
		case !ok:
			t.Errorf("%s: row %s is not in the manifest", d, r.key)
			continue
		case seen[r.key]:
			t.Errorf("%s: row %s read twice", d, r.key)
		}
		seen[r.key] = true
		got := validate(d, r)
		switch {
		case wantDefect.Kind == "" && got != nil:
			t.Errorf("%s: valid row %s fails validation: %+v", d, r.key, *got)
		case wantDefect.Kind != "" && (got == nil || *got != wantDefect):
			t.Errorf("%s: row %s: validation says %+v, manifest %+v", d, r.key, got, wantDefect)
		}
	}
}
