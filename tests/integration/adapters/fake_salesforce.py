"""A fake Salesforce org: OAuth client credentials, Case upsert by external id, CaseComments,
SOQL pages of comments, and Salesforce's error lists."""

from __future__ import annotations

import itertools
import re
from typing import Any

from tests.integration.adapters.scripted import Reply, ScriptedApp, Seen

DATA = "/services/data/v60.0"
EXTERNAL_ID_FIELD = "Orderhub_External_Id__c"
STATUSES = {"New", "Working", "Escalated", "Closed"}
_COMMENTS_OF_CASE = re.compile(
    r"SELECT Id, CommentBody FROM CaseComment WHERE ParentId = '(?P<case>[A-Za-z0-9]{15,18})'"
    r"(?: ORDER BY CreatedDate DESC)?"
)


def sf_error(code: str, message: str) -> list[dict[str, Any]]:
    return [{"message": message, "errorCode": code, "fields": []}]


class FakeSalesforce(ScriptedApp):
    """Issues tokens to one client; `expire_tokens()` makes every issued token invalid."""

    routes = [
        ("POST", r"/services/oauth2/token", "token"),
        ("GET", rf"{DATA}/sobjects/Case/{EXTERNAL_ID_FIELD}/(?P<ext>[^/]+)", "get_by_external_id"),
        ("PATCH", rf"{DATA}/sobjects/Case/{EXTERNAL_ID_FIELD}/(?P<ext>[^/]+)", "upsert_case"),
        ("PATCH", rf"{DATA}/sobjects/Case/(?P<case_id>[A-Za-z0-9]{{15,18}})", "update_case"),
        ("POST", rf"{DATA}/sobjects/CaseComment", "create_comment"),
        ("GET", rf"{DATA}/query", "query"),
        ("GET", rf"{DATA}/query/(?P<locator>[\w-]+)", "query_more"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.client_id = "orderhub-client"
        self.client_secret = "s3cret"
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        #: answer an update by upsert with 204 and no body, as API versions before 46.0 do
        self.legacy_upsert = False
        self.page_size = 2000
        self.cases: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, dict[str, Any]] = {}
        self._cursors: dict[str, tuple[list[dict[str, Any]], int]] = {}
        self._ids = itertools.count(1)

    def expire_tokens(self) -> None:
        self.valid_tokens.clear()

    def comments_on(self, case_id: str) -> list[str]:
        return [c["CommentBody"] for c in self.comments.values() if c["ParentId"] == case_id]

    def _handle(self, seen: Seen) -> Reply:
        if seen.path.startswith(DATA):
            token = seen.headers.get("authorization", "").removeprefix("Bearer ")
            if token not in self.valid_tokens:
                return Reply(401, sf_error("INVALID_SESSION_ID", "Session expired or invalid"))
        return super()._handle(seen)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):015d}"

    def token(self, seen: Seen) -> Reply:
        form = seen.body or {}
        if form.get("grant_type") != "client_credentials":
            return Reply(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
            )
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            return Reply(
                400, {"error": "invalid_client", "error_description": "invalid client credentials"}
            )
        self.tokens_issued += 1
        token = f"00D!token-{self.tokens_issued}"
        self.valid_tokens.add(token)
        return Reply(200, {
            "access_token": token, "instance_url": self.url, "token_type": "Bearer",
            "id": f"{self.url}/id/00D/005", "issued_at": "1764000000000", "signature": "sig",
        })  # fmt: skip

    def _case_by_external_id(self, ext: str) -> dict[str, Any] | None:
        return next((c for c in self.cases.values() if c[EXTERNAL_ID_FIELD] == ext), None)

    def get_by_external_id(self, seen: Seen, ext: str) -> Reply:
        case = self._case_by_external_id(ext)
        if case is None:
            return Reply(404, sf_error("NOT_FOUND", "The requested resource does not exist"))
        return Reply(200, {"attributes": {"type": "Case"}, "Id": case["Id"]})

    def upsert_case(self, seen: Seen, ext: str) -> Reply:
        body = seen.body or {}
        if EXTERNAL_ID_FIELD in body:
            return Reply(400, sf_error("INVALID_FIELD", "external id field in the body"))
        if not body.get("Subject"):
            return Reply(
                400, sf_error("REQUIRED_FIELD_MISSING", "Required fields are missing: [Subject]")
            )
        case = self._case_by_external_id(ext)
        if case is not None:
            case.update(body)
            if self.legacy_upsert:
                return Reply(204)
            return Reply(200, {"id": case["Id"], "success": True, "errors": [], "created": False})
        case_id = self._new_id("500")
        self.cases[case_id] = {"Id": case_id, EXTERNAL_ID_FIELD: ext, "Status": "New", **body}
        return Reply(201, {"id": case_id, "success": True, "errors": [], "created": True})

    def update_case(self, seen: Seen, case_id: str) -> Reply:
        case = self.cases.get(case_id)
        if case is None:
            return Reply(404, sf_error("NOT_FOUND", "The requested resource does not exist"))
        status = (seen.body or {}).get("Status")
        if status not in STATUSES:
            return Reply(400, sf_error(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f"Status: bad value for restricted picklist field: {status}",
            ))  # fmt: skip
        case["Status"] = status
        return Reply(204)

    def create_comment(self, seen: Seen) -> Reply:
        body = seen.body or {}
        if body.get("ParentId") not in self.cases:
            return Reply(
                400, sf_error("FIELD_INTEGRITY_EXCEPTION", "Parent ID: id value of incorrect type")
            )
        if len(body.get("CommentBody", "")) > 4000:
            return Reply(400, sf_error("STRING_TOO_LONG", "Body: data value too large"))
        comment_id = self._new_id("00a")
        self.comments[comment_id] = {"Id": comment_id, **body}
        return Reply(201, {"id": comment_id, "success": True, "errors": []})

    def query(self, seen: Seen) -> Reply:
        match = _COMMENTS_OF_CASE.fullmatch(seen.query.get("q", ""))
        if match is None:
            return Reply(400, sf_error("MALFORMED_QUERY", "unexpected query"))
        records = [
            {"attributes": {"type": "CaseComment"}, "Id": c["Id"], "CommentBody": c["CommentBody"]}
            for c in reversed(self.comments.values())
            if c["ParentId"] == match["case"]
        ]
        return self._page(records, 0)

    def query_more(self, seen: Seen, locator: str) -> Reply:
        if locator not in self._cursors:
            return Reply(400, sf_error("INVALID_QUERY_LOCATOR", "invalid query locator"))
        return self._page(*self._cursors.pop(locator))

    def _page(self, records: list[dict[str, Any]], start: int) -> Reply:
        end = start + self.page_size
        page: dict[str, Any] = {"totalSize": len(records), "done": end >= len(records)}
        page["records"] = records[start:end]
        if not page["done"]:
            locator = f"01g{next(self._ids):015d}-{end}"
            self._cursors[locator] = (records, end)
            page["nextRecordsUrl"] = f"{DATA}/query/{locator}"
        return Reply(200, page)
