"""Servers that prove the conformance suite: `broken` (one realistic fault each, every one
caught by its own check), `conforming` (each makes another choice the documentation allows,
and the suite must pass it) and `hostile` (each tries to hurt whoever runs the suite or the
proxy against it, and must not). Test material: not shipped in the wheel."""
