"""The controller half: which artifact repository a workflow uses (spec 3), and the
Kubernetes sources (API server, manifests) it is read from."""
