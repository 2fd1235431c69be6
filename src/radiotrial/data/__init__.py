"""Versioned reference data files (YAML/JSON/CSV), each value with its source."""
