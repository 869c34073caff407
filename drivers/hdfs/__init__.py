"""The reference HDFS driver (spec 1.3 "HDFS", 2.8): ``drivers.hdfs:HDFSDriver``."""

from drivers.hdfs.driver import HDFSDriver

__all__ = ["HDFSDriver"]
