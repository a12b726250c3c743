"""Daily per-account spend features for fraud models."""
