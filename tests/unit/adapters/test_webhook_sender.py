"""The webhook sender's answers sorted into the port's errors, and its SSRF guard at send time,
over httpx's in-process transport (no network)."""

from __future__ import annotations

import httpx
import pytest

from adapters.clock import FixedClock
from adapters.http.webhook_sender import REMOTE, HttpWebhookSender
from adapters.message_codec import MsgspecCodec
from adapters.webhook_signature import verify
from ports.remote import RemoteRejected, RemoteUnavailable
from ports.webhooks import SubscriptionGone
from tests.factories import WebhookSubscriptionFactory
from tests.hub import Hub


async def an_envelope() -> object:
    hub = Hub()
    await hub.stock("SKU-1", "dc-east", 5)
    return hub.store.outbox[-1]


def sender(
    answer: httpx.Response | Exception, *, allow_private: bool = True
) -> tuple[HttpWebhookSender, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    built = HttpWebhookSender(
        MsgspecCodec(), FixedClock(), allow_private=allow_private,
        transport=httpx.MockTransport(handle),
    )  # fmt: skip
    return built, seen


async def test_a_2xx_is_a_signed_post_of_the_envelope() -> None:
    envelope = await an_envelope()
    subscription = WebhookSubscriptionFactory()
    send, seen = sender(httpx.Response(204))

    await send.send(subscription, envelope)  # type: ignore[arg-type]

    [request] = seen
    assert request.method == "POST"
    assert request.headers["Orderhub-Event-Id"] == str(envelope.event_id)  # type: ignore[attr-defined]
    now = int(FixedClock().now().timestamp())
    assert verify(subscription.secret, request.headers["Orderhub-Signature"], request.content, now)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(410), SubscriptionGone),
        (httpx.Response(400), RemoteRejected),
        (httpx.Response(301, headers={"Location": "http://169.254.169.254/"}), RemoteRejected),
        (httpx.Response(429), RemoteUnavailable),
        (httpx.Response(503), RemoteUnavailable),
        (httpx.ConnectError("refused"), RemoteUnavailable),
        (httpx.ReadTimeout("slow"), RemoteUnavailable),
    ],
)
async def test_each_answer_is_the_error_it_means(
    answer: httpx.Response | Exception, error: type[Exception]
) -> None:
    send, seen = sender(answer)
    with pytest.raises(error) as raised:
        await send.send(WebhookSubscriptionFactory(), await an_envelope())  # type: ignore[arg-type]
    assert type(raised.value) is error
    assert raised.value.remote == REMOTE  # type: ignore[attr-defined]
    assert len(seen) == 1  # one request, no redirect followed


async def test_a_subscriber_asking_to_wait_days_is_tried_again_within_the_hour() -> None:
    send, _ = sender(httpx.Response(503, headers={"Retry-After": "864000"}))
    with pytest.raises(RemoteUnavailable) as raised:
        await send.send(WebhookSubscriptionFactory(), await an_envelope())  # type: ignore[arg-type]
    assert raised.value.retry_after == 3600.0


async def test_a_private_target_is_refused_at_send_time_without_a_request() -> None:
    send, seen = sender(httpx.Response(200), allow_private=False)
    with pytest.raises(RemoteRejected, match="webhook target refused"):
        await send.send(WebhookSubscriptionFactory(url="http://10.0.0.7/hook"), await an_envelope())  # type: ignore[arg-type]
    assert seen == []
