"""The simulated back office (ERP, warehouse, payment, CRM, commerce) on one clock and seed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from adapters.simulators.chance import derive_seed
from adapters.simulators.commerce import SimulatedCommerce
from adapters.simulators.crm import SimulatedCrm
from adapters.simulators.erp import ErpBehaviour, SimulatedErp
from adapters.simulators.faults import FaultModel, FaultProfile, Sleep
from adapters.simulators.inbound import Inbound
from adapters.simulators.payment import SimulatedPayments
from adapters.simulators.warehouse import SimulatedWarehouse, WarehouseBehaviour
from ports.clock import Clock

#: The systems a fault profile can be given for.
SYSTEMS = ("erp", "payment", "crm", "commerce")


class SimulatedBackOffice:
    """The back-office systems of one simulated world, wired together: the warehouse ships
    what this ERP books. Each system calls through its own fault model (profile from `faults`
    by system name, none when absent) on its own seeded stream, so calls to one system never
    shift the outcomes of another. `due_events(now)` is everything the back office reports by
    `now`, as `(source, event)` in delivery order, ready to POST to `/v1/inbound/{source}`.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        seed: int = 0,
        sleep: Sleep | None = None,
        faults: Mapping[str, FaultProfile] | None = None,
        erp_behaviour: ErpBehaviour | None = None,
        warehouse_behaviour: WarehouseBehaviour | None = None,
        declined_references: Iterable[str] = (),
        decline_rate: float = 0.0,
        known_cases_only: bool = False,
    ) -> None:
        unknown = set(faults or {}) - set(SYSTEMS)
        if unknown:
            raise ValueError(f"no such systems: {sorted(unknown)} (known: {', '.join(SYSTEMS)})")
        profiles = faults or {}

        #: each system's fault model, for the demo's summary and for tests
        self.faults = {
            system: FaultModel(
                profiles.get(system, FaultProfile()),
                seed=derive_seed(seed, "faults", system),
                clock=clock,
                sleep=sleep,
            )
            for system in SYSTEMS
        }

        self.erp = SimulatedErp(
            clock=clock,
            seed=seed,
            faults=self.faults["erp"],
            behaviour=erp_behaviour or ErpBehaviour(),
        )
        self.warehouse = SimulatedWarehouse(
            self.erp, seed=seed, behaviour=warehouse_behaviour or WarehouseBehaviour()
        )
        self.payments = SimulatedPayments(
            seed=seed,
            faults=self.faults["payment"],
            declined_references=declined_references,
            decline_rate=decline_rate,
        )
        self.crm = SimulatedCrm(
            seed=seed, faults=self.faults["crm"], known_cases_only=known_cases_only
        )
        self.commerce = SimulatedCommerce(faults=self.faults["commerce"])

    def due_events(self, now: datetime) -> list[Inbound]:
        """Every event the ERP, the warehouse and the CRM report by `now`, in time order across
        systems (ties: ERP, then warehouse, then CRM)."""
        released: list[Inbound] = []
        while (due := self.next_due()) is not None and due <= now:
            released += self.erp.due_events(due)
            released += self.warehouse.due_events(due)
            released += self.crm.due_events(due)
        return released

    def next_due(self) -> datetime | None:
        """When the next event (or warehouse step) is due; None when the back office is idle."""
        due = [self.erp.next_due(), self.warehouse.next_due(), self.crm.next_due()]
        return min((at for at in due if at is not None), default=None)
