"""Bayou test suite."""
