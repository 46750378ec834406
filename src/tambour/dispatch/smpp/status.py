"""SMPP v3.4 command_status codes (section 5.1.3) and what Tambour does with each: the retry
rules are data keyed by status, not branches scattered through the code.

- THROTTLING: the carrier says "slower". The session pauses, then submits the same part again
  (a throttled submit was refused, so sending it again cannot duplicate it).
- TRANSIENT: refused for now; the message may be submitted again later, whole.
- Any other non-zero status is permanent: the message fails, the status is kept as its reason.
"""

from enum import IntEnum
from typing import Final


class Status(IntEnum):
    """The command_status values Tambour reads or writes; others are kept as plain ints."""

    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RINVPRTFLG = 0x06
    ESME_RINVREGDLVFLG = 0x07
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RINVMSGID = 0x0C
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RMSGQFUL = 0x14
    ESME_RINVSERTYP = 0x15
    ESME_RINVESMCLASS = 0x43
    ESME_RSUBMITFAIL = 0x45
    ESME_RINVSRCTON = 0x48
    ESME_RINVSRCNPI = 0x49
    ESME_RINVDSTTON = 0x50
    ESME_RINVDSTNPI = 0x51
    ESME_RINVSYSTYP = 0x53
    ESME_RTHROTTLED = 0x58
    ESME_RINVSCHED = 0x61
    ESME_RINVEXPIRY = 0x62
    ESME_RX_T_APPN = 0x64
    ESME_RX_P_APPN = 0x65
    ESME_RX_R_APPN = 0x66
    ESME_RINVOPTPARSTREAM = 0xC0
    ESME_ROPTPARNOTALLWD = 0xC1
    ESME_RINVPARLEN = 0xC2
    ESME_RMISSINGOPTPARAM = 0xC3
    ESME_RINVOPTPARAMVAL = 0xC4
    ESME_RDELIVERYFAILURE = 0xFE
    ESME_RUNKNOWNERR = 0xFF


THROTTLING: Final = frozenset({Status.ESME_RTHROTTLED, Status.ESME_RMSGQFUL})
TRANSIENT: Final = THROTTLING | {
    Status.ESME_RSYSERR,  # the SMSC's own trouble
    Status.ESME_RINVBNDSTS,  # the session was not bound as the SMSC saw it: a new bind fixes it
    Status.ESME_RX_T_APPN,  # "temporary application error"
}


def is_throttling(status: int) -> bool:
    return status in THROTTLING


def is_transient(status: int) -> bool:
    """True when a refusal may succeed later; False for success and for permanent refusals."""
    return status in TRANSIENT


def status_name(status: int) -> str:
    """`ESME_RTHROTTLED (0x58)`, or `0x00000401` for a status outside SMPP v3.4's list
    (carriers define their own from 0x400)."""
    try:
        return f"{Status(status).name} (0x{status:02X})"
    except ValueError:
        return f"0x{status:08X}"
