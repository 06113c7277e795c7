"""The check families. Each module exposes `CHECKS`: small named functions `check(ctx)`."""
