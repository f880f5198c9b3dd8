"""Administration of a tenant: rebuilds and restores to a point in time."""
