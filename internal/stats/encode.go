package stats

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/passerelle-bus/passerelle/policy"
)

// MarshalJSON writes the answer as POST /v1/aggregates documents it: each
// cell an object with its group, its count, one key per measure and why
// it is suppressed, in the order asked.
func (a Answer) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	doc := openObject(&b)
	doc.value("decision_id", a.DecisionID)
	doc.value("rule", a.Rule)
	doc.value("legal_basis", a.LegalBasis)
	doc.value("purpose", a.Purpose)
	doc.value("snapshot_at", a.SnapshotAt.UTC().Format(time.RFC3339))
	doc.value("group_by", nonNil(a.GroupBy))
	doc.value("measures", nonNil(a.Columns))
	doc.key("cells")
	b.WriteByte('[')
	for i, c := range a.Cells {
		if i > 0 {
			b.WriteByte(',')
		}
		cell := openObject(&b)
		cell.key("group")
		group := openObject(&b)
		for gi, g := range a.GroupBy {
			group.value(g, c.Group[gi])
		}
		group.close()
		cell.raw("count", number(c.Count))
		for mi, name := range a.Columns {
			if name != policy.OpCount {
				cell.raw(name, number(c.Values[mi]))
			}
		}
		var why any
		if c.Suppressed != "" {
			why = c.Suppressed
		}
		cell.value("suppressed", why)
		cell.close()
	}
	b.WriteByte(']')
	doc.value("disclosure", a.Disclosure)
	if a.Budget != nil {
		doc.value("budget", a.Budget)
	}
	doc.close()
	return b.Bytes(), nil
}

// object writes a JSON object's members in the order given, which
// encoding/json does not keep for a map.
type object struct {
	b *bytes.Buffer
	n int
}

func openObject(b *bytes.Buffer) *object {
	b.WriteByte('{')
	return &object{b: b}
}

func (o *object) key(k string) {
	if o.n > 0 {
		o.b.WriteByte(',')
	}
	o.n++
	kb, _ := json.Marshal(k)
	o.b.Write(kb)
	o.b.WriteByte(':')
}

func (o *object) raw(k, v string) {
	o.key(k)
	o.b.WriteString(v)
}

func (o *object) value(k string, v any) {
	vb, err := json.Marshal(v)
	if err != nil {
		vb = []byte("null") // the values written here are strings, numbers and plain structs
	}
	o.raw(k, string(vb))
}

func (o *object) close() { o.b.WriteByte('}') }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// number writes a figure: integers without a fraction, others with what
// they need, a suppressed one null.
func number(v *float64) string {
	if v == nil {
		return "null"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// header is the columns of the CSV and text forms.
func (a Answer) header() []string {
	h := append([]string{}, a.GroupBy...)
	h = append(h, "count")
	for _, c := range a.Columns {
		if c != policy.OpCount {
			h = append(h, c)
		}
	}
	return append(h, "suppressed")
}

func (a Answer) row(c Cell, suppressedMark string) []string {
	r := append([]string{}, c.Group...)
	show := func(v *float64) string {
		switch {
		case v != nil:
			return number(v)
		case c.Suppressed == "" && suppressedMark != "":
			return "-" // undefined, a mean of nobody
		}
		return suppressedMark
	}
	r = append(r, show(c.Count))
	for mi, name := range a.Columns {
		if name != policy.OpCount {
			r = append(r, show(c.Values[mi]))
		}
	}
	return append(r, c.Suppressed)
}

// WriteCSV writes the answer's cells as CSV (RFC 4180): a header line, a
// suppressed value empty.
func (a Answer) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(a.header()); err != nil {
		return err
	}
	for _, c := range a.Cells {
		if err := cw.Write(a.row(c, "")); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteTable writes the answer as an aligned table for a terminal, each
// suppressed value shown as "x" (an undefined one, the mean of an empty
// cell, as "-"), then what protected it.
func (a Answer) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(a.header(), "\t")+"\t")
	for _, c := range a.Cells {
		fmt.Fprintln(tw, strings.Join(a.row(c, "x"), "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	d := a.Disclosure
	fmt.Fprintf(w, "\nrule %s (%s), decision %s, snapshot %s\n", a.Rule, a.LegalBasis, a.DecisionID, a.SnapshotAt.Format(time.RFC3339))
	if d.Noise != nil {
		fmt.Fprintf(w, "noise: %s, ε = %v", d.Noise.Mechanism, d.Noise.Epsilon)
		if a.Budget != nil {
			fmt.Fprintf(w, "; budget %s: %v of %v spent, %v left", a.Budget.Period, a.Budget.Spent, a.Budget.Total, a.Budget.Remaining)
		}
		fmt.Fprintln(w)
		return nil
	}
	_, err := fmt.Fprintf(w, "x: suppressed (k = %d; dominance %d at %v; %s secondary suppression); %d released, %d k-threshold, %d dominance, %d secondary\n",
		d.K, d.DominanceN, d.DominanceShare, d.Secondary, d.Counts.Released, d.Counts.KThreshold, d.Counts.Dominance, d.Counts.Secondary)
	return err
}

// UnmarshalJSON reads an answer as MarshalJSON writes it: what a client
// such as passerelle stats decodes.
func (a *Answer) UnmarshalJSON(b []byte) error {
	var doc struct {
		DecisionID string                       `json:"decision_id"`
		Rule       string                       `json:"rule"`
		LegalBasis string                       `json:"legal_basis"`
		Purpose    string                       `json:"purpose"`
		SnapshotAt time.Time                    `json:"snapshot_at"`
		GroupBy    []string                     `json:"group_by"`
		Measures   []string                     `json:"measures"`
		Cells      []map[string]json.RawMessage `json:"cells"`
		Disclosure Disclosure                   `json:"disclosure"`
		Budget     *Budget                      `json:"budget"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	*a = Answer{DecisionID: doc.DecisionID, Rule: doc.Rule, LegalBasis: doc.LegalBasis, Purpose: doc.Purpose, SnapshotAt: doc.SnapshotAt,
		GroupBy: doc.GroupBy, Columns: doc.Measures, Disclosure: doc.Disclosure, Budget: doc.Budget}
	for i, raw := range doc.Cells {
		var c Cell
		var group map[string]string
		if err := json.Unmarshal(raw["group"], &group); err != nil {
			return fmt.Errorf("cells[%d].group: %w", i, err)
		}
		for _, g := range a.GroupBy {
			c.Group = append(c.Group, group[g])
		}
		if err := json.Unmarshal(raw["count"], &c.Count); err != nil {
			return fmt.Errorf("cells[%d].count: %w", i, err)
		}
		for _, m := range a.Columns {
			var v *float64
			if m == policy.OpCount {
				v = c.Count
			} else if err := json.Unmarshal(raw[m], &v); err != nil && raw[m] != nil {
				return fmt.Errorf("cells[%d].%s: %w", i, m, err)
			}
			c.Values = append(c.Values, v)
		}
		if s, ok := raw["suppressed"]; ok {
			var why *string
			if err := json.Unmarshal(s, &why); err != nil {
				return fmt.Errorf("cells[%d].suppressed: %w", i, err)
			}
			if why != nil {
				c.Suppressed = *why
			}
		}
		a.Cells = append(a.Cells, c)
	}
	return nil
}
