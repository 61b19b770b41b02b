"""Artifacts: a network as verified ONNX (``export``), its precision transforms (``precision``), the parity
check against PyTorch and the CPU onnxruntime runner (``parity``), and seeded synthetic inputs (``synthetic``)."""
