"""The calabi command line."""
