"""guestkernel benchmark suite (bench/run.py is the entry point)."""
