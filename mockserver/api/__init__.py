"""The mocked APIs: routing an operation, auth, bodies, validation, each API's handlers and the store."""
