"""Prefect flows: thin wrappers that run the steps of newswatch's core as tasks."""
