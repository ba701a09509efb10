"""newswatch: the plain-Python core of the monitoring pipeline (no Prefect in here)."""
