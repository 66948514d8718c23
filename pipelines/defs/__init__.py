"""Dagster wrappers only: assets, checks, resources, schedules and sensors. Autoloaded by
pipelines/definitions.py; domain logic lives in the plain modules next to this folder."""
