"""`make bench-scale`: a spa chain's five years of history, and every page and periodic
command measured against it (docs/PERFORMANCE.md, "Scale benchmark")."""
