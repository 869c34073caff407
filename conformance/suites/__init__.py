"""The conformance suites: one module per operation family, run against every backend.

Each case states its contract first in its docstring, ending with the spec sections it cites
("... (spec 1.3, 7.3)."), verifies exactly one capability, and is parametrized over the run's
backends by the artconf session; `@verifies` refuses a case without a contract when the module
is imported. A suite never names a driver or a server: the kind adapter (`store.kind`,
`store.objects`) supplies every kind-specific part, and `conformance.checks` the assertions
(tests/test_suite_conventions.py checks both).
"""
