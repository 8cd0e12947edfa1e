package connect

import (
	"database/sql"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
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
	// secretKeyword is a keyword pgx reads a secret from, in keyword/value
	// form: password, or sslpassword (the client key's passphrase). libpq's
	// grammar ends a value at any of " \t\n\r\v\f" or a closing quote and
	// starts the next keyword at once (host='db'password=p), so a keyword
	// is only required not to continue a word; a value that merely holds
	// "password=" is refused too, which costs nothing.
	secretKeyword = regexp.MustCompile(`(?i)(^|[^a-z0-9_])(ssl)?password[ \t\n\r\v\f]*=`)
)

// dsnHasPassword reports a password in a DSN however pgx would read it,
// and however net/url would: a keyword (password=, sslpassword=), a URI's
// user info or its query. The checks do not first decide the DSN's form:
// a keyword/value DSN may hold "://" (application_name=x://y), which once
// sent it to net/url, blind to its keywords.
func dsnHasPassword(dsn string) bool {
	return secretKeyword.MatchString(dsn) || uriHasPassword(dsn) || netURLHasPassword(dsn)
}

// uriHasPassword reads a URI with libpq's grammar, which pgx follows and
// net/url does not: the user info runs to the first '@' before any '/'
// (so postgres://u:p?@h holds the password "p?"), and a query key is
// percent-decoded and stripped of spaces (?%20password=, ? password=).
func uriHasPassword(dsn string) bool {
	_, p, ok := strings.Cut(dsn, "://")
	if !ok {
		return false
	}
	if i := strings.IndexAny(p, "@/"); i >= 0 && p[i] == '@' && strings.Contains(p[:i], ":") {
		return true
	}
	_, query, ok := strings.Cut(p, "?")
	if !ok {
		return false
	}
	for pair := range strings.SplitSeq(query, "&") {
		key, _, _ := strings.Cut(pair, "=")
		switch strings.ToLower(strings.TrimSpace(percentDecode(key))) {
		case "password", "sslpassword":
			return true
		}
	}
	return false
}

// netURLHasPassword is the same question asked of net/url, for drivers
// other than pgx.
func netURLHasPassword(dsn string) bool {
	u, err := url.Parse(dsn)
	if err != nil {
		return false
	}
	_, inUser := u.User.Password()
	q := u.Query()
	return inUser || q.Has("password") || q.Has("sslpassword")
}

// percentDecode decodes each %XX and keeps anything else as it is.
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
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
