package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/passerelle-bus/passerelle/internal/stats"
)

// runStats asks the gateway for a statistic, as a decision-maker, and
// prints its cells: an aligned table with suppressed figures marked, CSV,
// or the answer's JSON.
func runStats(ctx context.Context, e *env, args []string) error {
	fs, g := gatewayFlags(e, "stats", "stats [--gateway URL] [--data DIR] [--member ID] (--query FILE | --purpose P --group-by D,D --measure OP[:FIELD[:Q]]... [--filter FIELD=V,V]... [--epsilon E]) [--csv | --json]")
	g.member = "drees"
	fs.Lookup("member").DefValue = "drees"
	file := fs.String("query", "", "a JSON file holding the query (POST /v1/aggregates); - for standard input")
	purpose := fs.String("purpose", "", "the purpose of the statistic, e.g. housing-policy-evaluation")
	groupBy := fs.String("group-by", "", "breakdowns to group by, comma-separated, e.g. civilstatus.sex,civilstatus.age_band")
	var measures, filters stringList
	fs.Var(&measures, "measure", "a measure, repeatable: count, sum:FIELD, mean:FIELD or quantile:FIELD:Q (default count)")
	fs.Var(&filters, "filter", "keep citizens whose breakdown is one of these, repeatable: FIELD=V,V")
	epsilon := fs.Float64("epsilon", 0, "answer with discrete Laplace noise of this ε, spent from the privacy budget (0: exact, with suppression)")
	asCSV := fs.Bool("csv", false, "print CSV (the gateway's text/csv answer)")
	asJSON := fs.Bool("json", false, "print the gateway's JSON answer")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	q, err := statsQuery(*file, *purpose, *groupBy, measures, filters, *epsilon)
	if err != nil {
		fmt.Fprintln(fs.Output(), err)
		fs.Usage()
		return errUsage
	}
	accept := "application/json"
	if *asCSV {
		accept = "text/csv"
	}
	b, err := json.Marshal(q)
	if err != nil {
		return err
	}
	body, err := g.do(ctx, http.MethodPost, "/v1/aggregates", b, accept)
	if err != nil {
		return err
	}
	if *asCSV || *asJSON {
		_, err := e.stdout.Write(body)
		return err
	}
	var a stats.Answer
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	return a.WriteTable(e.stdout)
}

// statsQuery reads the query from a file, or builds it from the flags.
func statsQuery(file, purpose, groupBy string, measures, filters []string, epsilon float64) (stats.Query, error) {
	var q stats.Query
	if file != "" {
		var r io.Reader = os.Stdin
		if file != "-" {
			f, err := os.Open(file)
			if err != nil {
				return q, err
			}
			defer f.Close()
			r = f
		}
		dec := json.NewDecoder(r)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&q); err != nil {
			return q, fmt.Errorf("query %s: %w", file, err)
		}
		return q, nil
	}
	if purpose == "" {
		return q, fmt.Errorf("--purpose or --query is required")
	}
	q.Purpose = purpose
	if groupBy != "" {
		q.GroupBy = strings.Split(groupBy, ",")
	}
	if len(measures) == 0 {
		measures = []string{"count"}
	}
	for _, m := range measures {
		parts := strings.Split(m, ":")
		mq := stats.MeasureQuery{Op: parts[0]}
		if len(parts) > 1 {
			mq.Field = parts[1]
		}
		if len(parts) > 2 {
			v, err := strconv.ParseFloat(parts[2], 64)
			if err != nil {
				return q, fmt.Errorf("--measure %s: q: %w", m, err)
			}
			mq.Q = v
		}
		if len(parts) > 3 {
			return q, fmt.Errorf("--measure %s: want OP[:FIELD[:Q]]", m)
		}
		q.Measures = append(q.Measures, mq)
	}
	for _, f := range filters {
		field, values, ok := strings.Cut(f, "=")
		if !ok || values == "" {
			return q, fmt.Errorf("--filter %s: want FIELD=V,V", f)
		}
		q.Filters = append(q.Filters, stats.Filter{Field: field, In: strings.Split(values, ",")})
	}
	if epsilon != 0 {
		q.Noise = &stats.NoiseQuery{Mechanism: stats.MechanismLaplace, Epsilon: epsilon}
	}
	return q, nil
}
