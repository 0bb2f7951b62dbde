"""Checks of the engine: ``reference``, the same rules in plain Mesa (one agent per customer, Python floats).

The engine must agree with it customer by customer (``tests/test_reference.py``); it is also the baseline of
the speed benchmarks. Nothing in the engine imports it.
"""
