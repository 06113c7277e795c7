"""Proxy mode (--upstream): forward to the real service, check the traffic, record it, report violations."""
