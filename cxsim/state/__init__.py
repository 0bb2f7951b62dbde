"""Layer 1, the bottom: a run's state and what it is made of. No rules live here.

The :class:`~cxsim.state.world.World` dataclass and its parts: the customers' arrays (``agents``), the
network, the cost ledger, the agenda, the stages, the declared tallies, counter-based random streams,
parameter declarations and the one input error (``params``), and the lazy numba kernels (``kernels``,
``prefetch``). Modules here import only each other (``tests/test_layers.py``).
"""
