package gateway

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"net/http"

	"github.com/passerelle-bus/passerelle/internal/domains"
)

//go:embed openapi.json
var openAPITemplate []byte

// domainsPlaceholder stands in openapi.json where the domains' names go:
// they are the registry's, written nowhere else.
const domainsPlaceholder = `["<the domain registry's names>"]`

// OpenAPI is the API's OpenAPI 3.1 description, served at /openapi.json and
// checked in tests against real responses.
var OpenAPI = withDomains(openAPITemplate)

func withDomains(doc []byte) []byte {
	names, _ := json.Marshal(domains.Names())
	return bytes.Replace(doc, []byte(domainsPlaceholder), names, 1)
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(OpenAPI)
}
