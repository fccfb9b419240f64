.PHONY: run test setup bench workshop cluster

run:    ## set up, ingest corpus/, start API + UI
	scripts/start.sh

workshop:  ## like run, but on the LAN for a workshop; prints the join URL (set KVA_API_KEY)
	scripts/workshop.sh

cluster:  ## PostgreSQL + two API replicas + nginx on loopback; prints balancer: URL (Ctrl-C stops)
	scripts/setup.sh
	.venv/bin/python scripts/cluster.py

test:   ## set up (incl. test extras) and run ruff + the whole test suite
	scripts/test.sh

setup:
	scripts/setup.sh

bench:  ## print the benchmark figures
	.venv/bin/python benchmarks/ingest_throughput.py
	.venv/bin/python benchmarks/ask_latency.py
