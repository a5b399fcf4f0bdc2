"""A simulated CRM: cases found by our external id, comments once each, agents at work."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adapters.simulators.agenda import Agenda
from adapters.simulators.faults import FaultModel
from adapters.simulators.inbound import CRM, Inbound, inbound_event, stable_id
from ports.remote import RemoteRejected


@dataclass(frozen=True, slots=True)
class CaseComment:
    external_id: str | None
    body: str


@dataclass(slots=True, kw_only=True)
class Case:
    case_id: str
    subject: str
    description: str
    #: our id for a case the hub opened; None for one an agent opened in the CRM
    external_id: str | None
    status: str = "new"
    status_history: list[str] = field(default_factory=lambda: ["new"])
    comments: list[CaseComment] = field(default_factory=list)


@dataclass(slots=True)
class CrmStats:
    cases_opened: int = 0
    comments_added: int = 0
    status_changes: int = 0
    #: repeated calls that changed nothing (same external id, same status)
    duplicates_suppressed: int = 0


class SimulatedCrm:
    """A CRM whose `open_case` finds the case already opened under the same `external_id`,
    whose comments are added once per `external_id`, and where setting a case's current status
    again changes nothing. Case ids it has never seen (cases opened elsewhere, named by
    channels or agents) are taken as existing cases unless `known_cases_only`, when they are
    refused (`RemoteRejected`). Agents' own changes (`agent_updates_case`) reach the hub as
    `case.updated` events from `due_events(now)`.
    """

    def __init__(
        self, *, seed: int = 0, faults: FaultModel | None = None, known_cases_only: bool = False
    ) -> None:
        self._seed = seed
        self._faults = faults or FaultModel()
        self._known_cases_only = known_cases_only
        self._cases: dict[str, Case] = {}
        self._by_external_id: dict[str, str] = {}
        self._comment_ids: set[str] = set()
        self._agent_updates: dict[str, int] = {}
        self._agenda = Agenda()
        self.stats = CrmStats()

    # -- CrmPort ---------------------------------------------------------------------------------

    async def open_case(self, subject: str, description: str, external_id: str) -> str:
        """Open a case, or find the one opened before under `external_id`."""
        await self._faults.arrive("CRM open_case")
        case_id = self._by_external_id.get(external_id)
        if case_id is None:
            case_id = self._open(subject, description, external_id)
            self._by_external_id[external_id] = case_id
        else:
            self.stats.duplicates_suppressed += 1
        self._faults.respond("CRM open_case")
        return case_id

    async def add_case_comment(self, case_id: str, body: str, external_id: str) -> None:
        """Add the comment unless one with this `external_id` is already there."""
        await self._faults.arrive("CRM add_case_comment")
        case = self._case_for_call(case_id)
        if external_id in self._comment_ids:
            self.stats.duplicates_suppressed += 1
        else:
            self._comment_ids.add(external_id)
            case.comments.append(CaseComment(external_id, body))
            self.stats.comments_added += 1
        self._faults.respond("CRM add_case_comment")

    async def update_case_status(self, case_id: str, status: str) -> None:
        """Move the case to `status`; the status it already has changes nothing."""
        await self._faults.arrive("CRM update_case_status")
        self._set_status(self._case_for_call(case_id), status)
        self._faults.respond("CRM update_case_status")

    # -- agents working in the CRM ---------------------------------------------------------------

    def agent_opens_case(self, subject: str, description: str = "") -> str:
        """An agent opens a case directly in the CRM (no external id); returns its id."""
        return self._open(subject, description, None)

    def agent_updates_case(
        self,
        case_id: str,
        status: str,
        note: str,
        *,
        at: datetime,
        order_id: str | None = None,
        return_id: str | None = None,
    ) -> None:
        """An agent changes the case; the CRM reports it as `case.updated`, due at `at`."""
        case = self._cases.get(case_id) or self._adopt(case_id)
        self._set_status(case, status)
        case.comments.append(CaseComment(None, note))
        n = self._agent_updates[case_id] = self._agent_updates.get(case_id, 0) + 1
        data: dict[str, Any] = {"case_id": case_id, "status": status, "note": note}
        if order_id is not None:
            data["order_id"] = order_id
        if return_id is not None:
            data["return_id"] = return_id
        event = inbound_event(
            event_id=stable_id(self._seed, CRM, "case.updated", case_id, n),
            type="case.updated",
            occurred_at=at,
            data=data,
        )
        self._agenda.post(at, CRM, event)

    def due_events(self, now: datetime) -> list[Inbound]:
        """The CRM's `case.updated` events due by `now`, in time order."""
        return self._agenda.release(now)

    def next_due(self) -> datetime | None:
        return self._agenda.next_due()

    # -- what the CRM holds ----------------------------------------------------------------------

    def case(self, case_id: str) -> Case | None:
        return self._cases.get(case_id)

    def case_by_external_id(self, external_id: str) -> Case | None:
        case_id = self._by_external_id.get(external_id)
        return None if case_id is None else self._cases[case_id]

    def cases(self) -> list[Case]:
        return list(self._cases.values())

    # -- rules -----------------------------------------------------------------------------------

    def _open(self, subject: str, description: str, external_id: str | None) -> str:
        case_id = f"500{len(self._cases) + 1:012d}"
        self._cases[case_id] = Case(
            case_id=case_id, subject=subject, description=description, external_id=external_id
        )
        self.stats.cases_opened += 1
        return case_id

    def _case_for_call(self, case_id: str) -> Case:
        case = self._cases.get(case_id)
        if case is not None:
            return case
        if self._known_cases_only:
            raise RemoteRejected(f"CRM: no case {case_id}")
        return self._adopt(case_id)

    def _adopt(self, case_id: str) -> Case:
        """A case opened outside what this simulator saw: take it as an existing, open case."""
        case = Case(case_id=case_id, subject="(opened elsewhere)", description="", external_id=None)
        self._cases[case_id] = case
        return case

    def _set_status(self, case: Case, status: str) -> None:
        if case.status == status:
            self.stats.duplicates_suppressed += 1
            return
        case.status = status
        case.status_history.append(status)
        self.stats.status_changes += 1
