"""Layer 4: the engine: the validated scenario and the model that runs the rules' phases on a world.

``scenario`` (:class:`~cxsim.engine.scenario.Scenario`, the validated description of a world), ``model``
(:class:`~cxsim.engine.model.CxModel`, its plan of phases, :func:`~cxsim.engine.model.run`), ``customer`` (a
customer as a ``mesa.Agent``). Front ends (the modules and packages directly in ``cxsim``) build on it.
"""
