"""Per-customer rollup of accounts: balances by product, open accounts, tenure."""

__version__ = "2.0.0"
