"""``config.*`` checks: each environment config against its schema, and its secret references."""
