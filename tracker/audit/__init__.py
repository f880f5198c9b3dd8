"""The audit tools: verify the log, stream its history, replay entity states."""
