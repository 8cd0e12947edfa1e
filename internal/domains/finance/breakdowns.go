package finance

import "github.com/passerelle-bus/passerelle/internal/domain"

// breakdowns are the categories statistics may group payments by.
func breakdowns() []domain.Breakdown {
	return []domain.Breakdown{
		domain.Of("benefit", "The benefit of the citizen's latest payment.",
			[]string{"OTHER", "HOUSING_AID", "MINIMUM_INCOME", "DISABILITY_ALLOWANCE", "PENSION", "FAMILY_ALLOWANCE"},
			func(r any) (string, bool) { return payment(r).Benefit, true }),
		domain.Of("status", "The status of the citizen's latest payment.", []string{"UNKNOWN", "PAID", "PENDING", "CANCELLED", "RECOVERED"},
			func(r any) (string, bool) { return payment(r).Status, true }),
	}
}
