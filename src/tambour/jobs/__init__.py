"""Background jobs run by runners (`tambour jobs run`, and beside `tambour worker`): the job
kinds (kinds/), what a running job is given (control.py), the runner and its lease (runner.py),
the inline mode for the command line (inline.py) and the runner a worker keeps as its child
(companion.py). The queue itself, as rows, is services/jobs.py."""
