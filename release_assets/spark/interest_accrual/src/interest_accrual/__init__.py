"""Daily interest accrual per account."""
