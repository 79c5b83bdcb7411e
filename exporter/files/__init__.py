"""Export output to files: atomic writes, names, and running an export into a file or stream."""
