package gateway

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/passerelle-bus/passerelle/internal/trust"
)

// memberView is a member as /v1/members lists it.
type memberView struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Roles   []string `json:"roles"`
	Status  string   `json:"status"`
	JWKSURI string   `json:"jwks_uri"`
	// Certificates are published as the keys are: a member's peers and
	// auditors can see which certificates speak for it.
	Certificates []trust.Certificate `json:"certificates,omitempty"`
}

func membersHandler(store *trust.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		reg := store.Current()
		out := struct {
			Serial  int64        `json:"serial"`
			Members []memberView `json:"members"`
		}{Serial: reg.Serial, Members: []memberView{}}
		for _, m := range reg.Members() {
			out.Members = append(out.Members, memberView{m.ID, m.Name, m.Roles, m.Status, "/v1/members/" + m.ID + "/jwks.json", m.Certificates()})
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func jwksHandler(store *trust.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m, err := store.Current().Member(r.PathValue("id"))
		if errors.Is(err, trust.ErrUnknownMember) {
			writeProblem(w, http.StatusNotFound, "member-unknown", "No such member", "")
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_ = json.NewEncoder(w).Encode(m.JWKS())
	}
}
