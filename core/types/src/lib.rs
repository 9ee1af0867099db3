//! Nomad's data model (Job, TaskGroup, Task, Node, Allocation, Evaluation …) and its /v1 JSON form; canonicalization and validation. Pure: no I/O.
