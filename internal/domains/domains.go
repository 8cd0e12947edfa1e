// Package domains is the registry of the domains this version of Passerelle
// carries. Each is described by its own folder below this one; everything
// else — bus topics, the schema catalog, connectors, the view, the policy's
// fields, the synthetic population, the demo — ranges over All instead of
// keeping a list. Adding a domain is a folder and one line in list
// (CONTRIBUTING.md).
package domains

import (
	"fmt"
	"slices"
	"sync"

	"github.com/passerelle-bus/passerelle/internal/bus"
	"github.com/passerelle-bus/passerelle/internal/domain"
	"github.com/passerelle-bus/passerelle/internal/domains/civilstatus"
	"github.com/passerelle-bus/passerelle/internal/domains/finance"
	"github.com/passerelle-bus/passerelle/internal/domains/health"
	"github.com/passerelle-bus/passerelle/internal/domains/hr"
	"github.com/passerelle-bus/passerelle/internal/domains/pensions"
	"github.com/passerelle-bus/passerelle/internal/domains/tax"
	"github.com/passerelle-bus/passerelle/schemas"
)

// list is the one place that names the domains. The order numbers the
// fields of the citizen view: append, never insert.
func list() []*domain.Domain {
	return []*domain.Domain{
		civilstatus.Domain(),
		tax.Domain(),
		hr.Domain(),
		finance.Domain(),
		health.Domain(),
		pensions.Domain(),
	}
}

type registry struct {
	all    []*domain.Domain
	byName map[string]*domain.Domain
}

// load validates the list once: a domain folder that forgets a fact, or
// two domains claiming one name, stop the program at its first use rather
// than misbehaving later.
var load = sync.OnceValue(func() registry {
	r := registry{all: list(), byName: map[string]*domain.Domain{}}
	for _, d := range r.all {
		if err := d.Validate(); err != nil {
			panic(err)
		}
		d.Prepare()
		if _, dup := r.byName[d.Name]; dup {
			panic(fmt.Sprintf("domains: %q registered twice", d.Name))
		}
		r.byName[d.Name] = d
	}
	return r
})

// All returns every domain, in registry order. The descriptions are
// shared: read them, never change them.
func All() []*domain.Domain { return slices.Clone(load().all) }

// ByName returns the domain called name.
func ByName(name string) (*domain.Domain, bool) {
	d, ok := load().byName[name]
	return d, ok
}

// Names lists the domains' names, in registry order.
func Names() []string {
	var out []string
	for _, d := range load().all {
		out = append(out, d.Name)
	}
	return out
}

// catalog is loaded once: it is immutable, and loading parses every schema.
var catalog = sync.OnceValues(func() (*schemas.Catalog, error) {
	var srcs []schemas.Source
	for _, d := range load().all {
		srcs = append(srcs, schemas.Source{Name: d.Name, FS: d.Schemas})
	}
	return schemas.Load(srcs...)
})

// Catalog is the schema registry of every domain, as built into the
// binary.
func Catalog() (*schemas.Catalog, error) { return catalog() }

// Topics is every topic of the contract: each domain's topic, dead
// letters and data keys, then the consent and audit topics.
func Topics(partitions int) []bus.TopicSpec {
	var specs []bus.TopicSpec
	for _, d := range load().all {
		specs = append(specs, bus.DomainTopics(d.Topic(), d.DeadLetters(), bus.KeyTopic(d.Name), partitions)...)
	}
	return append(specs, bus.FixedTopics(partitions)...)
}

// Publisher is a member that publishes domains, with the domains it
// publishes.
type Publisher struct {
	domain.Member
	Domains []string
}

// Publishers lists the members that publish the domains, in registry
// order.
func Publishers() []Publisher {
	var out []Publisher
	at := map[string]int{}
	for _, d := range load().all {
		i, ok := at[d.Publisher.ID]
		if !ok {
			i = len(out)
			at[d.Publisher.ID] = i
			out = append(out, Publisher{Member: d.Publisher})
		}
		out[i].Domains = append(out[i].Domains, d.Name)
	}
	return out
}
