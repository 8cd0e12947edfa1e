package connect

import (
	"database/sql"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/passerelle-bus/passerelle/internal/config"
)

// A DSN never carries the database password, however the DSN is written:
// the password goes in source.password, a config.Secret, so that one rule
// (a secret is ${VAR} or file:PATH) holds for every secret of the file.
// A DSN from ${VAR} is refused with a password too: the check sees the DSN,
// not how it was written, and a rule with an exception is one people get
// wrong.
var (
	// keywordPassword is libpq's keyword/value form: host=h password=p.
	keywordPassword = regexp.MustCompile(`(?i)(^|\s)password\s*=`)
	// userinfoPassword is user:password@ in a URL url.Parse refused.
	userinfoPassword = regexp.MustCompile(`://[^/@?#]*:[^/@?#]*@`)
)

// dsnHasPassword reports a password in a URL's user info or query
// (?password=), or in keyword/value form.
func dsnHasPassword(dsn string) bool {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return userinfoPassword.MatchString(dsn)
		}
		_, inUser := u.User.Password()
		return inUser || u.Query().Has("password")
	}
	return keywordPassword.MatchString(dsn)
}

// validateSQL names the first invalid field of a SQL source.
func (s SourceConfig) validateSQL() error {
	switch {
	case dsnHasPassword(s.DSN):
		return fmt.Errorf("source.dsn: holds a password, a secret in clear: leave it out and set source.password to ${VAR} or file:PATH")
	case !s.Password.IsZero() && s.Driver != "pgx":
		return fmt.Errorf("source.password: driver %q takes none; only pgx does", s.Driver)
	}
	return nil
}

// SQLSource is a SQL source for code that holds a DSN with its password,
// as tests hold PASSERELLE_PG_URL: a URL's password moves to Password.
func SQLSource(driver, dsn string) SourceConfig {
	s := SourceConfig{Driver: driver, DSN: dsn}
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return s
	}
	if pw, ok := u.User.Password(); ok {
		u.User = url.User(u.User.Username())
		s.DSN, s.Password = u.String(), config.SecretValue(pw)
	}
	return s
}

// openDB opens a SQL source, giving pgx the password apart from the DSN.
func openDB(s SourceConfig) (*sql.DB, error) {
	if s.Password.IsZero() {
		return sql.Open(s.Driver, s.DSN)
	}
	pc, err := pgx.ParseConfig(s.DSN)
	if err != nil {
		return nil, err
	}
	pc.Password = s.Password.Value()
	return stdlib.OpenDB(*pc), nil
}
