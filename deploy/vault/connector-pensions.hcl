# Vault policy of the connectors of domain pensions, run by member cnav.
# Generated from the domain registry by internal/memberkeys (go test
# ./internal/memberkeys -run TestPoliciesAreGenerated -update): do not edit.
# Transit mounted at transit/, keys named passerelle-sign-<member> and passerelle-pseudo-<key>.

# Sign as cnav; read the key's versions and public keys, which the
# signer needs to name its key (kid).
path "transit/sign/passerelle-sign-cnav" {
  capabilities = ["update"]
}
path "transit/keys/passerelle-sign-cnav" {
  capabilities = ["read"]
}

# HMAC-SHA256: pensions's pseudonyms, the routing partition, the link ids and pensions's link seal key.
path "transit/hmac/passerelle-pseudo-domain-pensions/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-routing/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link-seal-pensions/sha2-256" {
  capabilities = ["update"]
}

# pensions's KEK: wrap a new epoch key, unwrap the current one (internal/datakeys).
path "transit/encrypt/passerelle-kek-pensions" {
  capabilities = ["update"]
}
path "transit/decrypt/passerelle-kek-pensions" {
  capabilities = ["update"]
}
