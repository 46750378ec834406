"""QR codes drawn on the server, as inline SVG (segno): no script, no image file, nothing asked
of another site. The TOTP enrolment shows one for the authenticator app to scan."""

from typing import Final

import segno
from markupsafe import Markup, escape

ERROR: Final = "m"  # error correction: a phone camera reads a code shown on a screen
SCALE: Final = 4  # pixels a module
BORDER: Final = 4  # the quiet zone the standard asks, in modules


def svg(data: str, label: str) -> Markup:
    """`data` as a QR code: an inline SVG image named `label` (role="img", aria-label and a
    title), black on white whatever the page's colours."""
    code = segno.make(data, error=ERROR, micro=False)
    drawn = code.svg_inline(
        scale=SCALE, border=BORDER, dark="#000", light="#fff", title=label, svgclass="qr"
    )
    named = f'<svg role="img" aria-label="{escape(label)}" '
    return Markup(drawn.replace("<svg ", named, 1))  # segno escapes the title it writes
