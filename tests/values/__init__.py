"""Tests of bayou.values."""
