"""pytest plugin (registered through the `pytest11` entry point): the mock as fixtures and
the conformance suite as test items. Filled in by the plugin issue."""
