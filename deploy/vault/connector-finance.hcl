# Vault policy of the connectors of domain finance, run by member cnaf.
# Generated from the domain registry by internal/memberkeys (go test
# ./internal/memberkeys -run TestPoliciesAreGenerated -update): do not edit.
# Transit mounted at transit/, keys named passerelle-sign-<member> and passerelle-pseudo-<key>.

# Sign as cnaf; read the key's versions and public keys, which the
# signer needs to name its key (kid).
path "transit/sign/passerelle-sign-cnaf" {
  capabilities = ["update"]
}
path "transit/keys/passerelle-sign-cnaf" {
  capabilities = ["read"]
}

# HMAC-SHA256: finance's pseudonyms, the routing partition, the link ids and finance's link seal key.
path "transit/hmac/passerelle-pseudo-domain-finance/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-routing/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link-seal-finance/sha2-256" {
  capabilities = ["update"]
}

# finance's KEK: wrap a new epoch key, unwrap the current one (internal/datakeys).
path "transit/encrypt/passerelle-kek-finance" {
  capabilities = ["update"]
}
path "transit/decrypt/passerelle-kek-finance" {
  capabilities = ["update"]
}
