package audit

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// A voidOf is a void event waiting to be written: the event it voids
// (with who and whom it was about, so that the void shows in the same
// queries) and why.
type voidOf struct {
	ref, code, requester, citizen, purpose string
}

func voidFor(ev Event, code string) voidOf {
	return voidOf{ref: ev.ID, code: code, requester: ev.Requester, citizen: ev.Citizen, purpose: ev.Purpose}
}

func (v voidOf) event(now time.Time) *Event {
	return &Event{ID: NewID(now), Time: now, Kind: KindVoid, Ref: v.ref, Code: v.code, Decision: "deny",
		Requester: v.requester, Citizen: v.citizen, Purpose: v.purpose}
}

// maxVoidsPerGroup bounds the voids one group carries, so that a backlog
// after an outage does not make the first group after it too large.
const maxVoidsPerGroup = MaxGroup

func (l *Log) addVoids(vs []voidOf) {
	l.voidMu.Lock()
	defer l.voidMu.Unlock()
	l.voids = append(l.voids, vs...)
	if l.doubt != nil {
		l.doubt.add(vs, l.o.Log)
	}
}

func (l *Log) hasVoids() bool {
	l.voidMu.Lock()
	defer l.voidMu.Unlock()
	return len(l.voids) > 0
}

// takeVoids removes the voids the next group carries; putBackVoids
// returns them if the group failed.
func (l *Log) takeVoids() []voidOf {
	l.voidMu.Lock()
	defer l.voidMu.Unlock()
	n := min(len(l.voids), maxVoidsPerGroup)
	vs := l.voids[:n:n]
	l.voids = l.voids[n:]
	return vs
}

func (l *Log) putBackVoids(vs []voidOf) {
	if len(vs) == 0 {
		return
	}
	l.voidMu.Lock()
	defer l.voidMu.Unlock()
	l.voids = append(vs, l.voids...)
}

// doubtFile keeps the voids not yet written, one line each, synced before
// the request they concern is answered.
type doubtFile struct {
	path string
	f    *os.File
}

func openDoubt(path string) (*doubtFile, []voidOf, error) {
	var vs []voidOf
	if b, err := os.ReadFile(path); err == nil {
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			f := strings.Split(sc.Text(), "\t")
			if len(f) != 5 {
				continue // a line cut short by a crash: its request was never answered
			}
			vs = append(vs, voidOf{ref: f[0], code: f[1], requester: f[2], citizen: f[3], purpose: f[4]})
		}
	} else if !os.IsNotExist(err) {
		return nil, nil, fmt.Errorf("audit doubt file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("audit doubt file: %w", err)
	}
	return &doubtFile{path: path, f: f}, vs, nil
}

func (d *doubtFile) add(vs []voidOf, log *slog.Logger) {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\n", v.ref, v.code, v.requester, v.citizen, v.purpose)
	}
	_, err := d.f.WriteString(b.String())
	if err == nil {
		err = d.f.Sync()
	}
	if err != nil {
		log.Error("audit doubt file not written: a restart would forget these voids", "component", "audit", "err", err)
	}
}

// rewrite leaves in the file only the voids still to write.
func (d *doubtFile) rewrite(rest []voidOf, log *slog.Logger) {
	if err := d.f.Truncate(0); err != nil {
		log.Error("audit doubt file not truncated", "component", "audit", "err", err)
		return
	}
	if len(rest) > 0 {
		d.add(rest, log)
	}
}

func (d *doubtFile) close() { d.f.Close() }
