"""Tests of the blob stores (local directory, S3 on a moto server, memory)."""
