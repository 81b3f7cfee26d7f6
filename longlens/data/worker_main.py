"""`python -m longlens.data.worker_main`: the entry point of an isolated decoder process (see worker.py)."""
from longlens.data.worker import serve_stdio

if __name__ == "__main__":
    serve_stdio()
