"""The all-in-one local runner (``vigia dev`` / ``make run``) and the embedded servers it uses."""
