"""Export output to files: atomic writes, names, and running an export into a file or stream.

- ``atomic``: a file that appears complete at its path, or not at all.
- ``naming``: download and file names.
- ``writing``: one export into a file or a stream, compressed or not.
"""

__all__ = ["atomic", "naming", "writing"]
