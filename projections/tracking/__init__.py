"""The tracking projection: experiments, runs and their data."""
