"""The CRM port on Salesforce Service Cloud: cases and case comments over the REST API."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from adapters.http.client import RemoteClient
from adapters.http.errors import describe, detail, http_error, json_body
from adapters.http.resilience import CircuitBreaker, RemoteThrottled, RetryPolicy, parse_retry_after
from ports.remote import RemoteError, RemoteRejected, RemoteUnavailable

SYSTEM = "Salesforce"
API_VERSION = "v60.0"
#: the custom field on Case holding our id: type Text, External ID, Unique
EXTERNAL_ID_FIELD = "Orderhub_External_Id__c"
#: error codes that mean "not now" whatever the HTTP status (REQUEST_LIMIT_EXCEEDED comes as 403)
TRANSIENT_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})
#: CaseComment.CommentBody holds at most 4,000 characters
COMMENT_LIMIT = 4000
#: pages of comments read when looking for an earlier copy (2,000 records a page)
MAX_COMMENT_PAGES = 20
_RECORD_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


def comment_marker(external_id: str) -> str:
    """The tag that identifies our comment in its body: CaseComment has no external-id field."""
    return f"[orderhub:{external_id}]"


@dataclass(frozen=True, slots=True)
class _Session:
    access_token: str
    instance_url: str


class SalesforceCrm:
    """Opens cases, comments on them and moves their status in Salesforce, each once.

    It signs in with the OAuth 2.0 client-credentials flow, keeps the token until Salesforce
    refuses it (401), then signs in again once and repeats the request. A case is found or created
    by upsert on `external_id_field`, so a retried `open_case` returns the same case. A comment
    carries `[orderhub:<external_id>]` at the end of its body, and the case's comments are searched
    for that tag before one is posted, so a retried `add_case_comment` adds nothing. Transient
    failures (timeouts, 429, 5xx, REQUEST_LIMIT_EXCEEDED, UNABLE_TO_LOCK_ROW, an open circuit)
    raise `RemoteUnavailable`; every other refusal raises `RemoteRejected`.
    See docs/crm-salesforce.md.
    """

    def __init__(
        self,
        *,
        login_url: str,
        client_id: str,
        client_secret: str,
        api_version: str = API_VERSION,
        external_id_field: str = EXTERNAL_ID_FIELD,
        case_defaults: Mapping[str, str] | None = None,
        status_map: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout = 10.0,
        deadline: float | None = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._login_url = login_url.rstrip("/")
        self._credentials = {"client_id": client_id, "client_secret": client_secret}
        self._data = f"/services/data/{api_version}"
        self._external_id_field = external_id_field
        self._case_defaults = dict(case_defaults or {})
        self._status_map = dict(status_map or {})
        self._session: _Session | None = None
        self._signing_in = asyncio.Lock()
        self._http = RemoteClient(
            SYSTEM,
            timeout=timeout,
            deadline=deadline,
            retry=retry,
            breaker=breaker,
            classify=salesforce_error,
            transport=transport,
        )

    @property
    def breaker(self) -> CircuitBreaker:
        return self._http.breaker

    async def open_case(self, subject: str, description: str, external_id: str) -> str:
        by_external_id = (
            f"{self._data}/sobjects/Case/{self._external_id_field}/{quote(external_id, safe='')}"
        )

        async def attempt() -> str:
            found = await self._api(
                "GET", by_external_id, params={"fields": "Id"}, expect=(200, 404)
            )
            if found.status_code == 200:
                return _field(json_body(found, SYSTEM), "Id")
            # Upsert, not create: a racing worker that created it first makes this an update.
            body = {**self._case_defaults, "Subject": subject, "Description": description}
            saved = await self._api("PATCH", by_external_id, json=body, expect=(200, 201, 204))
            if saved.status_code != 204:
                return _field(json_body(saved, SYSTEM), "id")
            # API versions before 46.0 answer an update by upsert with 204 and no id.
            found = await self._api("GET", by_external_id, params={"fields": "Id"}, expect=(200,))
            return _field(json_body(found, SYSTEM), "Id")

        return await self._http.run(attempt)

    async def add_case_comment(self, case_id: str, body: str, external_id: str) -> None:
        _ensure_record_id(case_id)
        marker = comment_marker(external_id)
        room = COMMENT_LIMIT - len(marker) - 2
        comment = {
            "ParentId": case_id,
            "CommentBody": f"{body[:room]}\n\n{marker}",
            "IsPublished": False,
        }

        async def attempt() -> None:
            if not await self._has_comment(case_id, marker):
                await self._api(
                    "POST", f"{self._data}/sobjects/CaseComment", json=comment, expect=(201,)
                )

        await self._http.run(attempt)

    async def update_case_status(self, case_id: str, status: str) -> None:
        _ensure_record_id(case_id)
        body = {"Status": self._status_map.get(status, status)}

        async def attempt() -> None:
            await self._api(
                "PATCH", f"{self._data}/sobjects/Case/{case_id}", json=body, expect=(204,)
            )

        await self._http.run(attempt)

    async def _has_comment(self, case_id: str, marker: str) -> bool:
        # CommentBody is a 4,000-character text area; rather than rely on it being filterable
        # with LIKE, read the case's comments (newest first, where a retry's twin will be).
        soql = (
            f"SELECT Id, CommentBody FROM CaseComment WHERE ParentId = '{case_id}' "
            "ORDER BY CreatedDate DESC"
        )
        page = await self._query_page(f"{self._data}/query", params={"q": soql})
        for _ in range(MAX_COMMENT_PAGES):
            bodies = (record.get("CommentBody") or "" for record in page.get("records") or [])
            if any(marker in body for body in bodies):
                return True
            next_page = page.get("nextRecordsUrl")
            if page.get("done", True) or not isinstance(next_page, str):
                return False
            page = await self._query_page(next_page)
        raise RemoteRejected(
            f"case {case_id} has more than {MAX_COMMENT_PAGES} pages of comments; "
            "cannot tell whether this comment was already posted"
        )

    async def _query_page(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        if not path.startswith("/services/data/"):
            # Never send the token anywhere but the instance's data API.
            raise RemoteRejected(f"Salesforce query page outside the data API: {path!r}")
        page = json_body(await self._api("GET", path, params=params), SYSTEM)
        if not isinstance(page, dict):
            raise RemoteUnavailable(f"Salesforce query answer is not an object: {page!r}")
        return page

    async def _api(
        self, method: str, path: str, *, expect: Collection[int] = (200,), **kwargs: Any
    ) -> httpx.Response:
        """One data-API request; a refused token is replaced once and the request repeated."""
        session = await self._signed_in()
        response = await self._http.send(
            method,
            session.instance_url + path,
            headers=_bearer(session),
            expect=(*expect, 401),
            **kwargs,
        )
        if response.status_code != 401:
            return response
        session = await self._sign_in_again(stale=session)
        return await self._http.send(
            method, session.instance_url + path, headers=_bearer(session), expect=expect, **kwargs
        )

    async def _signed_in(self) -> _Session:
        session = self._session
        if session is not None:
            return session
        async with self._signing_in:
            session = self._session or await self._token()
            self._session = session
            return session

    async def _sign_in_again(self, *, stale: _Session) -> _Session:
        async with self._signing_in:
            # Concurrent requests refused with the same token sign in once between them.
            session = self._session
            if session is None or session is stale:
                session = await self._token()
                self._session = session
            return session

    async def _token(self) -> _Session:
        response = await self._http.send(
            "POST",
            f"{self._login_url}/services/oauth2/token",
            data={"grant_type": "client_credentials", **self._credentials},
            expect=(200,),
        )
        body = json_body(response, SYSTEM)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise RemoteUnavailable(
                f"Salesforce token answer without access_token: {detail(response)}"
            )
        instance_url = body.get("instance_url") or self._login_url
        return _Session(access_token=token, instance_url=str(instance_url).rstrip("/"))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> SalesforceCrm:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def salesforce_error(response: httpx.Response, system: str) -> RemoteError:
    """Salesforce's error list (`[{"message", "errorCode"}]`) decides before the status does:
    a request limit or a locked row passes, whatever status carried it."""
    codes = error_codes(response)
    if not codes & TRANSIENT_CODES:
        return http_error(response, system)
    message = (
        f"{system} answered {response.status_code} {sorted(codes)} to {describe(response.request)}"
    )
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if retry_after is not None:
        return RemoteThrottled(message, retry_after=retry_after)
    return RemoteUnavailable(message)


def error_codes(response: httpx.Response) -> frozenset[str]:
    """The `errorCode`s of a REST error list, or the `error` of an OAuth error answer."""
    try:
        body = response.json()
    except ValueError:
        return frozenset()
    if isinstance(body, dict):
        body = [{"errorCode": body.get("error")}]
    if not isinstance(body, list):
        return frozenset()
    return frozenset(
        str(item["errorCode"]) for item in body if isinstance(item, dict) and item.get("errorCode")
    )


def _ensure_record_id(value: str) -> None:
    # The id goes into a URL path and a SOQL literal: only a well-formed record id may.
    if not _RECORD_ID.fullmatch(value):
        raise RemoteRejected(f"{value!r} is not a Salesforce record id")


def _bearer(session: _Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {session.access_token}"}


def _field(body: Any, name: str) -> str:
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, str) or not value:
        raise RemoteUnavailable(f"Salesforce answer without {name}: {body}")
    return value
