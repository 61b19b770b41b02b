"""Launchers: where a Job runs. ``worker`` measures one Job in a process; ``process`` runs a worker with a
timeout; ``local`` and ``ray`` are the executors a sweep hands its jobs to (``base``: their protocol)."""
