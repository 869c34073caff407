"""The reference core: Argo's artifact semantics without any storage client.

The model (Argo's YAML as typed objects), errors with Argo's codes, retries, secrets, keys and
their templating, archives, the executor's staging, the capability vocabulary, the deviation
registry and the pod-side context. Drivers (`drivers.s3`, ...) and the controller half
(`drivers.controller`) build on it; it imports neither.
"""
