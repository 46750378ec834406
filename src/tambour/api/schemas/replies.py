"""The replies inbox, as the API shows it: replies with their instants in Paris time (with
their offset), and what marking one did."""

from pydantic import BaseModel, Field

from tambour.api.schemas.common import Instant
from tambour.rules.codes import OptOutSource
from tambour.services.replies import ReplyStatus
from tambour.services.reply_inbox import KeptReply, Marked


class Reply(BaseModel):
    id: int
    number: str = Field(description="Who wrote, in E.164 (or the address the carrier gave).")
    to: str = Field(description="The short number written to.")
    text: str
    meaning: str = Field(description="What the core read in it: stop, start, other.")
    status: ReplyStatus
    received_at: Instant
    handled_at: Instant | None
    handled_by: str | None

    @classmethod
    def of(cls, reply: KeptReply) -> "Reply":
        return cls.model_validate(reply.as_dict())


class ReplyList(BaseModel):
    items: list[Reply] = Field(description="The newest replies, `limit` at most.")
    next: str | None = Field(
        description="The next page's URL (also in the Link header); null on the last page."
    )


class ReplyMarked(BaseModel):
    id: int
    status: ReplyStatus
    changed: bool = Field(description="false: the reply was marked so already.")
    source: OptOutSource | None = Field(default=None, description="An opt-out recorded: how.")
    phone_hash: str | None = Field(
        default=None, description="An opt-out recorded: the start of the number's hash."
    )
    known_contact: bool | None = None

    @classmethod
    def of(cls, marked: Marked) -> "ReplyMarked":
        return cls.model_validate(marked.as_dict())
