# Vault policy of the connectors of domain health, run by member cnam.
# Generated from the domain registry by internal/memberkeys (go test
# ./internal/memberkeys -run TestPoliciesAreGenerated -update): do not edit.
# Transit mounted at transit/, keys named passerelle-sign-<member> and passerelle-pseudo-<key>.

# Sign as cnam; read the key's versions and public keys, which the
# signer needs to name its key (kid).
path "transit/sign/passerelle-sign-cnam" {
  capabilities = ["update"]
}
path "transit/keys/passerelle-sign-cnam" {
  capabilities = ["read"]
}

# HMAC-SHA256: health's pseudonyms, the routing partition, the link ids and health's link seal key.
path "transit/hmac/passerelle-pseudo-domain-health/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-routing/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link-seal-health/sha2-256" {
  capabilities = ["update"]
}

# health's KEK: wrap a new epoch key, unwrap the current one (internal/datakeys).
path "transit/encrypt/passerelle-kek-health" {
  capabilities = ["update"]
}
path "transit/decrypt/passerelle-kek-health" {
  capabilities = ["update"]
}
