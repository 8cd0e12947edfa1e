package synth

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// Limits per dropped file.
const (
	MaxPaymentsPerFile = 10_000
	MaxEventsPerFile   = 10_000
	MaxPatientsPerFile = 1_000
)

// PaymentsHeader is the first line of every ledger file.
const PaymentsHeader = "payment_id;nir;benefit;period_start;period_end;amount_cents;payer;payment_date;status"

// FHIR systems and extensions of the health bundles.
const (
	NIRSystem            = "urn:oid:1.2.250.1.213.1.4.8" // the NIR (INS-NIR)
	CoverageTypeSystem   = "https://passerelle.invalid/fhir/CodeSystem/coverage-type"
	CoverageClassSystem  = "http://terminology.hl7.org/CodeSystem/coverage-class"
	LongTermConditionURL = "https://passerelle.invalid/fhir/StructureDefinition/long-term-condition"
	DeclaredGPURL        = "https://passerelle.invalid/fhir/StructureDefinition/declared-gp"
)

// WriteFinance drops p.Payments as CSV ledger files
// dir/finance/inbox/payments-0001.csv, -0002…
func WriteFinance(dir string, p *Population) error {
	return dropFiles(filepath.Join(dir, "finance", "inbox"), "payments-%04d.csv", len(p.Payments), MaxPaymentsPerFile,
		func(w io.Writer, from, to int) error {
			c := csv.NewWriter(w)
			c.Comma = ';'
			if _, err := io.WriteString(w, PaymentsHeader+"\n"); err != nil {
				return err
			}
			for _, r := range p.Payments[from:to] {
				c.Write([]string{r.PaymentID, r.NIR, r.Benefit, r.PeriodStart, r.PeriodEnd,
					strconv.FormatInt(r.AmountCents, 10), r.Payer, r.PaymentDate, r.Status})
			}
			c.Flush()
			return c.Error()
		})
}

// WriteCivilStatus drops p.Events as JSON Lines files
// dir/civilstatus/inbox/events-0001.jsonl, -0002…, in recorded order.
func WriteCivilStatus(dir string, p *Population) error {
	return dropFiles(filepath.Join(dir, "civilstatus", "inbox"), "events-%04d.jsonl", len(p.Events), MaxEventsPerFile,
		func(w io.Writer, from, to int) error {
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			for i := range p.Events[from:to] {
				if err := enc.Encode(eventJSON(&p.Events[from+i])); err != nil {
					return err
				}
			}
			return nil
		})
}

// WriteHealth drops p.Coverages as FHIR R4 collection bundles of Patient
// and Coverage resources: dir/health/inbox/bundle-0001.json, -0002…
func WriteHealth(dir string, p *Population) error {
	return dropFiles(filepath.Join(dir, "health", "inbox"), "bundle-%04d.json", len(p.Coverages), MaxPatientsPerFile,
		func(w io.Writer, from, to int) error {
			b := fhirBundle{ResourceType: "Bundle", Type: "collection"}
			for i := range p.Coverages[from:to] {
				pat, cov := fhirResources(&p.Coverages[from+i])
				b.Entry = append(b.Entry, fhirEntry{pat}, fhirEntry{cov})
			}
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			return enc.Encode(b)
		})
}

// dropFiles writes n rows, at most per in a file, each file written under
// a dot-name then renamed into inbox: a connector watching the inbox sees
// whole files only, in name order. Existing files are never overwritten.
func dropFiles(inbox, pattern string, n, per int, write func(w io.Writer, from, to int) error) error {
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		return fmt.Errorf("create inbox: %w", err)
	}
	files := (n + per - 1) / per
	for f := range files {
		name := filepath.Join(inbox, fmt.Sprintf(pattern, f+1))
		if _, err := os.Lstat(name); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("drop %s: %w", name, ErrNotEmpty)
		}
	}
	for f := range files {
		from, to := f*per, min((f+1)*per, n)
		if err := dropFile(inbox, fmt.Sprintf(pattern, f+1), func(w io.Writer) error { return write(w, from, to) }); err != nil {
			return err
		}
	}
	return nil
}

func dropFile(inbox, name string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(inbox, ".tmp-"+name+"-*")
	if err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriterSize(tmp, 256<<10)
	if err := write(w); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	// Synced before the rename, so a crash cannot leave a renamed but
	// empty file behind.
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("chmod %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(inbox, name)); err != nil {
		return fmt.Errorf("drop %s: %w", name, err)
	}
	return nil
}

// JSON shapes of the civil-status events; the field order is the format's.
type jsonEvent struct {
	EventID    string     `json:"event_id"`
	EventType  string     `json:"event_type"`
	RecordedAt string     `json:"recorded_at"`
	Version    int        `json:"version"`
	Person     jsonPerson `json:"person"`
}

type jsonPerson struct {
	NIR           string       `json:"nir"`
	FamilyName    string       `json:"family_name"`
	UsageName     *string      `json:"usage_name"`
	GivenNames    []string     `json:"given_names"`
	Sex           string       `json:"sex"`
	BirthDate     string       `json:"birth_date"`
	BirthCommune  *string      `json:"birth_commune"`
	BirthCountry  string       `json:"birth_country"`
	Nationality   string       `json:"nationality"`
	MaritalStatus string       `json:"marital_status"`
	DeathDate     *string      `json:"death_date"`
	Address       *jsonAddress `json:"address"`
}

type jsonAddress struct {
	CommuneCode string `json:"commune_code"`
	Postcode    string `json:"postcode"`
}

func eventJSON(e *CivilEvent) jsonEvent {
	s := &e.Person
	out := jsonEvent{EventID: e.ID, EventType: e.Type, RecordedAt: RFC3339(e.RecordedAt), Version: e.Version,
		Person: jsonPerson{NIR: s.NIR, FamilyName: s.FamilyName, UsageName: null(s.UsageName), GivenNames: s.GivenNames,
			Sex: s.Sex, BirthDate: s.BirthDate, BirthCommune: null(s.BirthCommune), BirthCountry: s.BirthCountry,
			Nationality: s.Nationality, MaritalStatus: s.MaritalStatus, DeathDate: null(s.DeathDate)}}
	if s.Address != nil {
		out.Person.Address = &jsonAddress{s.Address.CommuneCode, s.Address.Postcode}
	}
	return out
}

// null makes "" a JSON null.
func null(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// FHIR R4 shapes: only the elements the format uses, in its order.
type (
	fhirBundle struct {
		ResourceType string      `json:"resourceType"`
		Type         string      `json:"type"`
		Entry        []fhirEntry `json:"entry"`
	}
	fhirEntry struct {
		Resource any `json:"resource"`
	}
	fhirPatient struct {
		ResourceType string           `json:"resourceType"`
		ID           string           `json:"id"`
		Identifier   []fhirIdentifier `json:"identifier"`
	}
	fhirIdentifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	fhirCoverage struct {
		ResourceType string          `json:"resourceType"`
		ID           string          `json:"id"`
		Status       string          `json:"status"`
		Beneficiary  fhirReference   `json:"beneficiary"`
		Type         fhirCodeable    `json:"type"`
		Class        []fhirClass     `json:"class"`
		Period       fhirPeriod      `json:"period"`
		Payor        []fhirReference `json:"payor"`
		Extension    []fhirExtension `json:"extension"`
	}
	fhirReference struct {
		Reference string `json:"reference,omitempty"`
		Display   string `json:"display,omitempty"`
	}
	fhirCodeable struct {
		Coding []fhirCoding `json:"coding"`
	}
	fhirCoding struct {
		System string `json:"system"`
		Code   string `json:"code"`
	}
	fhirClass struct {
		Type  fhirCodeable `json:"type"`
		Value string       `json:"value"`
	}
	fhirPeriod struct {
		Start string `json:"start,omitempty"`
		End   string `json:"end,omitempty"`
	}
	fhirExtension struct {
		URL          string `json:"url"`
		ValueBoolean bool   `json:"valueBoolean"`
	}
)

func fhirResources(c *CoverageRow) (fhirPatient, fhirCoverage) {
	pat := fhirPatient{ResourceType: "Patient", ID: c.PatientID, Identifier: []fhirIdentifier{{NIRSystem, c.NIR}}}
	cov := fhirCoverage{
		ResourceType: "Coverage", ID: c.ID, Status: "active",
		Beneficiary: fhirReference{Reference: "Patient/" + c.PatientID},
		Type:        fhirCodeable{[]fhirCoding{{CoverageTypeSystem, c.CoverageType}}},
		Class:       []fhirClass{{Type: fhirCodeable{[]fhirCoding{{CoverageClassSystem, "plan"}}}, Value: c.Scheme}},
		Period:      fhirPeriod{Start: c.StartDate, End: c.EndDate},
		Payor:       []fhirReference{{Display: c.Payor}},
		Extension:   []fhirExtension{{LongTermConditionURL, c.LongTerm}, {DeclaredGPURL, c.DeclaredGP}},
	}
	return pat, cov
}
