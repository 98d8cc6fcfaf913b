"""apiextensions.k8s.io/v1 CustomResourceDefinitions: kinds declared at run time.

A CRD is the same declaration as a built-in kind's (apimachinery.resources), made from the CRD object: its names,
scope, versions, subresources and printer columns become a `CustomResourceInfo` per served version (`info`), its
schema is validated, defaulted and pruned against (`structural`), its objects are stored once at the storage
version and converted (`None` conversion: only apiVersion changes) for the others (`versions`), and a controller
in the apiserver accepts the names, establishes the CRD and deletes its objects when it goes (`controller`).
"""
