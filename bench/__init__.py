"""Performance scenarios: `make bench` runs every module here and prints its figures, except
loadgen (the load generator that fanout drives); peers/ holds the servers fanout measures
livethread against."""
