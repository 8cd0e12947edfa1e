# Vault policy of the connectors of domain hr, run by member dgafp.
# Generated from the domain registry by internal/memberkeys (go test
# ./internal/memberkeys -run TestPoliciesAreGenerated -update): do not edit.
# Transit mounted at transit/, keys named passerelle-sign-<member> and passerelle-pseudo-<key>.

# Sign as dgafp; read the key's versions and public keys, which the
# signer needs to name its key (kid).
path "transit/sign/passerelle-sign-dgafp" {
  capabilities = ["update"]
}
path "transit/keys/passerelle-sign-dgafp" {
  capabilities = ["read"]
}

# HMAC-SHA256: hr's pseudonyms, the routing partition, the link ids and hr's link seal key.
path "transit/hmac/passerelle-pseudo-domain-hr/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-routing/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link-seal-hr/sha2-256" {
  capabilities = ["update"]
}

# hr's KEK: wrap a new epoch key, unwrap the current one (internal/datakeys).
path "transit/encrypt/passerelle-kek-hr" {
  capabilities = ["update"]
}
path "transit/decrypt/passerelle-kek-hr" {
  capabilities = ["update"]
}
