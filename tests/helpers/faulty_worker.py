"""A worker that fails the way real ones do (killed like an OOM, a segfault, a hang), for the launcher's tests.

Usage: ``python faulty_worker.py FAULT JOB.json RESULT.json`` — the launcher passes the last two.
"""

import os
import signal
import sys
import time

fault = sys.argv[1]
if fault == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
elif fault == "segv":
    os.kill(os.getpid(), signal.SIGSEGV)
elif fault == "hang":
    time.sleep(3600)
