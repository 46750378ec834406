"""The record of processing's pure parts: what a host's domain says of where it is, how an
Accept header is read, and Markdown that shows a value as written."""

import pytest

from tambour.api.texts import negotiate, preferred
from tambour.services.processing_setup import country_outside_eea, party
from tambour.web.record_documents import Document, Section, Text, as_markdown

FORMATS = {"application/json": "json", "text/markdown": "markdown", "text/html": "html"}


@pytest.mark.parametrize(
    ("host", "country"),
    [
        ("smpp.orange.fr", None),
        ("api.example.eu", None),
        ("sms.example.re", None),  # La Réunion is in the EU
        ("api.sms.example.co.uk", "uk"),
        ("gateway.example.us", "us"),
        ("api.example.com", None),  # a generic domain says nothing
        ("10.0.0.7", None),
        ("smsc.example.nc.", "nc"),  # New Caledonia is not in the EU
    ],
)
def test_a_hosts_country_outside_the_eea(host: str, country: str | None) -> None:
    assert country_outside_eea(host) == country


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, None),
        ("*/*", None),
        ("text/markdown", "markdown"),
        ("text/html;q=0.5, text/markdown;q=0.9", "markdown"),
        ("text/html, text/markdown", "html"),
        ("text/markdown;q=0, application/json", "json"),
        ("TEXT/HTML; charset=utf-8", "html"),
        ("text/markdown;q=abc", None),
    ],
)
def test_the_format_an_accept_header_prefers(accept: str | None, chosen: str | None) -> None:
    assert preferred(accept, FORMATS.get) == chosen


def test_the_language_is_negotiated_as_before() -> None:
    assert negotiate("en-GB;q=0.8, fr;q=0.9") == "fr"
    assert negotiate("de, en;q=0.5") == "en"
    assert negotiate("en;q=0") == "fr"
    assert negotiate(None) == "fr"


def test_markdown_shows_values_as_written() -> None:
    said = "1. *gras* _x_ <b>x</b> | [lien](http://x) `code` # titre"
    document = Document("fr", "# Titre", (said,), (Section("s", "- Section", (Text(said),)),))
    lines = as_markdown(document).splitlines()
    assert lines[0] == "# \\# Titre"
    assert lines[2] == (
        "1\\. \\*gras\\* \\_x\\_ \\<b\\>x\\</b\\> \\| \\[lien\\](http://x) \\`code\\` # titre"
    )
    assert lines[4] == "## 1. \\- Section"


def test_a_party_says_what_is_missing() -> None:
    assert party("X", None, "x@x.fr", None, "dpo@x.fr").missing == ("address",)
    assert party(None, None, None, None, None).missing == ("name", "address", "email", "dpo")
