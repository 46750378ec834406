"""The API's routes: each module one resource, calling the use cases of services/."""
