package tax

import "github.com/passerelle-bus/passerelle/internal/domain"

// breakdowns are the categories statistics may group households by.
func breakdowns() []domain.Breakdown {
	return []domain.Breakdown{
		domain.Of("department", "Département of taxation, from the commune code.", domain.Departments(),
			func(r any) (string, bool) { return domain.Department(household(r).CommuneCode) }),
		domain.Of("role", "The citizen's place in the household.", []string{"UNKNOWN", "DECLARANT", "CO_DECLARANT", "DEPENDANT"},
			func(r any) (string, bool) { return household(r).Role, true }),
		domain.Deciles("income_decile", "Decile of the household's reference income among all households held.",
			func(r any) (int64, bool) { return household(r).ReferenceIncomeCents, true }),
	}
}
