package synth

// Domain names a source system; the names are the bus's domains.
type Domain string

// The five domains, whose names match internal/bus.
const (
	DomainCivilStatus Domain = "civilstatus"
	DomainTax         Domain = "tax"
	DomainHR          Domain = "hr"
	DomainFinance     Domain = "finance"
	DomainHealth      Domain = "health"
)

// Domains lists the domains in a stable order.
func Domains() []Domain {
	return []Domain{DomainCivilStatus, DomainTax, DomainHR, DomainFinance, DomainHealth}
}

// Manifest lists, for one domain, every row written, by source key, so a
// test can check that each valid row reached the domain topic exactly once
// and each defective one reached the dead-letter topic.
type Manifest struct {
	// Valid and Defective are in write order.
	Valid     []ManifestEntry
	Defective []ManifestEntry
}

// ManifestEntry is one row of a source. Key is the row's source key: the
// id column (as decimal text) for tax and hr, payment_id for finance,
// event_id for civil status, the Coverage id for health.
type ManifestEntry struct {
	Key string
	// NIR is the citizen's NIR as written, malformed for NIR defects.
	NIR string
	// Defect is the zero Defect for a valid row.
	Defect Defect
}

// Total is the number of rows written.
func (m Manifest) Total() int { return len(m.Valid) + len(m.Defective) }

// DefectShare is the share of rows written that are defective.
func (m Manifest) DefectShare() float64 {
	if m.Total() == 0 {
		return 0
	}
	return float64(len(m.Defective)) / float64(m.Total())
}

func (m *Manifest) add(key, nir string, d Defect) {
	e := ManifestEntry{Key: key, NIR: nir, Defect: d}
	if d.Kind == "" {
		m.Valid = append(m.Valid, e)
	} else {
		m.Defective = append(m.Defective, e)
	}
}

// buildManifests indexes the rows of every domain, once keys are final.
func (p *Population) buildManifests() {
	p.Manifest = make(map[Domain]Manifest, 5)
	// Sized for the valid rows; the defective ones are few.
	sized := func(n int) Manifest { return Manifest{Valid: make([]ManifestEntry, 0, n)} }
	m := sized(len(p.Tax))
	for _, r := range p.Tax {
		m.add(itoa64(r.ID), r.NIR, r.Defect)
	}
	p.Manifest[DomainTax], m = m, sized(len(p.HR))
	for _, r := range p.HR {
		m.add(itoa64(r.ID), r.NIR, r.Defect)
	}
	p.Manifest[DomainHR], m = m, sized(len(p.Payments))
	for _, r := range p.Payments {
		m.add(r.PaymentID, r.NIR, r.Defect)
	}
	p.Manifest[DomainFinance], m = m, sized(len(p.Events))
	for _, r := range p.Events {
		m.add(r.ID, r.Person.NIR, r.Defect)
	}
	p.Manifest[DomainCivilStatus], m = m, sized(len(p.Coverages))
	for _, r := range p.Coverages {
		m.add(r.ID, r.NIR, r.Defect)
	}
	p.Manifest[DomainHealth] = m
}

// Source is one domain's source system as synthesised: every row by source
// key, and how to write them. Exactly one of Table and WriteFiles is set.
type Source struct {
	Manifest Manifest
	// Table is a SQL table, written by WriteTable.
	Table *Table
	// WriteFiles drops the rows as files under dir/<domain>/inbox.
	WriteFiles func(dir string) error
}
