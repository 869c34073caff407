"""The reference Git driver (spec 1.3 "Git", 2.7): ``drivers.git:GitDriver``."""

from drivers.git.driver import GitDriver

__all__ = ["GitDriver"]
