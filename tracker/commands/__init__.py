"""Commands: check a request against the write-side state, then append."""
