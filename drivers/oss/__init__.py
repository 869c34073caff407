"""The reference OSS driver (spec 1.3 "OSS", 2.4, 6.4, 6.5, 6.6, 7.3): ``drivers.oss:OSSDriver``."""

from drivers.oss.driver import OSSDriver

__all__ = ["OSSDriver"]
