"""Argo's artifact plugin protocol (spec 1.4): the wire (`artifact.proto` and its generated
stubs), the configuration string the kit's plugins read, the pod environment that reaches a
plugin process, a server for any driver (`server`) and Argo's client as a driver (`client`)."""
