"""The conformance suite: fuzz any deployment of the two APIs and report what broke."""
