"""Building blocks of the benchmark: data set, processes, /proc sampling, clients, report."""
