"""Evaluation: metrics for retrieved evidence and generated answers, and the runs that use them."""
