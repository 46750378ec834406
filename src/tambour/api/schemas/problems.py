"""RFC 9457 problem details, as every error of the API is answered (api/problems.py)."""

from pydantic import BaseModel, Field


class FieldProblem(BaseModel):
    field: str = Field(description="A JSON pointer into the body (/senders/0) or a parameter.")
    code: str
    detail: str


class Problem(BaseModel):
    type: str = Field(description="urn:tambour:problem:<code>")
    title: str
    status: int
    detail: str
    instance: str = Field(description="The path of the request (without its query).")
    code: str = Field(description="Why, as a stable snake_case identifier.")
    errors: list[FieldProblem] | None = None
