"""Layer 2: the rules, what happens to the state in each phase of a step.

Each rule takes the :class:`~cxsim.state.world.World` it acts on and changes it; none imports the model or the
scenario. ``journey`` (awareness to loyalty), ``relationship``, ``feedback``, ``staff``, ``relief`` (what the
active interventions change, and phase 1), ``coverage``, ``barriers`` (the decision), ``emotions`` (touchpoints
felt), ``interventions`` (each intervention kind and its declared effects). Modules here import each other and
``cxsim.state.tallies`` (``tests/test_layers.py``).
"""
