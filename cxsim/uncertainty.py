"""The two kinds of uncertainty a number can carry, and the words that say which (light: no pandas, no engine).

* :data:`POSTERIOR`: parameters and chance — runs over a scenario's posterior draws × seeds (:mod:`cxsim.ensemble`);
* :data:`SEEDS`: chance only — the scenario's own parameters on several seeds.

:func:`uncertainty_caption` is the sentence every output closes with; :func:`resolve_posterior` finds the
posterior to use (the scenario's own file, one given, or none) and says where it comes from.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .posterior import BUILT_IN, Posterior, load, path_for
from .readouts.metrics import MIN_REPLICATES
from .state.params import CxError

if TYPE_CHECKING:
    from .engine.scenario import Scenario

POSTERIOR, SEEDS = "posterior", "seeds"
KINDS = (POSTERIOR, SEEDS)
DEFAULT_DRAWS = 20
FIND = "find"
"""``posterior=FIND`` (the default): the scenario's own posterior file, if it has one."""


KIND_WORDS = {POSTERIOR: "parameters + seeds", SEEDS: "seeds only"}


def uncertainty_caption(kind: str, draws: int, seeds: int, source: str) -> str:
    """A sentence saying which uncertainty an interval carries and where it comes from."""
    if kind == POSTERIOR:
        return (f"95% intervals over {draws} posterior draws × {seeds} seed{'' if seeds == 1 else 's'}: uncertainty of the parameters and of chance "
                f"(posterior: {source})")
    if seeds < MIN_REPLICATES:
        return (f"{seeds} run(s): too few for an interval (at least {MIN_REPLICATES} seeds); chance only, "
                f"parameters fixed ({source})")
    return f"95% intervals over {seeds} seeds: chance only, parameters fixed at the scenario's values ({source})"


def resolve_posterior(scenario: str | Path | Scenario, posterior: Any = FIND) -> tuple[Posterior | None, str]:
    """The posterior to use and where it comes from, in words.

    ``posterior``: :data:`FIND` (the scenario's own file, if any), None (none), a :class:`Posterior`, or a path.
    """
    from .engine.scenario import Scenario

    if isinstance(posterior, Posterior):
        return posterior, _describe(posterior, "given")
    if posterior is None:
        return None, "no posterior used"
    if isinstance(posterior, (str, Path)) and posterior != FIND:
        from .posterior import read

        return (post := read(posterior)), _describe(post, str(posterior))
    name = scenario.name if isinstance(scenario, Scenario) else scenario
    post = load(name)
    if post is None:
        return None, f"{Path(str(name)).stem} has no posterior: parameter uncertainty is not included"
    where = path_for(name)
    shown = f"cxsim/scenarios/{where.name}" if where.parent == BUILT_IN else str(where)  # the package's file, wherever installed
    return post, _describe(post, shown)


def _describe(post: Posterior, where: str) -> str:
    method = post.meta.get("method")
    return f"{where}, {len(post)} parameter sets" + (f", {method}" if method else "") + f", effective size {post.effective_size:.0f}"


def choose_kind(uncertainty: str | None, post: Posterior | None, source: str) -> str:
    """The kind to show: ``uncertainty`` if given (``posterior`` needs one), else posterior where there is one."""
    if uncertainty is not None and uncertainty not in KINDS:
        raise CxError(f"uncertainty = {uncertainty!r}: must be one of {', '.join(KINDS)}")
    if uncertainty == POSTERIOR and post is None:
        raise CxError(f"uncertainty = posterior: {source}; use uncertainty = seeds or give a posterior file")
    return uncertainty or (POSTERIOR if post is not None else SEEDS)
