"""``spark.*`` checks: each Spark job built, installed, imported and smoke-run on the Spark runtime."""
