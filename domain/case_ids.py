"""CRM case ids: what the CRM accepts as the id of a case, checked when a case is linked."""

from __future__ import annotations

import re
from typing import Final

from domain.errors import FieldIssue

#: A Salesforce record id (the CRM's cases, `adapters/http/salesforce.py`): 15 case-sensitive
#: letters and digits, or the 18-character form. The simulated CRM hands out ids of this shape.
CASE_ID: Final = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")


def case_id_issues(field: str, case_id: str) -> list[FieldIssue]:
    """A case id the CRM would refuse, refused when it is linked rather than by every later push
    to the CRM (each of which would fail and dead-letter)."""
    if CASE_ID.fullmatch(case_id):
        return []
    return [FieldIssue(field, "must be a CRM case id: 15 or 18 letters and digits")]
