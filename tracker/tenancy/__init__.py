"""Tenants: the catalog, one database per tenant, and routing to it."""
