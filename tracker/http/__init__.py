"""HTTP plumbing: application, routing, request parsing, errors, logging."""
