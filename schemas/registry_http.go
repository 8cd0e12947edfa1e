package schemas

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/hamba/avro/v2"

	"github.com/passerelle-bus/passerelle/internal/httpmux"
)

// The read-only subset of the Confluent Schema Registry REST API, answering
// as Confluent does (same paths, bodies, error codes and media type), so a
// stock Confluent deserializer, kcat -r or a schema-registry client reads our
// topics. Writes are refused: the registry changes only with the code.

const registryMediaType = "application/vnd.schemaregistry.v1+json"

// Confluent's error codes.
const (
	codeSubjectNotFound = 40401
	codeVersionNotFound = 40402
	codeSchemaNotFound  = 40403
	codeInvalidVersion  = 42202
	codeInvalidSchema   = 42201
)

type subjectVersion struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
	ID      int    `json:"id"`
	Schema  string `json:"schema"`
}

// Handler serves the registry API at the root of its path: mount it with
// http.StripPrefix. A path it does not serve, or a method its path does
// not take (a write), is answered as Confluent's server answers it:
// error_code 404 or 405 and Jersey's message, which clients probing for
// an endpoint rely on.
func (c *Catalog) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /subjects", func(w http.ResponseWriter, _ *http.Request) {
		names := make([]string, len(c.subjects))
		for i, s := range c.subjects {
			names[i] = s.Name
		}
		writeRegistry(w, http.StatusOK, names)
	})
	mux.HandleFunc("GET /subjects/{subject}/versions", func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.subjectOr404(w, r)
		if !ok {
			return
		}
		vs := make([]int, len(s.Versions))
		for i, v := range s.Versions {
			vs[i] = v.Version
		}
		writeRegistry(w, http.StatusOK, vs)
	})
	mux.HandleFunc("GET /subjects/{subject}/versions/{version}", func(w http.ResponseWriter, r *http.Request) {
		if v, ok := c.versionOr404(w, r); ok {
			writeRegistry(w, http.StatusOK, subjectVersion{v.Subject, v.Version, v.ID, v.Text})
		}
	})
	mux.HandleFunc("GET /subjects/{subject}/versions/{version}/schema", func(w http.ResponseWriter, r *http.Request) {
		if v, ok := c.versionOr404(w, r); ok {
			writeRaw(w, v.Text)
		}
	})
	mux.HandleFunc("GET /schemas/ids/{id}", func(w http.ResponseWriter, r *http.Request) {
		if v, ok := c.idOr404(w, r); ok {
			writeRegistry(w, http.StatusOK, map[string]string{"schema": v.Text})
		}
	})
	mux.HandleFunc("GET /schemas/ids/{id}/schema", func(w http.ResponseWriter, r *http.Request) {
		if v, ok := c.idOr404(w, r); ok {
			writeRaw(w, v.Text)
		}
	})
	mux.HandleFunc("GET /schemas/types", func(w http.ResponseWriter, _ *http.Request) {
		writeRegistry(w, http.StatusOK, []string{"AVRO"})
	})
	mux.HandleFunc("GET /config", func(w http.ResponseWriter, _ *http.Request) {
		writeRegistry(w, http.StatusOK, map[string]string{"compatibilityLevel": string(FullTransitive)})
	})
	mux.HandleFunc("GET /config/{subject}", func(w http.ResponseWriter, r *http.Request) {
		if s, ok := c.subjectOr404(w, r); ok {
			writeRegistry(w, http.StatusOK, map[string]string{"compatibilityLevel": string(s.Compatibility)})
		}
	})
	// Looking up whether a schema is registered is a read: serializers
	// configured not to auto-register call it to learn the id to write.
	mux.HandleFunc("POST /subjects/{subject}", func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.subjectOr404(w, r)
		if !ok {
			return
		}
		var body struct {
			Schema string `json:"schema"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
			registryError(w, http.StatusUnprocessableEntity, codeInvalidSchema, "Invalid schema: "+err.Error())
			return
		}
		asked, err := avro.ParseWithCache(body.Schema, "", &avro.SchemaCache{})
		if err != nil {
			registryError(w, http.StatusUnprocessableEntity, codeInvalidSchema, "Invalid schema: "+err.Error())
			return
		}
		for _, v := range s.Versions {
			if v.Schema.Fingerprint() == asked.Fingerprint() {
				writeRegistry(w, http.StatusOK, subjectVersion{v.Subject, v.Version, v.ID, v.Text})
				return
			}
		}
		registryError(w, http.StatusNotFound, codeSchemaNotFound, "Schema not found")
	})
	return httpmux.Fallback(mux, func(w http.ResponseWriter, status int) {
		registryError(w, status, status, fmt.Sprintf("HTTP %d %s", status, http.StatusText(status)))
	})
}

func (c *Catalog) subjectOr404(w http.ResponseWriter, r *http.Request) (*Subject, bool) {
	name := r.PathValue("subject")
	s, ok := c.bySubj[name]
	if !ok {
		registryError(w, http.StatusNotFound, codeSubjectNotFound, fmt.Sprintf("Subject '%s' not found.", name))
	}
	return s, ok
}

func (c *Catalog) versionOr404(w http.ResponseWriter, r *http.Request) (*Version, bool) {
	s, ok := c.subjectOr404(w, r)
	if !ok {
		return nil, false
	}
	raw := r.PathValue("version")
	if raw == "latest" || raw == "-1" {
		return s.Latest(), true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		registryError(w, http.StatusUnprocessableEntity, codeInvalidVersion,
			fmt.Sprintf(`The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`, raw))
		return nil, false
	}
	if n > len(s.Versions) {
		registryError(w, http.StatusNotFound, codeVersionNotFound, fmt.Sprintf("Version %d not found.", n))
		return nil, false
	}
	return s.Versions[n-1], true
}

func (c *Catalog) idOr404(w http.ResponseWriter, r *http.Request) (*Version, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	v, ok := c.byID[id]
	if err != nil || !ok {
		registryError(w, http.StatusNotFound, codeSchemaNotFound, fmt.Sprintf("Schema %s not found", r.PathValue("id")))
		return nil, false
	}
	return v, true
}

func writeRegistry(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", registryMediaType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeRaw(w http.ResponseWriter, schema string) {
	w.Header().Set("Content-Type", registryMediaType)
	_, _ = io.WriteString(w, schema)
}

func registryError(w http.ResponseWriter, status, code int, msg string) {
	writeRegistry(w, status, map[string]any{"error_code": code, "message": msg})
}
