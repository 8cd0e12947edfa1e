package policy

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// TestCase is an example request written beside the rules, with the
// decision it must get; `passerelle policy test` runs them, as `opa test`
// runs a policy's tests.
type TestCase struct {
	Name    string `yaml:"name"`
	Request struct {
		Requester string    `yaml:"requester"`
		Purpose   string    `yaml:"purpose"`
		Fields    []string  `yaml:"fields"`
		Time      time.Time `yaml:"time"`
	} `yaml:"request"`
	Consent *struct {
		Status  string    `yaml:"status"`
		Fields  []string  `yaml:"fields"`
		Start   time.Time `yaml:"start"`
		Expiry  time.Time `yaml:"expiry"`
		MaxUses int       `yaml:"max_uses"`
		Uses    int       `yaml:"uses"`
	} `yaml:"consent"`
	RecentAccesses int `yaml:"recent_accesses"`
	Expect         struct {
		Outcome  string            `yaml:"outcome"`
		Code     string            `yaml:"code"`
		Rule     string            `yaml:"rule"`
		Granted  []string          `yaml:"granted"`
		Withheld map[string]string `yaml:"withheld"`
	} `yaml:"expect"`
	// File is where the case is written.
	File string `yaml:"-"`
}

// TestResult is one case's outcome; Err is nil when it passed.
type TestResult struct {
	File, Name string
	Err        error
}

// LoadTests reads every <dir>/rules/*.test.yaml case.
func LoadTests(fsys fs.FS, dir string) ([]TestCase, error) {
	names, err := fs.Glob(fsys, path.Join(dir, RulesDir, "*.test.yaml"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []TestCase
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var cases []TestCase
		if err := strict(b, &cases); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidRules, name, err)
		}
		for i := range cases {
			cases[i].File = name
		}
		out = append(out, cases...)
	}
	return out, nil
}

// RunTests runs every <dir>/rules/*.test.yaml case against rs.
func RunTests(fsys fs.FS, dir string, rs *RuleSet) ([]TestResult, error) {
	cases, err := LoadTests(fsys, dir)
	if err != nil {
		return nil, err
	}
	out := make([]TestResult, len(cases))
	for i := range cases {
		out[i] = TestResult{File: cases[i].File, Name: cases[i].Name, Err: cases[i].run(rs)}
	}
	return out, nil
}

// BuildRequest builds the case's request, its consent included.
func (tc *TestCase) BuildRequest() (Request, error) {
	fields, err := ParseFields(tc.Request.Fields)
	if err != nil {
		return Request{}, err
	}
	req := Request{Requester: tc.Request.Requester, Purpose: tc.Request.Purpose, Fields: fields,
		Time: tc.Request.Time, RecentAccesses: tc.RecentAccesses}
	if c := tc.Consent; c != nil {
		req.Consent = &Consent{Requester: req.Requester, Purpose: req.Purpose, Fields: c.Fields,
			Start: c.Start, Expiry: c.Expiry, MaxUses: c.MaxUses, Status: c.Status}
		if err := req.Consent.Prepare(); err != nil {
			return Request{}, err
		}
		req.ConsentUses = c.Uses
	}
	return req, nil
}

func (tc *TestCase) run(rs *RuleSet) error {
	req, err := tc.BuildRequest()
	if err != nil {
		return err
	}
	var d Decision
	rs.Decide(&req, &d)
	var problems []string
	if got := d.Outcome.String(); got != tc.Expect.Outcome {
		problems = append(problems, fmt.Sprintf("outcome %s, want %s", got, tc.Expect.Outcome))
	}
	if d.Code != tc.Expect.Code {
		problems = append(problems, fmt.Sprintf("code %q, want %q", d.Code, tc.Expect.Code))
	}
	if tc.Expect.Rule != "" && (d.Rule == nil || d.Rule.ID != tc.Expect.Rule) {
		problems = append(problems, fmt.Sprintf("rule %v, want %s", d.Rule, tc.Expect.Rule))
	}
	if tc.Expect.Granted != nil {
		want, err := ParseFields(tc.Expect.Granted)
		if err != nil {
			return err
		}
		if want != d.Granted {
			problems = append(problems, fmt.Sprintf("granted %v, want %v", d.Granted.Names(), want.Names()))
		}
	}
	for name, code := range tc.Expect.Withheld {
		f, err := ParseFields([]string{name})
		if err != nil {
			return err
		}
		if got := d.Withheld(f.Fields()[0]); got != code {
			problems = append(problems, fmt.Sprintf("%s withheld as %q, want %q", name, got, code))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}
