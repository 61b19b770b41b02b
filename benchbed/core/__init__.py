"""Values every stage shares: Cell, Job, Result/Failure and their schema, the environment fingerprint,
crash-safe files, errors, and the switches that keep libraries offline. Depends on nothing else in benchbed."""
