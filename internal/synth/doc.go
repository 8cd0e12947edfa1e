// Package synth generates a consistent synthetic population and writes it
// into the source systems the connectors read.
//
// Generate builds citizens in tax households (couples, single parents,
// people living alone, the widowed and the dead) and derives every
// domain's rows from them, so that the domains agree: a public servant's
// pay is in their household's income, a pension goes to someone of 62 or
// more, a person's last civil-status event is their current state. The
// same seed gives the same population, and the same bytes once written.
//
// Each domain also gets a share of defective rows (Options.DefectRate),
// each with one defect of a recorded kind, for people who are no citizen,
// so a defective row never shadows a valid one. Population.Manifest lists
// every row by its source key, for end-to-end tests: each valid row must
// reach the domain topic exactly once, each defective one the dead-letter
// topic.
//
// The writers fill the sources in the members' own formats:
//
//	domain       source                               source key
//	tax          SQL table household_assessment       id, 1..n
//	hr           SQL table employment                 id, 1..n
//	finance      finance/inbox/payments-NNNN.csv      payment_id
//	civilstatus  civilstatus/inbox/events-NNNN.jsonl  event_id
//	health       health/inbox/bundle-NNNN.json        Coverage id
//
// Sources are written fresh: a table that already has rows, or an inbox
// file of the same name, is an ErrNotEmpty, since the manifest's keys would
// no longer be the rows' keys. Files appear in their inbox whole, by rename.
package synth

import (
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx" for database/sql
	_ "modernc.org/sqlite"             // pure-Go SQLite driver "sqlite"
)
