package civilstatus

import (
	"time"

	"github.com/passerelle-bus/passerelle/internal/domain"
)

// ageBands are the lower bounds of the published age bands: the usual
// ten-year bands, with the ages of majority and of retirement apart.
var ageBands = []int{0, 18, 25, 35, 45, 55, 65, 75}

// breakdowns are the categories statistics may group people by.
func breakdowns() []domain.Breakdown {
	return []domain.Breakdown{
		domain.Of("sex", "Sex as registered.", []string{"UNKNOWN", "F", "M"},
			func(r any) (string, bool) { return person(r).Sex, true }),
		domain.AgeBands("age_band", "Age in completed years on the day of the statistic, in bands.", ageBands,
			func(r any) (time.Time, bool) { return person(r).BirthDate, !person(r).BirthDate.IsZero() }),
		domain.Of("marital_status", "Marital status.", []string{"UNKNOWN", "SINGLE", "MARRIED", "CIVIL_PARTNERSHIP", "DIVORCED", "WIDOWED"},
			func(r any) (string, bool) { return person(r).MaritalStatus, true }),
		domain.Of("department", "Département of the registered address, from its commune code.", domain.Departments(),
			func(r any) (string, bool) {
				if a := person(r).Address; a != nil {
					return domain.Department(a.CommuneCode)
				}
				return "", false
			}),
	}
}
