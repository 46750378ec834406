"""Use cases: one service layer under every entry point (CLI, API, web, workers)."""
