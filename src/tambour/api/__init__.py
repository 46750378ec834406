"""The HTTP API v1 (FastAPI): `tambour serve` runs `app.create_app` on uvicorn."""
