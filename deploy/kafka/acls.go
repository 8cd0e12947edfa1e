// Package kafka carries the ACL file of this directory into the binary, so
// that the demo's embedded broker enforces the very file an operator
// applies to a real cluster (passerelle kafka apply --acls
// deploy/kafka/acls.yaml): one file, no copy to drift. internal/busacl
// reads it; nothing else should.
package kafka

import _ "embed"

// ACLs is deploy/kafka/acls.yaml as the binary was built with it.
//
//go:embed acls.yaml
var ACLs []byte
