"""Site suggestions: demand, candidates, the coverage problem and its solvers (lazy greedy, ILP)."""
