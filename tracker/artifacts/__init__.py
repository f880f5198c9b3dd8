"""Artifacts: where they live in the tenant bucket, and who may touch them."""
