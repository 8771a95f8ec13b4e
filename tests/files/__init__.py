"""Tests of uploads, serving, the storage fingerprint and the blob collector."""
