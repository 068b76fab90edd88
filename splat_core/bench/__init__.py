"""Benchmarks (not tests): measured figures for the closing notes and for tracking."""
