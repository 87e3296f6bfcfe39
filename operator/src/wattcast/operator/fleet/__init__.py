"""FleetTrainingJobs: one Indexed Job trains the models of many meters (docs/operator.md).

- `rendering`: the fleet's ConfigMap and its Indexed Job, as JSON-ready dicts (no I/O);
- `aggregate`: the status, from the Job and the shards' reports (no I/O);
- `reconcile`: one pass over a FleetTrainingJob (create or adopt, suspend, status, Events);
- `handlers`: the Kopf handlers that run it (imported by wattcast.operator.handlers).
"""
