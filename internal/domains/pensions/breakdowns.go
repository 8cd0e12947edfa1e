package pensions

import "github.com/passerelle-bus/passerelle/internal/domain"

// breakdowns are the categories statistics may group pensions by.
func breakdowns() []domain.Breakdown {
	return []domain.Breakdown{
		domain.Of("scheme", "The scheme the pension is paid under.", []string{"OTHER", "GENERAL", "SELF_EMPLOYED"},
			func(r any) (string, bool) { return entitlement(r).Scheme, true }),
		domain.Of("rate", "FULL (taux plein) or REDUCED (décote).", []string{"UNKNOWN", "FULL", "REDUCED"},
			func(r any) (string, bool) { return entitlement(r).Rate, true }),
		domain.Of("status", "PAID, SUSPENDED or ENDED.", []string{"UNKNOWN", "PAID", "SUSPENDED", "ENDED"},
			func(r any) (string, bool) { return entitlement(r).Status, true }),
	}
}
