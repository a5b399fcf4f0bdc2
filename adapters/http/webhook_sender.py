"""The webhook sender on httpx: one signed POST of the envelope per send, nothing followed."""

from __future__ import annotations

import httpx
import msgspec

from adapters.http.errors import detail, is_transient
from adapters.http.resilience import parse_retry_after
from adapters.http.webhook_target import TargetRefused, check_target
from adapters.webhook_signature import EVENT_ID_HEADER, HEADER, signature
from ports.clock import Clock
from ports.outbox import EventEnvelope, MessageCodec
from ports.remote import RemoteRejected, RemoteUnavailable
from ports.webhooks import SubscriptionGone, WebhookSubscription

#: How outages of subscribers are named (GET /v1/ops/remotes counts the deliveries waiting).
REMOTE = "webhook"
USER_AGENT = "orderhub-webhooks"


class HttpWebhookSender:
    """POSTs the §2.4 envelope as JSON (the feed's item, byte for byte the same fields) with
    `Orderhub-Event-Id` and `Orderhub-Signature`. Redirects are not followed (a redirect could
    lead past the SSRF guard): a 3xx is a refusal. The target is checked before every send."""

    def __init__(
        self,
        codec: MessageCodec,
        clock: Clock,
        *,
        allow_private: bool,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._codec = codec
        self._clock = clock
        self._allow_private = allow_private
        self._timeout = timeout
        self._transport = transport

    async def send(self, subscription: WebhookSubscription, envelope: EventEnvelope) -> None:
        try:
            await check_target(subscription.url, allow_private=self._allow_private)
        except TargetRefused as e:
            raise RemoteRejected(f"webhook target refused: {e}", remote=REMOTE) from None
        body = msgspec.json.encode(self._codec.encode(envelope))
        timestamp = int(self._clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_ID_HEADER: str(envelope.event_id),
            HEADER: signature(subscription.secret, timestamp, body),
        }
        async with httpx.AsyncClient(
            timeout=self._timeout, follow_redirects=False, transport=self._transport
        ) as client:
            try:
                response = await client.post(subscription.url, content=body, headers=headers)
            except httpx.HTTPError as e:
                raise RemoteUnavailable(
                    f"webhook {subscription.id}: {type(e).__name__} {e}".rstrip(), remote=REMOTE
                ) from None
        _check(response, subscription)


def _check(response: httpx.Response, subscription: WebhookSubscription) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    message = f"webhook {subscription.id} answered {status}: {detail(response)}"
    if status == 410:
        raise SubscriptionGone(message, remote=REMOTE)
    if is_transient(status):
        error = RemoteUnavailable(message, remote=REMOTE)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        # A subscriber may not park its deliveries for days: an hour at most between tries.
        error.retry_after = None if retry_after is None else min(retry_after, 3600.0)
        raise error
    raise RemoteRejected(message, remote=REMOTE)
