"""Servers that prove the conformance suite: `broken` (one realistic fault each, every one
caught by its own check) and `conforming` (each makes another choice the documentation
allows, and the suite must pass it). Test material: not shipped in the wheel."""
