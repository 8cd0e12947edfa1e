package schemas

import (
	"math/big"
	"time"
)

// Go mirrors of the .avsc files, field by field. Enums are strings holding
// the symbol; optional fields are pointers; money is integer euro cents.

// Op values of Meta.Op.
const (
	OpUpsert  = "UPSERT"
	OpDelete  = "DELETE"
	OpUnknown = "UNKNOWN"
)

// Meta is the envelope every record carries.
type Meta struct {
	RecordID  string    `avro:"record_id"`
	Subject   string    `avro:"subject"`
	Source    string    `avro:"source"`
	EventTime time.Time `avro:"event_time"`
	Op        string    `avro:"op"`
}

// Person is passerelle.civilstatus.Person.
type Person struct {
	Meta          Meta       `avro:"meta"`
	FamilyName    string     `avro:"family_name"`
	UsageName     *string    `avro:"usage_name"`
	GivenNames    []string   `avro:"given_names"`
	Sex           string     `avro:"sex"`
	BirthDate     time.Time  `avro:"birth_date"`
	BirthCommune  *string    `avro:"birth_commune"`
	BirthCountry  string     `avro:"birth_country"`
	Nationality   string     `avro:"nationality"`
	MaritalStatus string     `avro:"marital_status"`
	DeathDate     *time.Time `avro:"death_date"`
	Address       *Address   `avro:"address"`
}

// Address is passerelle.civilstatus.Address.
type Address struct {
	CommuneCode string `avro:"commune_code"`
	Postcode    string `avro:"postcode"`
}

// Household is passerelle.tax.Household (latest version).
type Household struct {
	Meta                 Meta     `avro:"meta"`
	TaxYear              int32    `avro:"tax_year"`
	HouseholdID          string   `avro:"household_id"`
	Role                 string   `avro:"role"`
	Shares               *big.Rat `avro:"shares"`
	ReferenceIncomeCents int64    `avro:"reference_income_cents"`
	TaxableIncomeCents   int64    `avro:"taxable_income_cents"`
	TaxDueCents          int64    `avro:"tax_due_cents"`
	Dependants           int32    `avro:"dependants"`
	CommuneCode          string   `avro:"commune_code"`
	WithholdingRateBP    *int32   `avro:"withholding_rate_bp"`
}

// Employment is passerelle.hr.Employment.
type Employment struct {
	Meta                 Meta       `avro:"meta"`
	EmployerSIRET        string     `avro:"employer_siret"`
	EmployerName         string     `avro:"employer_name"`
	Corps                string     `avro:"corps"`
	Grade                string     `avro:"grade"`
	Category             string     `avro:"category"`
	Status               string     `avro:"status"`
	StartDate            time.Time  `avro:"start_date"`
	EndDate              *time.Time `avro:"end_date"`
	WorkingTimePercent   int32      `avro:"working_time_percent"`
	GrossMonthlyPayCents int64      `avro:"gross_monthly_pay_cents"`
}

// Payment is passerelle.finance.Payment.
type Payment struct {
	Meta        Meta      `avro:"meta"`
	PaymentID   string    `avro:"payment_id"`
	Benefit     string    `avro:"benefit"`
	PeriodStart time.Time `avro:"period_start"`
	PeriodEnd   time.Time `avro:"period_end"`
	AmountCents int64     `avro:"amount_cents"`
	Payer       string    `avro:"payer"`
	PaymentDate time.Time `avro:"payment_date"`
	Status      string    `avro:"status"`
}

// Coverage is passerelle.health.Coverage.
type Coverage struct {
	Meta              Meta       `avro:"meta"`
	Scheme            string     `avro:"scheme"`
	CoverageType      string     `avro:"coverage_type"`
	StartDate         time.Time  `avro:"start_date"`
	EndDate           *time.Time `avro:"end_date"`
	LongTermCondition bool       `avro:"long_term_condition"`
	DeclaredGP        bool       `avro:"declared_gp"`
}
