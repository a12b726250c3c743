"""``images.*`` checks: container images pinned by immutable digest."""
