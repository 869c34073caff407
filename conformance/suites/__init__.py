"""The conformance suites: one module per operation family, run against every backend.

Each case states its contract in a one-line docstring (with the spec section), verifies exactly
one capability and is parametrized over the run's backends by the artconf session.
"""
