"""What is recorded around a measurement besides latency: host load, memory, and (on NVIDIA GPUs) NVML."""
