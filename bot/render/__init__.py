"""Charts drawn in a worker process: the bot's side (renderer.py), the process (worker.py) and
what it runs (calls.py)."""
