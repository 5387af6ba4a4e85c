"""Load tests (locust) and the benchmark that reports events/s and latency against a bare endpoint."""
