"""An emulated Kubernetes API server for tests and the local demo (dev-only).

- :mod:`.validation` validates custom resources against their CRD's structural schema the way
  kube-apiserver does (pruning, defaults, OpenAPI checks, CEL rules, 422 Status bodies).
- :mod:`.server` is the aiohttp application; :mod:`.main` its console script
  (``wattcast-emulator``); :mod:`.fixtures` the pytest fixtures.
"""
