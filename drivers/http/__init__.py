"""The reference HTTP and Artifactory drivers (spec 1.3 "HTTP/Artifactory", 2.5, 2.6):
``drivers.http:HTTPDriver`` and ``drivers.http:ArtifactoryDriver``."""

from drivers.http.driver import ArtifactoryDriver, HTTPDriver

__all__ = ["ArtifactoryDriver", "HTTPDriver"]
