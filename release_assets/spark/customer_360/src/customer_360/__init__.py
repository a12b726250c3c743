"""Per-customer account rollup."""
