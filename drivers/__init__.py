"""Reference implementation of Argo Workflows' artifact semantics."""

from drivers.factory import new_driver

__all__ = ["new_driver"]
