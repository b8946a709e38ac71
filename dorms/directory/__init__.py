"""The campus directory: syncing students and counselors over LDAP, and signing in with campus credentials."""
