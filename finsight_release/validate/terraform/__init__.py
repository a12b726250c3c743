"""``terraform.*`` checks: plan policy and drift on each stack's ``terraform show -json`` plan."""
