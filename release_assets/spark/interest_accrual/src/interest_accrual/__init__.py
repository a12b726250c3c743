"""Month-to-date interest accrual per account from daily balances."""

__version__ = "1.5.2"
