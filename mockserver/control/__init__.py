"""The control plane at /__mock__/: its routes, the request journal, chaos and fault rules, the dashboard."""
