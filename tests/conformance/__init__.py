"""Conformance checks that pin benchbed's GPU test doubles (tests/gpu_doubles) to the real libraries.

The real TensorRT bindings, cuda-bindings, nvidia-ml-py and onnxruntime-gpu install here without a GPU; they
are installed once into a git-ignored cache (:mod:`conformance.packages`) and only ever imported in
subprocesses (:mod:`conformance.probe`), so they never meet the doubles that tests put in ``sys.modules``.
"""
