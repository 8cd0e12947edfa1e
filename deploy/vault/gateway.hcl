# Vault policy of the gateway passerelle-gateway.
# Generated from the domain registry by internal/memberkeys (go test
# ./internal/memberkeys -run TestPoliciesAreGenerated -update): do not edit.
# Transit mounted at transit/, keys named passerelle-sign-<member> and passerelle-pseudo-<key>.

# Sign as passerelle-gateway; read the key's versions and public keys, which the
# signer needs to name its key (kid).
path "transit/sign/passerelle-sign-passerelle-gateway" {
  capabilities = ["update"]
}
path "transit/keys/passerelle-sign-passerelle-gateway" {
  capabilities = ["read"]
}

# HMAC-SHA256: every domain's pseudonyms and link seal key (derived once at start), and the audit pseudonyms.
path "transit/hmac/passerelle-pseudo-audit/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-domain-civilstatus/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link-seal-civilstatus/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-domain-tax/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link-seal-tax/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-domain-hr/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link-seal-hr/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-domain-finance/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link-seal-finance/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-domain-health/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link-seal-health/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-domain-pensions/sha2-256" {
  capabilities = ["update"]
}
path "transit/hmac/passerelle-pseudo-link-seal-pensions/sha2-256" {
  capabilities = ["update"]
}

# Every domain's KEK: unwrap its epoch keys, to open sealed records (internal/datakeys).
path "transit/decrypt/passerelle-kek-civilstatus" {
  capabilities = ["update"]
}
path "transit/decrypt/passerelle-kek-tax" {
  capabilities = ["update"]
}
path "transit/decrypt/passerelle-kek-hr" {
  capabilities = ["update"]
}
path "transit/decrypt/passerelle-kek-finance" {
  capabilities = ["update"]
}
path "transit/decrypt/passerelle-kek-health" {
  capabilities = ["update"]
}
path "transit/decrypt/passerelle-kek-pensions" {
  capabilities = ["update"]
}
