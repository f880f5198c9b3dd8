"""The tenant event log: event types, their encoding, and the append path."""
