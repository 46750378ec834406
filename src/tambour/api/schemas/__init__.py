"""What the API reads and writes (pydantic), kept apart from the services' dataclasses: a
service may change its types without changing the API's contract."""
