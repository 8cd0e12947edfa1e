package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStatsQueryFromFlags(t *testing.T) {
	for _, tc := range []struct {
		name             string
		purpose, groupBy string
		measures         []string
		filters          []string
		epsilon          float64
		want, err        string
	}{
		{name: "count by default", purpose: "p", want: `{"purpose":"p","group_by":null,"measures":[{"op":"count"}]}`},
		{name: "every kind", purpose: "p", groupBy: "civilstatus.sex,tax.department",
			measures: []string{"count", "sum:tax.tax_due", "quantile:tax.reference_income:0.5"},
			filters:  []string{"finance.benefit=HOUSING_AID,MINIMUM_INCOME"}, epsilon: 0.5,
			want: `{"purpose":"p","group_by":["civilstatus.sex","tax.department"],"measures":[{"op":"count"},{"op":"sum","field":"tax.tax_due"},{"op":"quantile","field":"tax.reference_income","q":0.5}],"filters":[{"field":"finance.benefit","in":["HOUSING_AID","MINIMUM_INCOME"]}],"noise":{"mechanism":"discrete-laplace","epsilon":0.5}}`},
		{name: "no purpose", err: "--purpose or --query is required"},
		{name: "bad q", purpose: "p", measures: []string{"quantile:tax.tax_due:half"}, err: "q:"},
		{name: "bad filter", purpose: "p", filters: []string{"finance.benefit"}, err: "want FIELD=V,V"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := statsQuery("", tc.purpose, tc.groupBy, tc.measures, tc.filters, tc.epsilon)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			b, _ := json.Marshal(q)
			if err != nil || string(b) != tc.want {
				t.Fatalf("%v\n got %s\nwant %s", err, b, tc.want)
			}
		})
	}
	file := filepath.Join(t.TempDir(), "q.json")
	os.WriteFile(file, []byte(`{"purpose":"p","measures":[{"op":"count"}],"colour":1}`), 0o600)
	if _, err := statsQuery(file, "", "", nil, nil, 0); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("a query file with an unknown key: %v", err)
	}
}
