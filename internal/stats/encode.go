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
	field := func(k string, v any) {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('{')
	field("decision_id", a.DecisionID)
	field("rule", a.Rule)
	field("legal_basis", a.LegalBasis)
	field("purpose", a.Purpose)
	field("snapshot_at", a.SnapshotAt.UTC().Format(time.RFC3339))
	field("group_by", nonNil(a.GroupBy))
	field("measures", nonNil(a.Columns))
	b.WriteString(`,"cells":[`)
	for i, c := range a.Cells {
		if i > 0 {
			b.WriteByte(',')
		}
		var cb bytes.Buffer
		cb.WriteString(`{"group":{`)
		for gi, g := range a.GroupBy {
			if gi > 0 {
				cb.WriteByte(',')
			}
			kb, _ := json.Marshal(g)
			vb, _ := json.Marshal(c.Group[gi])
			cb.Write(kb)
			cb.WriteByte(':')
			cb.Write(vb)
		}
		cb.WriteString(`},"count":`)
		cb.WriteString(number(c.Count))
		for mi, name := range a.Columns {
			if name == policy.OpCount {
				continue
			}
			kb, _ := json.Marshal(name)
			cb.WriteByte(',')
			cb.Write(kb)
			cb.WriteByte(':')
			cb.WriteString(number(c.Values[mi]))
		}
		cb.WriteString(`,"suppressed":`)
		if c.Suppressed == "" {
			cb.WriteString("null")
		} else {
			sb, _ := json.Marshal(c.Suppressed)
			cb.Write(sb)
		}
		cb.WriteByte('}')
		b.Write(cb.Bytes())
	}
	b.WriteByte(']')
	field("disclosure", a.Disclosure)
	if a.Budget != nil {
		field("budget", a.Budget)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

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
		if v == nil {
			return suppressedMark
		}
		return number(v)
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
// suppressed value shown as "x", then what protected it.
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
