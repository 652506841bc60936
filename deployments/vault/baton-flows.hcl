# Least privilege for Baton's flows and gateway (policy name: baton-flows).
# Written for KV v2 mounted at "secret/" and Baton's prefix "baton/"; `python -m deployments.vault.setup`
# rewrites both when BATON_VAULT_KV_MOUNT / BATON_VAULT_PREFIX differ.
#
# Custody needs: write new versions with check-and-set and read any version (data/), read and label
# versions through custom_metadata (metadata/), soft-delete an unproven pending version (delete/).
# Not granted: destroy, metadata delete (would drop every version), anything outside the prefix.

path "secret/data/baton/*" {
  capabilities = ["create", "read", "update"]
}

path "secret/metadata/baton/*" {
  capabilities = ["create", "read", "update", "list"]
}

path "secret/delete/baton/*" {
  capabilities = ["update"]
}

# Let a token see its own properties (hvac's lookup_self at start-up).
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
