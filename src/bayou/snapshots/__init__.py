"""Snapshot export and import in Convex's ZIP layout, and Bayou's backups built on them."""
