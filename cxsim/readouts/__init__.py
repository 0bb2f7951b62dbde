"""Layer 3: what the model computes from a world, and how a number is written.

``metrics`` (the recorded tables and every summary measure), ``measures`` (the named measures and their
ranges), ``story`` (one customer's journey in words), ``formatting`` (one format per unit). They read a
world and the rules' constants; they never run a step (``tests/test_layers.py``).
"""
