"""A ``mesa.Agent`` viewing one customer of a run: to inspect a customer or tell their story, not to step them.

The customers' state is arrays (:class:`cxsim.state.agents.Customers`); the model steps
them all at once (:data:`cxsim.engine.model.PHASES`). This view sits with the
model in the engine, the only layer that imports mesa at the top.
"""

from __future__ import annotations

import mesa

from ..readouts.story import customer_story
from ..rules.barriers import CASH_COSTS, REASONS
from ..state.stages import STAGES


class CustomerAgent(mesa.Agent):
    """A Mesa agent viewing customer ``index`` of a :class:`~cxsim.engine.model.CxModel`."""

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = int(index)

    @property
    def state(self) -> dict:
        return self.model.customers.row(self.index)

    @property
    def stage(self) -> str:
        return STAGES[self.model.customers.stage[self.index]]

    @property
    def segment(self) -> str:
        return self.model.pars.segment_names[self.model.customers.segment[self.index]]

    @property
    def reason(self) -> str | None:
        code = self.model.customers.reason[self.index]
        return REASONS[code] if code >= 0 else None

    def ledger(self) -> dict[str, float]:
        """What using the service would cost this customer, by kind, before any intervention."""
        return {k: float(v) for k, v in zip(CASH_COSTS, self.model.customers.full_ledger(self.index))}

    def events(self):
        """This customer's touchpoints and transitions (tracked customers only)."""
        ev = self.model.events_frame()
        return ev[ev["customer"] == self.index].reset_index(drop=True)

    def story(self) -> str:
        return customer_story(self.model, self.index)

    def step(self) -> None:  # the model steps all customers at once (model.PHASES)
        return None


def register_all(model) -> list["CustomerAgent"]:
    """Make every customer of ``model`` a Mesa agent, so ``model.agents`` holds them all and a user's own
    ``mesa.DataCollector`` with agent reporters collects every customer (the model makes an agent only for a
    customer asked for, :meth:`cxsim.engine.model.CxModel.customer`, as one Python object per customer is what the
    array engine avoids: about 1 KB and a few microseconds each). Agents already made are kept; returns them all::

        register_all(model)
        dc = mesa.DataCollector(agent_reporters={"stage": "stage", "loyalty": lambda a: a.state["loyalty"]})
        dc.collect(model)   # after any step: one row per customer
    """
    return [model.customer(i) for i in range(model.customers.n)]
