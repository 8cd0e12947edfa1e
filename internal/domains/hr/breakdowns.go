package hr

import "github.com/passerelle-bus/passerelle/internal/domain"

// breakdowns are the categories statistics may group public servants by.
func breakdowns() []domain.Breakdown {
	return []domain.Breakdown{
		domain.Of("category", "Catégorie A, B or C.", []string{"UNKNOWN", "A", "B", "C"},
			func(r any) (string, bool) { return employment(r).Category, true }),
		domain.Of("status", "TENURED, TRAINEE or CONTRACT.", []string{"UNKNOWN", "TENURED", "TRAINEE", "CONTRACT"},
			func(r any) (string, bool) { return employment(r).Status, true }),
	}
}
