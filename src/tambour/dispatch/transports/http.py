"""A generic HTTP aggregator transport: one JSON POST a message (the standard library's
http.client, in worker threads, at most `window` at a time).

Request:  POST <url>, Content-Type: application/json, Authorization: Bearer <token> (when set),
          Idempotency-Key: <reference>, body
          {"reference": ..., "from": ..., "to": "+33...", "text": ...,
           "valid_until": "<ISO 8601, when given>", "callback_url": "<when configured>"}
Response: 2xx with {"ids": ["...", ...]} (one id a part) or {"id": "..."}.

What an answer means, as data (HTTP_RETRY, HTTP_IN_DOUBT):
- 2xx: accepted.
- 408, 425, 429, 503: not taken, retry later.
- 500, 502, 504: the aggregator (or what stands behind its proxy) may have taken it: in doubt.
- any other status: refused for good, the status kept.
- no connection (refused, unknown host, connect timeout, a TLS handshake that failed): nothing
  reached it, retry later; an error once the request was written (reset, read timeout): in
  doubt.
HTTPS: the aggregator's certificate and name are always verified, against `ca_file` when it is
set (instead of the system's trust store). `start()` tries a TLS handshake once: a certificate
that does not verify stops the worker there, in words (TlsError), rather than holding every
message back; an aggregator that cannot be reached then is no reason not to start.
The Idempotency-Key lets an aggregator that honours it drop a message submitted twice.

Delivery callbacks do not come to the worker: the aggregator posts them to `tambour serve`
(api/routes/callbacks.py, at `callback_url`), which records them in the database; the worker
sees them there (receipts for parts it has not written yet wait in early_receipts).
"""

import asyncio
import http.client
import json
import logging
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from tambour.dispatch.tls import (
    TlsError,
    TlsSettings,
    TlsSetupError,
    client_context,
    handshake_failure,
)
from tambour.dispatch.transports.base import PartResult, SubmitResult, SubmitStatus, TransportError
from tambour.traffic import OutboundMessage

log = logging.getLogger(__name__)

HTTP_RETRY: Final = frozenset({408, 425, 429, 503})
HTTP_IN_DOUBT: Final = frozenset({500, 502, 504})


@dataclass(frozen=True, slots=True)
class HttpSettings:
    url: str
    token: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    window: int = 16
    callback_url: str | None = None  # what the aggregator is told to call back: the server's
    # The token the aggregator's callbacks carry (Authorization: Bearer), checked by the API
    # server (`tambour serve` reads it from the same configuration); not used by the worker.
    callback_token: str | None = field(default=None, repr=False)
    ca_file: str | None = None  # https: the CAs to trust (PEM); None: the system's trust store


class _NotConnectedError(Exception):
    """The request never reached the aggregator."""


def _result(status: SubmitStatus, code: int | None, detail: str) -> SubmitResult:
    error = TransportError("http", code, detail)
    return SubmitResult(status, (PartResult(status, None, error),), 1, error)


def answer_result(code: int, body: bytes) -> SubmitResult:
    """The result of an HTTP answer (status `code`, `body`)."""
    if 200 <= code < 300:
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {}
        ids: list[str] = []
        if isinstance(payload, dict):
            raw = payload.get("ids", [payload["id"]] if "id" in payload else [])
            ids = [str(i) for i in raw] if isinstance(raw, list) else []
        parts = tuple(PartResult(SubmitStatus.ACCEPTED, i) for i in ids) or (
            PartResult(SubmitStatus.ACCEPTED, None),
        )
        return SubmitResult(SubmitStatus.ACCEPTED, parts, len(parts))
    if code in HTTP_RETRY:
        return _result(SubmitStatus.RETRY, code, f"HTTP {code}: not taken, retry later")
    if code in HTTP_IN_DOUBT:
        return _result(SubmitStatus.IN_DOUBT, code, f"HTTP {code}: may have been taken")
    return _result(SubmitStatus.FAILED, code, f"HTTP {code}: refused")


class HttpTransport:
    kind = "http"

    def __init__(self, settings: HttpSettings) -> None:
        parts = urlsplit(settings.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the aggregator URL must be http(s)://host/..., not {settings.url!r}")
        self.settings = settings
        self._https = parts.scheme == "https"
        self._ssl: ssl.SSLContext | None = None  # made by start(), or by the first https request
        self._window = asyncio.Semaphore(settings.window)
        self._threads = ThreadPoolExecutor(settings.window, thread_name_prefix="http-transport")

    async def start(self) -> None:
        """Raises TlsError (an OSError) when the aggregator's certificate does not verify, or
        `ca_file` cannot be used."""
        if self._https:
            await asyncio.to_thread(self._check_certificate)

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            try:
                self._ssl = client_context(TlsSettings(ca_file=self.settings.ca_file))
            except TlsSetupError as error:
                raise TlsError(f"TLS: {error}") from None
        return self._ssl

    def _check_certificate(self) -> None:
        """One TLS handshake with the aggregator (a thread's work): TlsError when its
        certificate does not verify; nothing when it cannot be reached (not a reason to stop)."""
        url = urlsplit(self.settings.url)
        host = url.hostname or ""
        context = self._tls()
        try:
            with (
                socket.create_connection((host, url.port or 443), self.settings.timeout) as raw,
                context.wrap_socket(raw, server_hostname=host),
            ):
                pass
        except ssl.SSLError as error:
            raise handshake_failure(error, host, "the aggregator") from None
        except OSError as error:
            log.warning("the aggregator cannot be reached yet (%s)", type(error).__name__)

    async def close(self) -> None:
        await asyncio.to_thread(self._threads.shutdown)

    async def submit(self, message: OutboundMessage) -> SubmitResult:
        body = {
            "reference": message.reference,
            "from": message.sender,
            "to": message.recipient,
            "text": message.text,
        }
        if message.valid_until is not None:
            body["valid_until"] = message.valid_until.isoformat()
        if self.settings.callback_url:
            body["callback_url"] = self.settings.callback_url
        async with self._window:
            if message.may_leave is not None and not message.may_leave():
                return _result(SubmitStatus.RETRY, None, "no longer allowed to leave")
            try:
                code, answer = await asyncio.get_running_loop().run_in_executor(
                    self._threads, self._post, message.reference, body
                )
            except _NotConnectedError as error:
                return _result(SubmitStatus.RETRY, None, f"no connection: {error}")
            except (OSError, http.client.HTTPException) as error:
                detail = f"{type(error).__name__} after the request was written"
                return _result(SubmitStatus.IN_DOUBT, None, detail)
        result = answer_result(code, answer)
        if result.status != SubmitStatus.ACCEPTED:
            log.info("message %s: %s (HTTP %d)", message.reference, result.status, code)
        return result

    def _post(self, reference: str, body: dict[str, str]) -> tuple[int, bytes]:
        settings = self.settings
        url = urlsplit(settings.url)
        host = url.hostname or ""
        connection: http.client.HTTPConnection
        if self._https:
            try:
                context = self._tls()
            except TlsError as error:  # ca_file unreadable: nothing can go
                raise _NotConnectedError(str(error)) from None
            connection = http.client.HTTPSConnection(
                host, url.port, timeout=settings.timeout, context=context
            )
        else:
            connection = http.client.HTTPConnection(host, url.port, timeout=settings.timeout)
        try:
            try:
                connection.connect()
            except ssl.SSLError as error:
                failure = handshake_failure(error, host, "the aggregator")
                raise _NotConnectedError(str(failure)) from None
            except OSError as error:
                raise _NotConnectedError(type(error).__name__) from None
            headers = {"Content-Type": "application/json", "Idempotency-Key": reference}
            if settings.token:
                headers["Authorization"] = f"Bearer {settings.token}"
            path = url.path or "/"
            if url.query:
                path += "?" + url.query
            connection.request("POST", path, json.dumps(body).encode(), headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()
