# Vault policy of the connectors of domain civilstatus, run by member insee.
# Generated from the domain registry by internal/memberkeys (go test
# ./internal/memberkeys -run TestPoliciesAreGenerated -update): do not edit.
# Transit mounted at transit/, keys named passerelle-sign-<member> and passerelle-pseudo-<key>.

# Sign as insee; read the key's versions and public keys, which the
# signer needs to name its key (kid).
path "transit/sign/passerelle-sign-insee" {
  capabilities = ["update"]
}
path "transit/keys/passerelle-sign-insee" {
  capabilities = ["read"]
}

# HMAC-SHA256: civilstatus's pseudonyms, the routing partition, the link ids and civilstatus's link seal key.
path "transit/hmac/passerelle-pseudo-domain-civilstatus/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-routing/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link-seal-civilstatus/sha2-256" {
  capabilities = ["update"]
}

# civilstatus's KEK: wrap a new epoch key, unwrap the current one (internal/datakeys).
path "transit/encrypt/passerelle-kek-civilstatus" {
  capabilities = ["update"]
}
path "transit/decrypt/passerelle-kek-civilstatus" {
  capabilities = ["update"]
}
