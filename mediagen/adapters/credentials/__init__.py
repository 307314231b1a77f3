"""Credential sources: where API keys come from (the environment by default), wrapped in `Secret` at once."""
