"""MLPerf LoadGen scenarios: the real ``mlperf_loadgen`` drives any benchbed Runner.

``adapters`` wraps a Runner as a LoadGen SUT (with a dynamic batcher) and a synthetic QSL;
``run`` builds TestSettings per scenario and reads LoadGen's own verdict from its detail log;
``server_search`` finds the highest Server QPS that LoadGen reports VALID under a latency SLA.
"""
