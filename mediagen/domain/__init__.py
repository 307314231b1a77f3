"""Pure values and rules: what a request, a result, a backend and an error are."""
