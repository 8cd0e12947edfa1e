package main

import (
	"fmt"
	"net"
	"os"
	"slices"
	"time"

	"github.com/passerelle-bus/passerelle/internal/datadir"
	"github.com/passerelle-bus/passerelle/internal/gateway"
	"github.com/passerelle-bus/passerelle/internal/pki"
)

// demoCAName names the data directory's CA, for people reading a
// certificate.
const demoCAName = "Passerelle demo CA"

// demoTLS is the demo gateway's HTTPS: the certificate ensureDemoCertificates
// keeps, and client certificates of the data directory's CA verified when
// a member presents one (optional: the demo's members call without).
func demoTLS(d datadir.Dir) *gateway.TLSConfig {
	return &gateway.TLSConfig{CertFile: d.TLSCert("gateway"), KeyFile: d.TLSKey("gateway"),
		ClientCAFile: d.CACert(), ClientAuth: gateway.ClientAuthOptional}
}

// ensureDemoCertificates makes, or reuses, the data directory's CA (the
// one the embedded broker's TLS uses too) and a gateway certificate for
// the address it listens on.
func ensureDemoCertificates(d datadir.Dir, listen string, now time.Time) error {
	ca, err := pki.EnsureCA(d.CACert(), d.CAKey(), demoCAName, now)
	if err != nil {
		return fmt.Errorf("demo CA: %w", err)
	}
	if _, err := ca.EnsureServer(d.TLSCert("gateway"), d.TLSKey("gateway"), serverHosts(listen), now); err != nil {
		return fmt.Errorf("gateway certificate: %w", err)
	}
	return nil
}

// serverHosts are the names a client may reach a server listening on
// listen by: the loopback ones always (the demo's printout uses
// 127.0.0.1), the host listened on, and this machine's name when it
// listens on every interface.
func serverHosts(listen string) []string {
	hosts := []string{"127.0.0.1", "::1", "localhost"}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return hosts
	}
	switch ip := net.ParseIP(host); {
	case host == "" || ip != nil && ip.IsUnspecified():
		if name, err := os.Hostname(); err == nil && name != "" {
			hosts = append(hosts, name)
		}
	case !slices.ContainsFunc(hosts, func(h string) bool { return h == host || ip != nil && ip.Equal(net.ParseIP(h)) }):
		hosts = append(hosts, host)
	}
	return hosts
}
