"""Benchmarks: commands that measure cost (gas, time, memory) and print JSON."""
