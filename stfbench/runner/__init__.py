"""Benchmark runner: generate + score a protocol into a resumable, shardable run directory."""
