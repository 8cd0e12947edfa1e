# Vault policy of the connectors of domain tax, run by member dgfip.
# Generated from the domain registry by internal/memberkeys (go test
# ./internal/memberkeys -run TestPoliciesAreGenerated -update): do not edit.
# Transit mounted at transit/, keys named passerelle-sign-<member> and passerelle-pseudo-<key>.

# Sign as dgfip; read the key's versions and public keys, which the
# signer needs to name its key (kid).
path "transit/sign/passerelle-sign-dgfip" {
  capabilities = ["update"]
}
path "transit/keys/passerelle-sign-dgfip" {
  capabilities = ["read"]
}

# HMAC-SHA256: tax's pseudonyms, the routing partition, the link ids and tax's link seal key.
path "transit/hmac/passerelle-pseudo-domain-tax/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-routing/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link-seal-tax/sha2-256" {
  capabilities = ["update"]
}

# tax's KEK: wrap a new epoch key, unwrap the current one (internal/datakeys).
path "transit/encrypt/passerelle-kek-tax" {
  capabilities = ["update"]
}
path "transit/decrypt/passerelle-kek-tax" {
  capabilities = ["update"]
}
