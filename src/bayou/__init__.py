"""Bayou: a self-hosted reactive backend in Python that speaks Convex's protocols."""

__version__ = "0.1.0"
