"""`make bench`: free-time computation and booking throughput, measured on a seeded spa."""
